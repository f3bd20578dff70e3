"""jiaoban index-check: compare the precedent index of a version with the closed cases, and repair it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from models.bundle import BundleStore, attach_search_index, derive_version, load_bundle, load_search_index
from models.index_sync import index_diff, repaired
from training.cli.common import (
    BundleOpt,
    CliError,
    ColumnOpt,
    DeptOpt,
    EncoderOpt,
    EncOpt,
    ModelsOpt,
    NoRegOpt,
    bundle_path,
    load_search_cases,
    models_dir,
    out,
)
from training.cli.common import embedder as load_encoder
from training.cli.progress import progress
from training.train import discarded_on_failure


def index_check_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件（案件库导出或年度台账）")],
    bundle: BundleOpt = None,
    models: ModelsOpt = None,
    departments: DeptOpt = None,
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    encoder: EncoderOpt = None,
    repair: Annotated[bool, typer.Option("--repair", help="修复差异：写成新版本（只编码新增或改动的案件）")] = False,
    promote: Annotated[bool, typer.Option("--promote/--no-promote", help="修复后的新版本是否上线（默认：原版本在用时上线）")] = True,
) -> None:
    """核对相似案例索引与已办结案件是否一致（缺少、改动、多余的案件），可修复。

    例：jiaoban index-check 案件库导出.csv

    例：jiaoban index-check 案件库导出.csv --repair
    """
    from models.bundle import index_encoder, read_meta

    source = bundle_path(bundle, models)
    # every readable row, as `jiaoban index` keeps them (rows without a known unit are searchable too)
    registry, ts, _ = load_search_cases(data, departments, no_registry, column, encoding)
    embedder = load_encoder(index_encoder(read_meta(source)) or encoder)
    index = load_search_index(load_bundle(source), embedder)
    if index is None:
        raise CliError(f"模型 {source.name} 没有相似案例索引：请先用 `jiaoban index` 建立")
    diff = index_diff(index, ts.cases, registry)
    _print(diff.to_dict(), len(index))
    if diff.consistent:
        return
    if not repair:
        out.print(f"修复：jiaoban index-check {data} --repair")
        raise typer.Exit(1)
    store = BundleStore(models_dir(models))
    path = derive_version(source, store.new_version_path("sync"), reason="index-check --repair")
    with discarded_on_failure(path), progress("修复索引") as say:  # the version is guarded before the line shows
        fixed, _, encoded = repaired(index, ts.cases, registry, progress=lambda d, t: say(f"向量编码 {d}/{t}"))
        carried = _carried_calibration(fixed, source.name)
        attach_search_index(path, fixed)
    out.print(f"已修复：新版本 {path.name}，索引 {len(fixed)} 件，新编码 {encoded} 件（其余沿用原向量）")
    if carried:
        out.print(carried)
    active = store.active()
    if promote and active is not None and store.path(active).resolve() == source.resolve():
        store.promote(path.name, reason="promote (index repaired)", why=f"索引修复：{diff.to_dict()}")
        out.print(f"新版本 {path.name} 已上线（原版本 {source.name} 保持不变）")


def _carried_calibration(index, source: str) -> str:
    """Mark a calibrated 并案 threshold as carried over from ``source`` (the repair keeps the vectors' kind, so the
    threshold still applies) and say so; an empty line when the threshold was never calibrated."""
    cal = index.config.duplicate_calibration
    if not cal:
        return ""
    index.config.duplicate_calibration = {**cal, "carried_from": source,
                                          "calibrated_in": cal.get("calibrated_in", source)}
    return (f"并案阈值 {index.config.duplicate_threshold:.3f}：沿用版本 {source} 的校准（最初在版本 "
            f"{index.config.duplicate_calibration['calibrated_in']} 上选定；修复不改变向量的种类）")


def _print(d: dict, size: int) -> None:
    if d["consistent"]:
        out.print(f"索引与案件一致：{size} 件")
        return
    out.print(f"索引与案件不一致：缺少 {d['missing']} 件，改动 {d['changed']} 件，多余 {d['extra']} 件"
              f"（无编号未核对 {d['unnumbered']} 件）")
    for kind, label in (("missing", "缺少"), ("changed", "改动"), ("extra", "多余")):
        if d["examples"][kind]:
            out.print(f"  {label}：{'、'.join(d['examples'][kind])}", markup=False)
