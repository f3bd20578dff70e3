"""The command line: every command has help with an example, and the main paths work end to end."""

import json

import pytest
from typer.testing import CliRunner

from models.casefile import write_cases
from models.records import CaseRecord
from tests.conftest import MINI_REGISTRY
from tests.models.test_classifier import toy_data
from training.cli import app

runner = CliRunner()
COMMANDS = ["train", "evaluate", "route", "models", "promote", "rollback", "encoder-build", "encoder-finetune", "index", "index-check", "backup", "restore", "report",
            "search"]
NAMES = {"zjj": "住建局", "jyj": "市教育局", "jtj": "江州市交通运输局", "wjw": "卫健委"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "例" in result.output


@pytest.fixture()
def workspace(tmp_path):
    return make_workspace(tmp_path)


def make_workspace(tmp_path):
    """A registry and a toy closed-case file (2022–2024, one row with an unknown unit) in ``tmp_path``."""
    registry = {**MINI_REGISTRY, "departments": MINI_REGISTRY["departments"] + [
        {"id": "jtj", "name": "江州市交通运输局", "short_name": "市交通运输局", "aliases": ["交通局"]},
        {"id": "wjw", "name": "江州市卫生健康委员会", "short_name": "市卫健委", "aliases": ["卫健委"]},
        {"id": "czj", "name": "江州市财政局", "short_name": "市财政局"},
        {"id": "gaj", "name": "江州市公安局", "short_name": "市公安局"},
    ]}
    (tmp_path / "departments.json").write_text(json.dumps(registry, ensure_ascii=False), encoding="utf-8")
    items, leads, co = toy_data()
    recs = [CaseRecord(row=i + 2, case_no=f"JY{2022 + i % 3}-{i:04d}", year=2022 + i % 3, title=t, body=b,
                       lead=NAMES[lead], co_handlers=c, reply="已办理。", category="A", feedback="满意")
            for i, ((t, b), lead, c) in enumerate(zip(items, leads, co))]
    recs.append(CaseRecord(row=len(recs) + 2, title="关于某事的建议", body="正文", lead="不存在的局", year=2024))
    write_cases(recs, tmp_path / "cases.csv")
    return tmp_path


def test_train_route_search_models_rollback(workspace):
    common = ["--departments", str(workspace / "departments.json"), "--models-dir", str(workspace / "models")]
    labels = workspace / "dups.csv"  # each unit's cases as one matter: enough to exercise the calibration
    rows = [line.split(",") for line in (workspace / "cases.csv").read_text(encoding="utf-8-sig").splitlines()]
    lead_col = rows[0].index("主办单位")
    labels.write_text("编号,重复组\n" + "".join(f"{r[0]},{r[lead_col]}\n" for r in rows[1:] if r[0].startswith("JY")),
                      encoding="utf-8")
    res = runner.invoke(app, ["train", str(workspace / "cases.csv"), *common, "--promote", "--encoder", "hashing",
                              "--duplicate-labels", str(labels)])
    assert res.exit_code == 0, res.output
    assert "不存在的局" in res.output and "已上线" in res.output
    assert "首选准确率" in res.output and "并案阈值" in res.output

    models = ["--models-dir", str(workspace / "models"), "--departments", str(workspace / "departments.json")]
    res = runner.invoke(app, ["route", "关于东湖区老旧小区加装电梯的建议", *models, "--json"])
    assert res.exit_code == 0, res.output
    routed = json.loads(res.stdout)["data"]
    assert routed[0]["lead"][0]["name"] == "江州市住房和城乡建设局"
    assert routed[0]["lead"][0]["reason"] and routed[0]["precedents_available"] and routed[0]["precedents"]

    res = runner.invoke(app, ["route", *models, "--json"], input="关于公交线路覆盖不足的建议\n高新区公交线路少。")
    assert res.exit_code == 0 and json.loads(res.stdout)["data"][0]["lead"][0]["id"] == "jtj"
    res = runner.invoke(app, ["route", *models], input="  \n ")
    assert res.exit_code != 0 and "文本为空" in str(res.exception)  # main() prints it as one line

    batch = workspace / "batch.csv"
    batch.write_text("编号,标题,内容\nA1,关于学前教育学位紧张的建议,学位不足。\nA2,,\n", encoding="utf-8")
    res = runner.invoke(app, ["route", "--file", str(batch), "--out", str(workspace / "out.csv"), *models])
    assert res.exit_code == 0, res.output
    out = (workspace / "out.csv").read_text(encoding="utf-8-sig")
    assert "江州市教育局" in out and "第 3 行" in res.output  # the bad row is reported, the good one routed
    assert out.splitlines()[1].startswith("2,A1,")  # rows as the sheet numbers them
    res = runner.invoke(app, ["route", "--file", str(batch), "--out", str(workspace / "out.xlsx"), *models])
    assert res.exit_code == 0, res.output
    from openpyxl import load_workbook

    ws = load_workbook(workspace / "out.xlsx").active  # a real workbook, not CSV under an .xlsx name
    assert ws["A2"].value == 2 and ws["B2"].value == "A1" and ws["D2"].value == "江州市教育局"
    renamed = workspace / "renamed.csv"
    renamed.write_text("案由,正文\n关于学前教育学位紧张的建议,学位不足。\n", encoding="utf-8")
    res = runner.invoke(app, ["route", "--file", str(renamed), "--column", "title=案由", "--column", "body=正文",
                              "--json", *models])
    assert res.exit_code == 0, res.output
    assert "标题←案由" in res.stderr and json.loads(res.stdout)["data"][0]["lead"][0]["id"] == "jyj"

    res = runner.invoke(app, ["search", "加装电梯", "--encoder", "hashing", "-k", "3", "--json", *models])
    assert res.exit_code == 0, res.output
    assert "加装电梯" in json.loads(res.stdout)[0]["title"]
    res = runner.invoke(app, ["search", "加装电梯", "--department", "宇宙局", *models])
    assert res.exit_code != 0 and "宇宙局" in str(res.exception)  # an unknown unit, not an empty table

    res = runner.invoke(app, ["train", str(workspace / "cases.csv"), *common, "--promote", "--no-index"])
    assert res.exit_code == 0, res.output
    assert "不会自动上线" in res.output and "未上线" in res.output  # a retrain compared on a toy-sized test
    res = runner.invoke(app, ["train", str(workspace / "cases.csv"), *common, "--promote", "--no-index",
                              "--min-test", "5"])
    assert res.exit_code == 0 and "已上线" in res.output, res.output
    res = runner.invoke(app, ["models", *models[:2]])
    assert res.exit_code == 0 and res.output.count("✓") == 1
    res = runner.invoke(app, ["rollback", *models[:2]])
    assert res.exit_code == 0 and "已回退" in res.output


def test_errors_are_one_line_and_nonzero(workspace, capsys):
    import sys

    from training.cli import main

    argv = sys.argv
    sys.argv = ["jiaoban", "route", "x", "--models-dir", str(workspace / "empty")]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = argv
    assert exit_info.value.code == 2
    assert "没有在用模型" in capsys.readouterr().err


def test_evaluate_says_whether_the_threshold_could_be_certified(workspace):
    """The toy file (48 cases, under 40 per fold) is too small to certify 95 %: every item goes to review, and the
    command says so; --threshold-z selects the earlier per-threshold Wilson rule, which certifies nothing."""
    common = ["--departments", str(workspace / "departments.json")]
    reports = {}
    for z in ("0", "1.645"):
        out = workspace / f"eval_{z}.json"
        res = runner.invoke(app, ["evaluate", str(workspace / "cases.csv"), *common, "--split", "kfold",
                                  "--threshold-z", z, "--json", str(out)])
        assert res.exit_code == 0, res.output
        reports[z] = json.loads(out.read_text(encoding="utf-8"))
        assert reports[z]["params"]["threshold_z"] == float(z)
        assert reports[z]["metrics"]["promise"]["text"] in res.output.replace("\n", "")
    certified, wilson = reports["0"], reports["1.645"]
    assert certified["params"]["threshold_rule"] == "certified" and wilson["params"]["threshold_rule"] == "point"
    assert certified["metrics"]["promise"]["status"] == "uncertified"
    assert certified["metrics"]["coverage_at_threshold"] == 0.0 and "无法认证" in certified["metrics"]["promise"]["text"]
    assert wilson["metrics"]["promise"]["certified_share"] == 1.0


def test_reindexing_writes_a_new_version_and_a_copied_version_answers_identically(workspace, tmp_path_factory,
                                                                                   monkeypatch):
    import shutil

    from models.bundle import BundleStore, verify_bundle
    from models.service import RoutingService

    common = ["--departments", str(workspace / "departments.json"), "--models-dir", str(workspace / "models")]
    assert runner.invoke(app, ["train", str(workspace / "cases.csv"), *common, "--promote", "--encoder",
                               "hashing"]).exit_code == 0
    store = BundleStore(workspace / "models")
    first = store.active()
    before = verify_bundle(store.path(first))["files"]
    res = runner.invoke(app, ["index", str(workspace / "cases.csv"), *common, "--add", "--encoder", "hashing"])
    assert res.exit_code == 0, res.output
    second = store.active()
    assert second != first and "已上线" in res.output
    assert verify_bundle(store.path(first))["files"] == before  # the old version was not touched
    assert verify_bundle(store.path(second))["derived_from"]["version"] == first

    item = ("关于东湖区老旧小区加装电梯的建议", "加装电梯资金不足。")
    here = RoutingService.load(store.path(second), encoder="hashing").route_one(*item).to_dict()
    elsewhere = tmp_path_factory.mktemp("other-machine")
    copy = shutil.copytree(store.path(second), elsewhere / "models" / "versions" / second)
    monkeypatch.chdir(elsewhere)  # relative paths of the first machine mean nothing here
    there = RoutingService.load(copy).route_one(*item).to_dict()  # no encoder configured: the manifest's is used
    assert there == here and there["precedents"]


def test_the_encoder_of_a_copied_version_is_found_beside_the_configured_one(tmp_path):
    from models.bundle import encoder_candidates

    (tmp_path / "encoders" / "e5-ft-2026").mkdir(parents=True)
    meta = {"search": {"encoder": "e5-ft-2026", "encoder_path": "/elsewhere/var/encoders/e5-ft-2026"}}
    configured = str(tmp_path / "encoders" / "e5-base")
    assert encoder_candidates(meta, configured) == [str(tmp_path / "encoders" / "e5-ft-2026"), configured]
    assert encoder_candidates({"search": {"encoder": "hashing-64"}}, configured) == ["hashing:64", configured]


def test_cell_values_that_look_like_markup_are_printed_as_text(workspace):
    common = ["--departments", str(workspace / "departments.json"), "--models-dir", str(workspace / "models")]
    assert runner.invoke(app, ["train", str(workspace / "cases.csv"), *common, "--promote", "--no-index"]).exit_code == 0
    sheet = workspace / "markup.csv"
    sheet.write_text("编号,类型,标题,内容\n[/x],[bold]奇怪类型[/x],关于学位的建议,学位不足。\n"
                     "A2,建议,关于[/red]学位紧张的建议,[b]学位不足。\n", encoding="utf-8")
    res = runner.invoke(app, ["route", "--file", str(sheet), *common])
    assert res.exit_code == 0, res.output
    assert "[bold]奇怪类型[/x]" in res.stderr  # the bad kind is reported as the user wrote it
    assert "[/red]" in res.stdout  # the title, as written


def test_lead_chars_sets_how_much_of_a_body_the_vectors_read(workspace):
    from models.bundle import BundleStore, load_bundle, load_search_index
    from models.embeddings import load_embedder

    common = ["--departments", str(workspace / "departments.json"), "--models-dir", str(workspace / "models"),
              "--encoder", "hashing"]
    res = runner.invoke(app, ["train", str(workspace / "cases.csv"), *common, "--promote", "--lead-chars", "40"])
    assert res.exit_code == 0, res.output
    store = BundleStore(workspace / "models")
    index = load_search_index(load_bundle(store.path(store.active())), load_embedder("hashing"))
    assert index.config.lead_chars == 40
    case = index.cases[0]
    (start, end), = index.spans(case, "items")
    assert end - start <= len(case["title"]) + 1 + 40  # the subject, "。" and 40 characters of the body at most
    res = runner.invoke(app, ["index", str(workspace / "cases.csv"), *common, "--lead-chars", "120"])
    assert res.exit_code == 0, res.output
    assert load_search_index(load_bundle(store.path(store.active())), load_embedder("hashing")).config.lead_chars == 120
    res = runner.invoke(app, ["index", str(workspace / "cases.csv"), *common, "--lead-chars", "5"])
    assert res.exit_code != 0 and "--lead-chars" in res.output
