"""jiaoban train / evaluate / index: learn from closed cases, backtest, and build the precedent index."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from models.atomic import write_json_atomic
from models.bundle import BundleStore, index_encoder, read_meta
from models.knn_vote import VectorTable, index_vector_spec
from models.precision import precision_of
from models.search import SearchConfig
from training.cli.common import (
    DENSE_TEXTS,
    ESTIMATORS,
    SPLITS,
    BundleOpt,
    CliError,
    ColumnOpt,
    DeptOpt,
    DupOpt,
    EncoderOpt,
    EncOpt,
    LeadCharsOpt,
    ModelsOpt,
    NoRegOpt,
    ThresholdZOpt,
    bundle_path,
    check_choice,
    encoder_spec,
    load_cases,
    load_search_cases,
    models_dir,
    out,
    params,
    settings,
)
from training.cli.common import (
    embedder as load_encoder,
)
from training.cli.figures import print_figures
from training.cli.progress import progress
from training.evaluate import evaluate
from training.train import MIN_TEST, PROMOTION_TOLERANCE, encode_cases, train

KnnOpt = Annotated[bool | None, typer.Option(
    "--knn-blend/--no-knn-blend", help="主办建议结合最相似往年案件（句向量近邻）的投票，交叉验证中自动交办更多且不降低"
    "宏 F1 时才采用；复核阈值按结合后的交叉验证预测认证（train 默认：有编码器时开启）")]


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


def train_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件：CSV（UTF-8/GBK）、XLSX 或 JSONL")],
    departments: DeptOpt = None,
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    models: ModelsOpt = None,
    split: Annotated[str, typer.Option(help="回测切分：auto、temporal（按年度）或 kfold")] = "auto",
    estimator: Annotated[str, typer.Option(help="线性模型：svm 或 logreg")] = "svm",
    c: Annotated[float | None, typer.Option("--C", help="正则化强度")] = None,
    threshold_z: ThresholdZOpt = 0.0,
    promote: Annotated[bool, typer.Option("--promote", help="不劣于在用模型时上线")] = False,
    force: Annotated[bool, typer.Option("--force", help="即使劣于在用模型也上线")] = False,
    tag: Annotated[str, typer.Option(help="版本名后缀")] = "",
    encoder: EncoderOpt = None,
    no_index: Annotated[bool, typer.Option("--no-index", help="不建立相似案例检索索引")] = False,
    dense_text: Annotated[str, typer.Option(help="向量化内容：title、lead（标题+开头）、full（全文一个向量）或 chunks（全文分段、取最相似段落）")] = "lead",
    lead_chars: LeadCharsOpt = None,
    duplicate_labels: DupOpt = None,
    fine_tune_encoder: Annotated[bool, typer.Option(
        "--fine-tune-encoder", help="先用这些案件微调编码器（CPU 上较慢）；留出最近一年检验，有提升才用于检索索引")] = False,
    tolerance: Annotated[float, typer.Option(
        help="容差：新模型首选准确率低于在用模型超过它且配对检验显著时不上线")] = PROMOTION_TOLERANCE,
    min_test: Annotated[int, typer.Option(help="可比较案件少于此数时给出警告且不自动上线")] = MIN_TEST,
    by: Annotated[str, typer.Option("--by", help="上线记录中的操作人（默认：当前系统用户）")] = "",
    result_json: Annotated[Path | None, typer.Option(
        "--result-json", help="把结果（版本、上线判断、主要指标）写入 JSON 文件（服务的后台训练任务读取它）")] = None,
    knn_blend: KnnOpt = None,
) -> None:
    """训练新模型版本，在在用模型未见过的案件上与它对比（配对检验、95% 区间），写出评估报告。

    例：jiaoban train data/samples/closed_cases.csv --promote

    例：jiaoban train 2025年办结案件.xlsx --promote > 训练日志.txt   （不在终端时逐步打印带时间的进度行）

    例：jiaoban train 2025年办结案件.xlsx --promote --fine-tune-encoder

    例：jiaoban train 2025年办结案件.xlsx --no-knn-blend   （只用文本模型，不结合最相似往年案件的投票）
    """
    check_choice("--split", split, SPLITS)
    check_choice("--estimator", estimator, ESTIMATORS)
    check_choice("--dense-text", dense_text, DENSE_TEXTS)
    registry, ts = load_cases(data, departments, no_registry, column, encoding, writes_rejected=True)
    store = BundleStore(models_dir(models))
    if knn_blend and no_index:
        raise CliError("--knn-blend 需要类案检索的向量：不能与 --no-index 同用")
    knn_blend = not no_index if knn_blend is None else knn_blend
    embedder = None if no_index else load_encoder(encoder)
    if fine_tune_encoder and embedder is not None:
        embedder = _fine_tuned(ts, encoder_spec(encoder), embedder, store)
    with progress("训练开始") as say:
        p = replace(params(estimator, c, threshold_z, registry), knn_blend=knn_blend)
        result = train(ts, registry, store=store, params=p, split=split, promote=promote,
                       force=force, tag=tag, embedder=embedder, search_config=search_config(dense_text, lead_chars),
                       duplicate_groups=_dup_groups(duplicate_labels), progress=say, tolerance=tolerance,
                       min_test=min_test, review_threshold=settings().review_threshold, promoted_by=by)
        say("训练完成")
    print_figures(result.figures)
    out.print(f"模型版本：{result.path}（评估报告：{result.path / 'report.html'}，数字另见 report.json）")
    if result.duplicate_threshold:
        out.print(result.duplicate_threshold["note"], markup=False, soft_wrap=True)
    out.print(result.promotion_note)
    if result_json:
        f = result.figures
        summary = {"version": result.path.name, "path": str(result.path), "promoted": result.promoted,
                   "note": result.promotion_note, "decision": f["decision"], "evaluation":
                   {k: v for k, v in f["evaluation"].items() if k != "case_ids"},
                   "threshold": f["threshold"], "candidate": f["candidate"]["metrics"],
                   "active": (f["active"] or {}).get("metrics"), "warnings": f["warnings"],
                   "duplicate_threshold": result.duplicate_threshold}
        write_json_atomic(result_json, summary)


def evaluate_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件")],
    departments: DeptOpt = None,
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    split: Annotated[str, typer.Option(help="auto、temporal 或 kfold")] = "auto",
    folds: Annotated[int, typer.Option(help="k 折数")] = 5,
    estimator: Annotated[str, typer.Option(help="svm 或 logreg")] = "svm",
    c: Annotated[float | None, typer.Option("--C", help="正则化强度")] = None,
    threshold_z: ThresholdZOpt = 0.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="把完整结果写入 JSON 文件")] = None,
    knn_blend: KnnOpt = False,
    encoder: EncoderOpt = None,
    dense_text: Annotated[str, typer.Option(help="--knn-blend 的向量化内容（同 train）")] = "lead",
    lead_chars: LeadCharsOpt = None,
    models: ModelsOpt = None,
) -> None:
    """回测评估（不保存模型）：首选/前三准确率、宏 F1、复核阈值下的覆盖率与准确率。

    例：jiaoban evaluate data/samples/closed_cases.csv --split temporal

    例：jiaoban evaluate data/samples/closed_cases.csv --knn-blend   （与 train --knn-blend 同样结合近邻投票）
    """
    check_choice("--split", split, SPLITS)
    check_choice("--estimator", estimator, ESTIMATORS)
    check_choice("--dense-text", dense_text, DENSE_TEXTS)
    registry, ts = load_cases(data, departments, no_registry, column, encoding)
    p = replace(params(estimator, c, threshold_z, registry), knn_blend=bool(knn_blend))
    with progress("评估开始") as say:
        vectors = None
        if knn_blend:
            say(f"编码 {len(ts.cases)} 件案件（近邻投票）")
            store = BundleStore(models_dir(models))  # unchanged texts reuse the version in service's vectors
            index = encode_cases(ts.cases, registry, load_encoder(encoder), search_config(dense_text, lead_chars),
                                 p, store.active_path() if store.active() else None)
            vectors = VectorTable([(x.title, x.body) for x in ts.cases], index.vectors, index_vector_spec(index))
        report = evaluate(ts, p, split=split, folds=folds, progress=say, vectors=vectors)
    title = f"回测（{report.split}）"
    out.print(_metrics_table(title, report.metrics))
    promise = report.metrics["promise"]
    out.print(promise["text"], markup=False, style="green" if promise["status"] == "met" else "yellow")
    if json_out:
        payload = {"data": ts.info(), "params": p.to_dict(), **report.to_dict()}
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        out.print(f"结果已写入 {json_out}")


def search_config(dense_text: str, lead_chars: int | None) -> SearchConfig:
    return SearchConfig(dense_text=dense_text) if lead_chars is None else SearchConfig(dense_text, lead_chars)


def _dup_groups(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    from training.duplicates import read_duplicate_groups

    if not path.is_file():
        raise CliError(f"找不到重复件分组文件 {path}（--duplicate-labels）")
    return read_duplicate_groups(path)


def encoders_in_use(store: BundleStore) -> set[Path]:
    """The encoder directories that the versions of ``store`` record for their indexes."""
    paths = set()
    for version in store.versions():
        try:
            recorded = (read_meta(store.path(version)).get("search") or {}).get("encoder_path")
        except Exception:  # a damaged version keeps nothing alive, and is reported by the commands that read it
            continue
        if recorded:
            paths.add(Path(recorded))
    return paths


def _fine_tuned(ts, encoder: str, embedder, store: BundleStore):
    """The encoder fine-tuned on these cases when that improves both held-back tasks, else the one given; older
    tuned encoders that no version uses are removed when a new one is kept."""
    from datetime import datetime

    from models.embeddings import load_embedder
    from training.finetune import clean_old_encoders, fine_tune

    if not hasattr(embedder, "path"):
        raise CliError("--fine-tune-encoder 需要 sentence-transformers 编码器目录（--encoder）")
    base = Path(encoder)
    out_dir = base.with_name(f"{base.name.split('-ft-')[0]}-ft-{datetime.now():%Y%m%d-%H%M%S}")
    with progress("微调编码器开始") as say:
        result = fine_tune(ts.cases, base, out_dir, progress=say)
    out.print(result.note)
    if not result.kept:
        return embedder
    # the base encoder in use stays: only other "-ft-" runs are candidates
    for path in clean_old_encoders(out_dir, encoders_in_use(store) | {base}):
        out.print(f"已删除不再被任何模型版本使用的旧微调编码器 {path}")
    return load_embedder(str(out_dir))


def index_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件（含答复）")],
    bundle: BundleOpt = None,
    models: ModelsOpt = None,
    departments: DeptOpt = None,
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    encoder: EncoderOpt = None,
    add: Annotated[bool, typer.Option("--add", help="增量追加到现有索引（只编码新案件）")] = False,
    dense_text: Annotated[str, typer.Option(
        help="title、lead、full 或 chunks（全文分段、取最相似段落，长文本推荐）")] = "lead",
    lead_chars: LeadCharsOpt = None,
    duplicate_labels: DupOpt = None,
    promote: Annotated[bool, typer.Option(
        "--promote/--no-promote", help="新版本是否上线（默认：原版本在用时上线）")] = True,
    result_json: Annotated[Path | None, typer.Option(
        "--result-json", help="把结果（新版本、索引件数、新编码件数）写入 JSON 文件（服务的后台重建索引任务读取它）")] = None,
) -> None:
    """为模型建立（或增量更新）相似案例检索索引。原版本不会被修改：结果写成一个新版本。

    例：jiaoban index data/samples/closed_cases.csv

    例：jiaoban index 2026年新办结.xlsx --add
    """
    from models.bundle import derive_version
    from training.train import build_search_index, discarded_on_failure, rejected_rows_csv

    check_choice("--dense-text", dense_text, DENSE_TEXTS)
    source = bundle_path(bundle, models)
    registry, ts, untrainable = load_search_cases(data, departments, no_registry, column, encoding)
    # Adding to an index: the encoder it was built with (the service makes the same choice).
    recorded = (read_meta(source).get("search") or {}).get("encoder") or ""
    embedder = (load_encoder(index_encoder(read_meta(source)) or encoder, precision_of(recorded)) if add
                else load_encoder(encoder))
    store = BundleStore(models_dir(models))
    path = derive_version(source, store.new_version_path("index"), reason="index --add" if add else "index")
    problems = sorted(ts.errors + untrainable, key=lambda e: e.row)
    files = {"rejected_rows.csv": rejected_rows_csv(problems)} if problems else None
    with discarded_on_failure(path), progress("编码开始") as say:  # the version is guarded before the line shows
        meta = build_search_index(path, ts.cases, registry, embedder, add_to_existing=add, reuse_from=source,
                                  config=search_config(dense_text, lead_chars), files=files,
                                  duplicate_groups=_dup_groups(duplicate_labels), progress=lambda d, t: say(f"向量编码 {d}/{t}"))
    info = meta["search"]
    out.print(f"索引完成：{info['size']} 条案件（新编码 {info['encoded']} 条），索引类型 {info['index_kind']}，"
              f"编码器 {info['encoder']}")
    out.print(info["duplicate_threshold"]["note"], markup=False, soft_wrap=True)
    rows = len({e.row for e in untrainable})
    if rows:
        out.print(f"其中 {rows} 条主办/协办单位为空或不在单位名录中：已编入索引供类案检索，但不能用于训练"
                  f"（逐行原因见 {path / 'rejected_rows.csv'}）")
    weights = (info.get("config") or {}).get("weight_calibration") or {}
    for target, w in weights.items():
        out.print(f"检索融合（{'类似案件' if target == 'items' else '类似答复'}）：{w['note']}")
    active = store.active()
    was_active = active is not None and store.path(active).resolve() == source.resolve()
    if promote and was_active:
        store.promote(path.name, reason="promote (re-indexed)")
        out.print(f"新版本 {path.name} 已上线（原版本 {source.name} 保持不变，可用 jiaoban rollback 回退）")
    elif not promote:  # asked for (a service job promotes the version itself when it is done)
        out.print(f"新版本 {path.name} 已建好（--no-promote：本命令不上线；上线：jiaoban promote {path.name}）")
    else:
        out.print(f"新版本 {path.name} 未上线：{source.name} 不是在用版本（上线：jiaoban promote {path.name}）")
    if result_json:
        summary = {"version": path.name, "source": source.name, "promoted": promote and was_active,
                   **{k: info.get(k) for k in ("size", "encoded", "encoder", "index_kind", "duplicate_threshold")}}
        write_json_atomic(result_json, summary)


