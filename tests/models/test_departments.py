import pytest

from models.departments import Department, DepartmentRegistry, RegistryError, UnknownDepartmentError


def test_resolve_full_short_alias_and_city_prefix(mini_registry):
    for name in ("江州市住房和城乡建设局", "市住建局", "住建局", "住房和城乡建设局", " 住建局 "):
        assert mini_registry.resolve(name).id == "zjj"


def test_resolve_follows_merge_and_rename(mini_registry):
    assert mini_registry.resolve("乡村振兴局").id == "nync"
    assert mini_registry.resolve("江州市城市管理局").id == "cgzf"
    assert mini_registry.find("乡村振兴局").id == "xczxj"  # as written, without lineage
    assert [d.id for d in mini_registry.lineage("nync")] == ["xczxj"]
    assert {d.id for d in mini_registry.active()} == {"zjj", "nync", "cgzf", "jyj", "dhq"}


def test_unknown_name_suggests_closest(mini_registry):
    with pytest.raises(UnknownDepartmentError) as err:
        mini_registry.resolve("住建委")
    assert "江州市住房和城乡建设局" in err.value.suggestions
    assert "住建委" in str(err.value)


def test_inconsistent_registry_is_refused():
    with pytest.raises(RegistryError, match="承继单位"):
        DepartmentRegistry.from_dict({"departments": [{"id": "a", "name": "甲局", "successor": "zz"}]})
    with pytest.raises(RegistryError, match="重复"):
        DepartmentRegistry.from_dict({"departments": [{"id": "a", "name": "甲局"}, {"id": "a", "name": "乙局"}]})
    with pytest.raises(RegistryError, match="循环"):
        DepartmentRegistry.from_dict({"departments": [{"id": "a", "name": "甲局", "successor": "b"},
                                                      {"id": "b", "name": "乙局", "successor": "a"}]})


def test_reorganise_merges_and_keeps_old_names(mini_registry):
    from datetime import date

    mini_registry.reorganise(["jyj"], Department(id="jyty", name="江州市教育和体育局", aliases=("教体局",)),
                             on=date(2025, 3, 1))
    assert mini_registry.resolve("教育局").id == "jyty"
    assert mini_registry.get("jyj").until == date(2025, 2, 28)
    assert mini_registry.resolve("教体局").id == "jyty"


def test_save_load_roundtrip(mini_registry, tmp_path):
    path = tmp_path / "d.json"
    mini_registry.save(path)
    again = DepartmentRegistry.load(path)
    assert again.to_dict() == mini_registry.to_dict()
    assert "农业农村局" in again.vocabulary()


def test_sample_registry_is_complete(sample_registry):
    assert len(sample_registry.active()) >= 35
    assert any(d.kind == "district" for d in sample_registry.active())
    assert sample_registry.resolve("乡村振兴局").id == sample_registry.resolve("农业农村局").id
    for dept in sample_registry.departments.values():
        assert dept.duties, f"{dept.id} has no duty description"


def test_a_name_another_unit_has_is_refused(mini_registry):
    before = mini_registry.to_dict()
    with pytest.raises(RegistryError, match="江州市住房和城乡建设局") as exc:
        mini_registry.add(Department(id="sjj", name="江州市数据局", aliases=("数据局", "建设局")))
    assert (exc.value.field, exc.value.department) == ("aliases[1]", "zjj")
    with pytest.raises(RegistryError, match="已撤并") as exc:  # a merged unit's names still denote it
        mini_registry.add(Department(id="xc2", name="乡村振兴局"))
    assert (exc.value.field, exc.value.department) == ("name", "xczxj")
    assert mini_registry.to_dict() == before and mini_registry.resolve("建设局").id == "zjj"


def test_a_merge_into_itself_or_of_a_merged_unit_is_refused(mini_registry):
    from datetime import date

    before = mini_registry.to_dict()
    with pytest.raises(RegistryError, match="并入它自身") as exc:
        mini_registry.reorganise(["jyj", "zjj"], mini_registry.get("zjj"), on=date(2025, 3, 1))
    assert exc.value.field == "old_ids[1]"
    with pytest.raises(RegistryError, match="已撤并") as exc:
        mini_registry.reorganise(["xczxj"], mini_registry.get("zjj"), on=date(2025, 3, 1))
    assert exc.value.field == "old_ids[0]"
    with pytest.raises(RegistryError, match="不能再有单位并入") as exc:
        mini_registry.reorganise(["jyj"], mini_registry.get("cgj"), on=date(2025, 3, 1))
    assert exc.value.field == "target"
    assert mini_registry.to_dict() == before


