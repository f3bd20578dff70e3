import json

import pytest

from models.casefile import CaseFileError, detect_columns, read_cases

HEADER_ZH = "编号,类型,标题,内容,提案人,主办单位,协办单位,交办日期,答复内容,答复类别,满意度\n"


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_detects_chinese_and_english_headers():
    zh = detect_columns(["编号", "标题", "内容", "主办单位", "协办单位", "答复内容"])
    assert zh == {"case_no": "编号", "title": "标题", "body": "内容", "lead": "主办单位",
                  "co_handlers": "协办单位", "reply": "答复内容"}
    en = detect_columns(["title", "body", "lead_department", "reply"])
    assert en["lead"] == "lead_department" and en["body"] == "body"


def test_override_wins_and_bad_override_is_explained():
    cols = detect_columns(["留言主题", "一级标签"], {"lead": "一级标签"})
    assert cols == {"title": "留言主题", "lead": "一级标签"}
    with pytest.raises(CaseFileError, match="没有列“主办”"):
        detect_columns(["标题"], {"lead": "主办"})
    with pytest.raises(CaseFileError, match="找不到标题或内容列"):
        detect_columns(["甲", "乙"])


def test_gbk_csv_is_read(tmp_path):
    text = HEADER_ZH + "JY2024-0001,建议,关于治理白沙河的建议,白沙河沿岸排污严重。,王伟,生态环境局,水利局、农业农村局,2024-02-01,收悉,B,满意\n"
    res = read_cases(write(tmp_path / "gbk.csv", text, "gbk"))
    assert res.encoding == "gb18030"
    assert not res.errors
    rec = res.records[0]
    assert rec.title == "关于治理白沙河的建议"
    assert rec.co_handlers == ["水利局", "农业农村局"]
    assert rec.year == 2024 and rec.category == "B" and rec.feedback == "满意"


def test_bad_rows_reported_by_row_number_good_rows_kept(tmp_path):
    text = (
        HEADER_ZH
        + "JY2024-0001,建议,标题一,正文一,甲,住建局,,2024-02-01,,A,满意\n"
        + "JY2024-0002,建议,标题二,,乙,住建局,,2024-02-01,,A,满意\n"  # row 3: body missing
        + "JY2024-0003,意见,标题三,正文三,丙,住建局,,2024/13/01,,D,很好\n"  # row 4: four problems
        + "JY2024-0004,提案,标题四,正文四,丁,教育局,,2024年2月3日,,,\n"
    )
    res = read_cases(write(tmp_path / "c.csv", text))
    assert [r.case_no for r in res.records] == ["JY2024-0001", "JY2024-0004"]
    assert res.records[1].assigned_on.isoformat() == "2024-02-03"
    by_row = {}
    for e in res.errors:
        by_row.setdefault(e.row, []).append(e.field)
    assert by_row == {3: ["内容"], 4: ["类型", "交办日期", "答复类别", "满意度"]}
    assert "第 3 行" in str(res.errors[0]) and "内容为空" in str(res.errors[0])
    assert res.total == 4


def test_jsonl_and_xlsx(tmp_path):
    lines = [{"title": "关于公交线路优化的建议", "body": "建议增开线路。", "lead_department": "交通运输局"}, "not json"]
    p = tmp_path / "c.jsonl"
    p.write_text(json.dumps(lines[0], ensure_ascii=False) + "\n" + lines[1] + "\n", encoding="utf-8")
    res = read_cases(p)
    assert len(res.records) == 1 and res.records[0].lead == "交通运输局"
    assert res.errors[0].row == 2

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["标题", "内容", "主办单位", "交办日期"])
    ws.append(["关于加装电梯的建议", "老旧小区加装电梯难。", "住建局", None])
    ws.append([None, None, None, None])  # blank row: skipped, not an error
    ws.append(["关于课后服务的提案", None, "教育局", None])
    wb.save(tmp_path / "c.xlsx")
    res = read_cases(tmp_path / "c.xlsx")
    assert [r.title for r in res.records] == ["关于加装电梯的建议"]
    assert [(e.row, e.field) for e in res.errors] == [(4, "内容")]


def test_unreadable_files(tmp_path):
    with pytest.raises(CaseFileError, match="找不到文件"):
        read_cases(tmp_path / "none.csv")
    with pytest.raises(CaseFileError, match="不支持"):
        read_cases(write(tmp_path / "a.doc", "x"))


def test_write_cases_roundtrip(tmp_path):
    from datetime import date

    from models.casefile import write_cases
    from models.records import CaseRecord

    recs = [CaseRecord(row=2, case_no="TA2025-0001", kind="提案", year=2025, title="关于治理白沙河的提案",
                       body="正文，含逗号", lead="生态环境局", co_handlers=["水利局", "农业农村局"],
                       assigned_on=date(2025, 2, 1), reply="答复", category="A", feedback="满意")]
    assert write_cases(recs, tmp_path / "out.csv") == 1
    back = read_cases(tmp_path / "out.csv").records[0]
    for field in ("case_no", "kind", "year", "title", "body", "lead", "co_handlers", "assigned_on", "category"):
        assert getattr(back, field) == getattr(recs[0], field)
