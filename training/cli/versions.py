"""jiaoban models / promote / rollback: the versions in the models directory and which one is in service."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from models.bundle import BundleStore, read_meta
from training.cli.common import ModelsOpt, models_dir, out


def models_cmd(models: ModelsOpt = None) -> None:
    """列出模型版本及其回测指标，标出在用版本。

    例：jiaoban models
    """
    store = BundleStore(models_dir(models))
    active = store.active()
    t = Table(title=f"模型版本（{store.root}）")
    for col in ("版本", "在用", "训练条数", "首选准确率", "前三命中率", "宏F1"):
        t.add_column(col)
    for v in store.versions():
        meta = read_meta(store.path(v))
        m = meta.get("metrics", {}).get("metrics", {})
        t.add_row(v, "✓" if v == active else "", str(meta.get("data", {}).get("rows", "")),
                  *(f"{m[k]:.3f}" if k in m else "-" for k in ("top1", "top3", "macro_f1")))
    out.print(t)


WhyOpt = Annotated[str, typer.Option("--why", help="理由（记入上线记录）")]
ByOpt = Annotated[str, typer.Option("--by", help="操作人（默认：当前系统用户）")]


def promote_cmd(version: Annotated[str, typer.Argument(help="版本名（见 jiaoban models）")],
                models: ModelsOpt = None, why: WhyOpt = "", by: ByOpt = "") -> None:
    """把某个版本设为在用模型；谁、何时、为何上线记入 history.jsonl。

    例：jiaoban promote 20261125-120301 --why "已看评估报告，检验件数少但各单位无明显下降"
    """
    BundleStore(models_dir(models)).promote(version, by=by, why=why)
    out.print(f"已上线 {version}")


def rollback_cmd(models: ModelsOpt = None, why: WhyOpt = "", by: ByOpt = "") -> None:
    """回退到上一个在用版本；谁、何时、为何回退记入 history.jsonl。

    例：jiaoban rollback --why "新版本把教育类建议误派给人社局"
    """
    version = BundleStore(models_dir(models)).rollback(by=by, why=why)
    out.print(f"已回退到 {version}")