def _split_parts():
    return [Department(id="cgglj", name="江州市市容和园林管理局", short_name="市市容园林局",
                       duties="负责市容环境卫生、生活垃圾清运和分类、园林绿化、户外广告设置管理"),
            Department(id="zhzfj", name="江州市综合行政执法局", short_name="市综合执法局",
                       duties="负责查处违法建设、占道经营、噪声扰民等行政执法")]


def test_split_passes_old_names_to_the_main_part_and_old_cases_to_the_part_their_text_matches(mini_registry):
    from datetime import date

    mini_registry.split("cgzf", _split_parts(), main_id="cgglj", on=date(2026, 1, 1))
    old = mini_registry.get("cgzf")
    assert not old.active and old.until == date(2025, 12, 31) and old.split_into == ("cgglj", "zhzfj")
    assert mini_registry.resolve("城管执法局").id == "cgglj"  # old names, open items, ledger: the main successor
    assert mini_registry.resolve("城管局").id == "cgglj"  # through the earlier rename too
    assert mini_registry.resolve_for("城管执法局", "关于严肃查处小区违法建设的建议").id == "zhzfj"
    assert mini_registry.resolve_for("城管局", "关于整治夜市占道经营和噪声扰民的建议").id == "zhzfj"
    assert mini_registry.resolve_for("城管执法局", "关于推进生活垃圾分类的建议").id == "cgglj"
    assert mini_registry.resolve_for("城管执法局", "关于加强学校周边管理的建议").id == "cgglj"  # no part wins
    assert mini_registry.get("zhzfj").since == date(2026, 1, 1)
    again = DepartmentRegistry.from_dict(mini_registry.to_dict())  # the snapshot keeps the split
    assert again.get("cgzf").split_into == ("cgglj", "zhzfj")
    assert again.resolve_for("城管执法局", "违法建设").id == "zhzfj"


@pytest.mark.parametrize("change, field", [
    (lambda r, p: r.split("cgzf", p[:1], main_id="cgglj", on=_ON), "parts"),
    (lambda r, p: r.split("cgzf", [p[0], p[0]], main_id="cgglj", on=_ON), "parts"),
    (lambda r, p: r.split("cgzf", [p[0], r.get("cgzf")], main_id="cgglj", on=_ON), "parts[1]"),
    (lambda r, p: r.split("cgj", p, main_id="cgglj", on=_ON), "old_id"),
    (lambda r, p: r.split("nothere", p, main_id="cgglj", on=_ON), "old_id"),
    (lambda r, p: r.split("cgzf", [p[0], r.get("xczxj")], main_id="cgglj", on=_ON), "parts[1]"),
    (lambda r, p: r.split("cgzf", p, main_id="jyj", on=_ON), "main_id"),
    (lambda r, p: r.split("cgzf", [p[0], Department(id="x", name="江州市教育局")], main_id="cgglj", on=_ON),
     "parts[1].name"),
    (lambda r, p: r.split("cgzf", [p[0], Department(id="x", name="江州市市容和园林管理局")], main_id="cgglj",
                          on=_ON), "parts[1].name"),
])
def test_a_bad_split_is_refused_and_changes_nothing(mini_registry, change, field):
    before = mini_registry.to_dict()
    with pytest.raises(RegistryError) as err:
        change(mini_registry, _split_parts())
    assert err.value.field == field
    assert mini_registry.to_dict() == before


def test_a_split_registry_with_an_unknown_part_is_refused():
    with pytest.raises(RegistryError, match="拆分"):
        DepartmentRegistry.from_dict({"departments": [
            {"id": "a", "name": "甲局", "successor": "b", "until": "2025-01-01", "split_into": ["b", "zz"]},
            {"id": "b", "name": "乙局"}]})


_ON = __import__("datetime").date(2026, 1, 1)
