from models.casefile import write_cases
from models.records import CaseRecord
from training.dataset import load_training_set, resolve_departments, temporal_split


def rec(row, lead, co=(), year=2024):
    return CaseRecord(row=row, title=f"标题{row}", body="正文", lead=lead, co_handlers=list(co), year=year)


def test_old_names_train_todays_unit(mini_registry):
    good, errors = resolve_departments([rec(2, "乡村振兴局", ["城管局", "市住建局"]), rec(3, "市城市管理局")],
                                       mini_registry)
    assert not errors
    assert good[0].lead_id == "nync" and good[0].co_ids == ["cgzf", "zjj"]
    assert good[1].lead_id == "cgzf"


def test_unknown_or_missing_departments_are_row_errors(mini_registry):
    good, errors = resolve_departments([rec(2, "住建委"), rec(3, ""), rec(4, "教育局", ["教育厅"]),
                                        rec(5, "教育局", ["教育局"])], mini_registry)
    assert [g.row for g in good] == [5]
    assert good[0].co_ids == []  # the lead is not its own co-handler
    assert [(e.row, e.field) for e in errors] == [(2, "主办单位"), (3, "主办单位"), (4, "协办单位")]
    assert "江州市住房和城乡建设局" in errors[0].message  # closest name suggested


def test_no_registry_keeps_labels(tmp_path):
    good, errors = resolve_departments([rec(2, "城乡建设")], None)
    assert good[0].lead_id == "城乡建设" and not errors


def test_load_training_set_reports_and_hashes(tmp_path, mini_registry):
    path = tmp_path / "c.csv"
    write_cases([rec(2, "住建局", year=2023), rec(3, "不存在局", year=2024), rec(4, "教育局", year=2024)], path)
    ts = load_training_set(path, mini_registry)
    assert len(ts.cases) == 2 and [e.row for e in ts.errors] == [3]
    info = ts.info()
    assert info["rows"] == 2 and info["rejected_rows"] == 1 and info["years"] == [2023, 2024]
    assert len(info["sha256"]) == 64


def test_temporal_split_uses_latest_year():
    cases = [rec(i, "x", year=y) for i, y in enumerate([2021, 2022, 2022, 2023], start=2)]
    train, test, year = temporal_split(cases)
    assert year == 2023 and len(train) == 3 and len(test) == 1


def test_a_version_whose_index_cannot_be_written_is_discarded(tmp_path, mini_registry):
    import errno

    import pytest

    from models.bundle import BundleError, BundleStore
    from models.embeddings import HashingEmbedder
    from tests.api.fakedata import closed_rows, write_csv
    from training.dataset import load_training_set
    from training.train import train

    class FullDisk(HashingEmbedder):
        def encode_passages(self, texts, *, show_progress=False):
            raise OSError(errno.ENOSPC, "No space left on device")

    ts = load_training_set(write_csv(closed_rows(n_per_dept=8), tmp_path / "c.csv"), mini_registry)
    store = BundleStore(tmp_path / "models")
    with pytest.raises(BundleError, match="无法写入模型版本"):
        train(ts, mini_registry, store=store, promote=True, embedder=FullDisk(64))
    assert store.versions() == [] and store.active() is None


def test_old_cases_of_a_split_unit_train_the_part_their_text_matches(mini_registry):
    from datetime import date

    from models.departments import Department

    mini_registry.split("cgzf", [Department(id="srylj", name="江州市市容和园林管理局", duties="生活垃圾分类、园林绿化"),
                                 Department(id="zhzfj", name="江州市综合行政执法局", duties="查处违法建设、占道经营")],
                        main_id="srylj", on=date(2026, 1, 1))
    records = [CaseRecord(row=2, title="关于查处违法建设的建议", lead="城管执法局", co_handlers=["城管局"]),
               CaseRecord(row=3, title="关于生活垃圾分类的建议", lead="城管局"),
               CaseRecord(row=4, title="关于背街小巷的建议", lead="城管执法局")]
    good, errors = resolve_departments(records, mini_registry)
    assert not errors
    assert [r.lead_id for r in good] == ["zhzfj", "srylj", "srylj"]
    assert good[0].co_ids == []  # the same unit as the lead once resolved: dropped, as for any repeat
