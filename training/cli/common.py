"""What every command shares: settings, option types, reading case files, and loading the routing service."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from models import clock
from models.bundle import BundleStore
from models.classifier import RoutingParams
from models.departments import DepartmentRegistry
from models.service import RoutingService
from models.settings import Settings
from training.dataset import TrainingSet, load_training_set
from training.train import with_registry_words

console = Console(stderr=True)
out = Console()

DEFAULT_ENCODER_DIR = "var/encoders/multilingual-e5-small"

ColumnOpt = Annotated[
    list[str] | None,
    typer.Option("--column", "-c", help="字段=列名，覆盖自动识别，如 --column lead=一级标签（可多次使用）"),
]
DeptOpt = Annotated[Path | None, typer.Option("--departments", help="单位名录 JSON（默认：JIAOBAN_DEPARTMENTS）")]
NoRegOpt = Annotated[bool, typer.Option("--no-registry", help="不使用单位名录：标签按原样训练（如公开数据集的分类）")]
EncOpt = Annotated[str | None, typer.Option("--encoding", help="强制文本编码（默认自动识别 UTF-8/GBK）")]
ModelsOpt = Annotated[Path | None, typer.Option("--models-dir", help="模型版本目录（默认：JIAOBAN_MODELS_DIR）")]
BundleOpt = Annotated[Path | None, typer.Option("--bundle", help="模型目录（默认：在用模型）")]
DupOpt = Annotated[
    Path | None,
    typer.Option("--duplicate-labels", help="已知重复件分组（列：编号、重复组），用于选定并案阈值"),
]
ThresholdZOpt = Annotated[float, typer.Option(
    "--threshold-z", help="改用旧的阈值规则：各阈值处准确率的 Wilson 置信下界（1.645 为 95% 单侧）达到目标，不作整体保证；"
    "默认 0：按 Clopper-Pearson 固定顺序检验认证阈值，训练数据不足以认证时全部转人工复核")]
LeadCharsOpt = Annotated[int | None, typer.Option(
    "--lead-chars", min=20, max=2000,
    help="lead 方式下向量化的正文开头字数（默认见 SearchConfig.lead_chars；越短编码越快，取值见 docs/benchmarks.md）")]
EncoderOpt = Annotated[str | None, typer.Option(
    "--encoder", help="句向量编码器：sentence-transformers 模型目录，或 hashing（仅测试用）；默认 JIAOBAN_ENCODER")]


class CliError(Exception):
    """A mistake in the command's input: printed as one Chinese line that names the file or option."""


_OS_PROBLEMS = {errno.ENOENT: "文件或目录不存在", errno.EACCES: "没有读写权限", errno.EPERM: "没有读写权限",
                errno.EISDIR: "这是一个目录，不是文件", errno.ENOTDIR: "路径中有一段不是目录",
                errno.ENOSPC: "磁盘空间不足", errno.EROFS: "文件系统只读"}


def os_error_message(exc: OSError) -> str:
    """``无法读写 out/结果.csv：文件或目录不存在`` (the system's own text is English)."""
    where = f" {exc.filename}" if exc.filename else ""
    return f"无法读写{where}：{_OS_PROBLEMS.get(exc.errno or 0, '系统错误（' + type(exc).__name__ + '）')}"


SPLITS = ("auto", "temporal", "kfold")
ESTIMATORS = ("svm", "logreg")
DENSE_TEXTS = ("title", "lead", "full", "chunks")
SEARCH_TARGETS = ("items", "replies")
SEARCH_MODES = ("hybrid", "bm25", "dense")


def check_choice(option: str, value: str, allowed: tuple[str, ...]) -> str:
    """Refuse an option value before any work is done, naming the option and what it accepts."""
    if value not in allowed:
        raise CliError(f"{option} 的取值“{value}”无效：可选 {'、'.join(allowed)}")
    return value


def settings() -> Settings:
    """The service's settings (environment and ``.env``), less what only the service needs (API keys)."""
    s = Settings(env="development", api_keys="")
    clock.set_zone(s.timezone)  # dates the CLI derives from timestamps are the office's days, not the server's
    return s


def models_dir(given: Path | None) -> Path:
    return given or settings().models_dir


def encoder_spec(given: str | None) -> str:
    return given or settings().encoder


def columns(pairs: list[str] | None) -> dict[str, str]:
    mapping = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise CliError(f"--column 需要“字段=列名”的形式（如 --column lead=承办单位），收到“{pair}”")
        key, value = pair.split("=", 1)
        mapping[key.strip()] = value.strip()
    return mapping


