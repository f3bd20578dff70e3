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
