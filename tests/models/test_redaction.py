"""Personal data found and masked for publication: ID check digits, Luhn-checked cards, phones, names in context."""

from __future__ import annotations

from models.redaction import find_personal_data, id_checksum_ok, luhn_ok, redact

TEXT = ("居民张建国反映，其家住翠屏路18号3栋2单元501室，联系电话138-1234-5678，座机（0571）88123456，"
        "身份证号11010519491231002X，邮箱zhang@163.com，银行卡号6222020200001234562。")


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_personal_data(text)]


def test_each_kind_is_found_with_its_span():
    found = kinds(TEXT)
    assert ("name", "张建国") in found
    assert ("address", "翠屏路18号3栋2单元501室") in found
    assert ("phone", "138-1234-5678") in found and ("phone", "（0571）88123456") in found
    assert ("id", "11010519491231002X") in found
    assert ("email", "zhang@163.com") in found
    assert ("bank", "6222020200001234562") in found


def test_the_masked_text_keeps_no_digit_of_the_data():
    masked = redact(TEXT)
    for secret in ("1234", "88123456", "11010519491231002X", "zhang@", "6222020200001234562", "18号", "张建国"):
        assert secret not in masked
    assert "张某某" in masked and "翠屏路**" in masked


def test_an_id_with_a_wrong_check_digit_is_not_an_id():
    assert id_checksum_ok("11010519491231002X")
    assert not id_checksum_ok("110105194912310021")
    assert ("id", "110105194912310021") not in kinds("号码110105194912310021")


def test_figures_dates_and_document_numbers_are_left_alone():
    reply = ("我局完成农村公路安全生命防护工程619公里，设立县乡村三级路长2077名，计划于2026年12月31日前完成，"
             "投入资金12345678元，详见江政办发〔2025〕12号文件，全市共有1582户。")
    assert find_personal_data(reply) == []
    assert luhn_ok("6222020200001234562") and not luhn_ok("6222020200001234567")


def test_a_deputys_name_in_the_salutation_is_public():
    assert kinds("徐洋代表：\n您提出的建议收悉。") == []