def registry(path: Path | None, none: bool = False, *, required: bool = True) -> DepartmentRegistry | None:
    if none:
        return None
    path = path or settings().departments
    if not path.is_file():
        if not required:
            return None
        raise CliError(f"找不到单位名录 {path}：用 --departments（或 JIAOBAN_DEPARTMENTS）指定，或加 --no-registry")
    return DepartmentRegistry.load(path)


def load_cases(data: Path, departments: Path | None, no_registry: bool, column, encoding, *,
               writes_rejected: bool = False) -> tuple[DepartmentRegistry | None, TrainingSet]:
    """Registry and validated closed cases (reply categories as the service accepts them), bad rows reported.

    ``writes_rejected``: the command writes rejected_rows.csv into the version it makes (``jiaoban train``), so a
    long list may point there; other commands never name a file they do not write."""
    reg = registry(departments, no_registry)
    ts = load_training_set(data, reg, columns=columns(column), encoding=encoding,
                           categories=settings().reply_categories)
    console.print(f"读取 {data}：可用 {len(ts.cases)} 条，问题行 {len({e.row for e in ts.errors})} 条；"
                  f"{mapping_text(ts.columns)}", markup=False, soft_wrap=True)
    report_errors(ts.errors, more="完整列表见新模型版本目录中的 rejected_rows.csv" if writes_rejected else
                  "请修正上面各行后重新运行，以看到其余问题")
    return reg, ts


def load_search_cases(data: Path, departments: Path | None, no_registry: bool, column, encoding
                      ) -> tuple[DepartmentRegistry | None, TrainingSet, list]:
    """Registry, every readable closed case for the precedent index, and why some of them cannot train."""
    from training.dataset import load_search_set

    reg = registry(departments, no_registry)
    ts, untrainable = load_search_set(data, reg, columns=columns(column), encoding=encoding,
                                      categories=settings().reply_categories)
    flagged = len({e.row for e in untrainable})
    console.print(f"读取 {data}：可编入索引 {len(ts.cases)} 条（其中不能用于训练 {flagged} 条），"
                  f"无法读取 {len({e.row for e in ts.errors})} 条；{mapping_text(ts.columns)}", markup=False,
                  soft_wrap=True)
    report_errors(ts.errors, more="完整列表见新模型版本目录中的 rejected_rows.csv")
    return reg, ts, untrainable


def params(estimator: str, c: float | None, threshold_z: float = 0.0,
           reg: DepartmentRegistry | None = None) -> RoutingParams:
    p = RoutingParams(estimator=estimator, threshold_z=threshold_z,
                      threshold_rule="point" if threshold_z > 0 else "certified")
    if c is not None:
        p.C = c
    elif estimator == "logreg":
        p.C = 20.0
    return with_registry_words(p, reg)


def mapping_text(columns: dict[str, str]) -> str:
    """Which column of the file each field was read from, on one line: 列映射：标题←案由、内容←正文…"""
    from models.casefile import EXPORT_HEADERS

    return "列映射：" + "、".join(f"{EXPORT_HEADERS.get(field, field)}←{col}" for field, col in columns.items())


def report_errors(errors, limit: int = 15, more: str = "请修正上面各行后重新运行，以看到其余问题") -> None:
    if not errors:
        return
    rows = sorted({e.row for e in errors})
    console.print(f"[yellow]有 {len(rows)} 行未能使用（其余行已正常处理）：[/yellow]")
    for e in errors[:limit]:
        console.print(f"  {e}", markup=False)  # row values and headers are the user's text, not markup
    if len(errors) > limit:
        console.print(f"  …… 另有 {len(errors) - limit} 处问题，{more}")


def embedder(spec: str | None, precision: str | None = None):
    """The encoder to build an index with, at ``precision`` (default: JIAOBAN_ENCODER_PRECISION)."""
    from models.embeddings import load_embedder

    spec = encoder_spec(spec)
    if spec == DEFAULT_ENCODER_DIR and not Path(spec).is_dir():
        raise CliError(f"默认编码器 {spec} 尚未生成：请先运行 `jiaoban encoder-build`，或用 --encoder 指定模型目录、"
                       "--no-index 跳过检索索引")
    return load_embedder(spec, precision=precision or settings().encoder_precision)


def bundle_path(bundle: Path | None, models: Path | None) -> Path:
    return bundle or BundleStore(models_dir(models)).active_path()


def load_service(bundle: Path | None, models: Path | None, *, encoder: str | None = None,
                 departments: Path | None = None, with_search: bool = True) -> RoutingService:
    """The same service the API runs: today's registry, the configured review threshold, the bundle's index."""
    s = settings()
    return RoutingService.load(bundle_path(bundle, models), encoder=encoder_spec(encoder),
                               registry=registry(departments, required=False), options=s.service_options(),
                               encoder_threads=s.encoder_threads, with_search=with_search)
