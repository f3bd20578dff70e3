"""A trained model is one directory with a manifest (meta.json); a store keeps versions and which one is active.

meta.json records the format version, library versions, the training data's hash and row count, the parameters,
the evaluation metrics and a SHA-256 checksum of every file. Loading verifies all of it before unpickling anything:
joblib files are pickles, so only files the manifest vouches for are loaded.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import platform
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import joblib

from models.atomic import write_json_atomic
from models.departments import DepartmentRegistry

if TYPE_CHECKING:
    from models.classifier import RoutingModel

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: the model carries its own segmenter (user words) and reads segmented docs
MODEL_FILE = "routing.joblib"
REGISTRY_FILE = "departments.json"
META_FILE = "meta.json"
SEARCH_DIR = "search"
STAGING_SUFFIX = ".partial"


class BundleError(RuntimeError):
    """A bundle that is missing, tampered with, or built by incompatible library versions."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    import jieba
    import numpy
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "jieba": jieba.__version__,
        "joblib": joblib.__version__,
    }


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@dataclass
class Bundle:
    path: Path
    meta: dict
    model: RoutingModel
    registry: DepartmentRegistry | None

    @property
    def version(self) -> str:
        return self.meta.get("version", self.path.name)

    def label_name(self, label: str) -> str:
        """Display name for a model label (a department id when the bundle has a registry)."""
        if self.registry is not None and label in self.registry:
            return self.registry.get(label).name
        return label


def save_bundle(
    out_dir: str | Path,
    *,
    model,
    registry: DepartmentRegistry | None,
    data: dict,
    params: dict,
    metrics: dict,
    user_words: list[str],
    extra: dict | None = None,
    attachments: dict[str, bytes] | None = None,
) -> Path:
    """Write a bundle directory atomically (to a temporary sibling, then renamed). Returns its path."""
    out = Path(out_dir)
    with staged(out) as tmp:
        tmp.mkdir(parents=True)
        joblib.dump(model, tmp / MODEL_FILE, compress=3)
        if registry is not None:
            registry.save(tmp / REGISTRY_FILE)
        for name, content in (attachments or {}).items():
            (tmp / name).write_bytes(content)
        _write_meta(tmp, _new_meta(out, data=data, params=params, metrics=metrics, user_words=user_words,
                                   extra=extra))
    logger.info("saved model bundle %s", out)
    return out


def _new_meta(out: Path, *, data: dict, params: dict, metrics: dict, user_words: list[str],
              extra: dict | None) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "version": out.name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "data": data,
        "params": params,
        "metrics": metrics,
        "user_words": user_words,
        **(extra or {}),
    }


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging directory beside ``out`` that becomes ``out`` only when everything in it was written: a full disk,
    a read-only folder or a killed process leaves no half-written version (the staging folder is removed, or,
    after a kill, ignored by :class:`BundleStore` and replaced by the next attempt)."""
    if out.exists():
        raise BundleError(f"模型目录 {out} 已存在：请换一个输出目录，或先删除它")
    tmp = out.with_name(out.name + STAGING_SUFFIX)
    with removed_on_failure(tmp, f"模型目录 {out.parent}"):
        if tmp.exists():
            shutil.rmtree(tmp)
        yield tmp
        tmp.rename(out)


@contextmanager
def removed_on_failure(path: Path, what: str) -> Iterator[None]:
    """``path`` (a version not yet in service, or its staging folder) is removed when what writes it fails; a
    file-system error becomes a BundleError that says what to check."""
    try:
        yield
    except OSError as exc:
        shutil.rmtree(path, ignore_errors=True)
        raise BundleError(f"无法写入{what}（{exc.strerror or exc}）：请检查磁盘空间和目录写权限"
                          "（JIAOBAN_MODELS_DIR 或 --models-dir），未生成任何新版本") from None
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def _checksums(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): sha256_file(p)
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != META_FILE
    }


def _write_meta(path: Path, meta: dict) -> None:
    meta["files"] = _checksums(path)
    write_json_atomic(path / META_FILE, meta, indent=2)


def derive_version(source: str | Path, target: str | Path, *, reason: str) -> Path:
    """A new version directory that starts as a verified copy of ``source`` (which is never changed), to be
    changed before it is promoted: versions are never edited in place once written."""
    source, target = Path(source), Path(target)
    meta = verify_bundle(source)
    with staged(target) as tmp:
        shutil.copytree(source, tmp)
        meta.update(version=target.name, derived_from={"version": meta.get("version", source.name), "reason": reason},
                    created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _write_meta(tmp, meta)
    return target


def attach_search_index(path: str | Path, index, files: dict[str, bytes] | None = None) -> dict:
    """Write a precedent-search index into ``path/search`` (and ``files`` into ``path``, e.g. rejected_rows.csv) and
    re-sign the manifest, verified first so that a tampered bundle is never re-signed. Returns the manifest."""
    path = Path(path)
    meta = verify_bundle(path)
    for name, content in (files or {}).items():
        (path / name).write_bytes(content)
    target = path / SEARCH_DIR
    staging = path / (SEARCH_DIR + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    index.save(staging)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    info = json.loads((target / "search.json").read_text(encoding="utf-8"))
    meta["search"] = {k: info[k] for k in ("encoder", "encoder_fingerprint", "size", "index_kind")}
    meta["search"]["encoder_path"] = info.get("encoder_path")
    meta["search"]["config"] = info["config"]
    meta["search"]["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _write_meta(path, meta)
    return meta


def index_encoder(meta: dict) -> str | None:
    """The encoder the bundle's search index was built with, when it can be had here: the hashing encoder of the
    recorded size, or the recorded encoder directory (e.g. one fine-tuned during training) when it exists; else None
    (use the configured encoder; loading checks its fingerprint against the one the index records)."""
    search = meta.get("search") or {}
    name = search.get("encoder") or ""
    if name.startswith("hashing-") and name.removeprefix("hashing-").isdigit():
        return "hashing:" + name.removeprefix("hashing-")
    recorded = search.get("encoder_path")
    return recorded if recorded and Path(recorded).is_dir() else None


def encoder_candidates(meta: dict, configured: str | None) -> list[str]:
    """Where the encoder of a bundle's index may be, best first: the one recorded (when it is here), a directory of
    the same name beside the configured encoder (a version and its encoder copied to another machine), then the
    configured encoder. Loading the index checks each by its fingerprint (a checksum of the encoder's files)."""
    out: list[str] = []
    recorded = index_encoder(meta)
    if recorded:
        out.append(recorded)
    path = (meta.get("search") or {}).get("encoder_path")
    if path and configured and not configured.startswith("hashing"):
        beside = Path(configured).parent / Path(path).name
        if beside.is_dir():
            out.append(str(beside))
    if configured:
        out.append(configured)
    return list(dict.fromkeys(out))


def load_search_index(bundle: Bundle, embedder):
    """The bundle's precedent-search index for ``embedder``, or None when the bundle has none."""
    from models.search import PrecedentIndex

    directory = bundle.path / SEARCH_DIR
    if not (directory / "search.json").is_file():
        return None
    return PrecedentIndex.load(directory, embedder, getattr(bundle.model, "segmenter", None))


def read_meta(path: str | Path) -> dict:
    path = Path(path)
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise BundleError(f"{path} 不是模型目录（没有 {META_FILE}）：请用 `jiaoban train` 训练一个")
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not JSON, or not UTF-8
        raise BundleError(f"模型 {path} 的 {META_FILE} 已损坏，无法读取：请从备份恢复该模型目录，或重新训练") from exc


def verify_bundle(path: str | Path) -> dict:
    """Check format version, library versions and every file's checksum; return the manifest.

    Raises:
        BundleError: with what is wrong and what to do.
    """
    path = Path(path)
    meta = read_meta(path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"模型 {path} 的格式版本为 {meta.get('format_version')}，本程序只能读取格式版本 {FORMAT_VERSION}："
            "请用当前版本的 `jiaoban train` 重新训练"
        )
    built = meta.get("libraries", {})
    here = library_versions()
    for lib in ("scikit-learn", "numpy"):
        if _major_minor(built.get(lib, "?")) != _major_minor(here[lib]):
            raise BundleError(
                f"模型 {path} 是用 {lib} {built.get(lib)} 训练的，本环境为 {lib} {here[lib]}："
                f"请用 `jiaoban train` 重新训练，或安装 {lib}=={built.get(lib)}"
            )
    files = meta.get("files") or {}
    if MODEL_FILE not in files:
        raise BundleError(f"模型 {path} 的清单中没有 {MODEL_FILE}，模型不完整：请用 `jiaoban train` 重新训练")
    unlisted = set(_checksums(path)) - set(files)
    if unlisted:
        raise BundleError(
            f"模型 {path} 中有清单 {META_FILE} 未登记的文件（{'、'.join(sorted(unlisted))}）："
            "请删除这些文件，或从备份恢复该模型目录"
        )
    for name, digest in files.items():
        f = path / name
        if not f.is_file():
            raise BundleError(f"模型 {path} 缺少文件 {name}：请从备份恢复该模型目录，或重新训练")
        if sha256_file(f) != digest:
            raise BundleError(
                f"模型 {path} 中的文件 {name} 校验和不符：训练后被改动过，已拒绝加载；"
                "请从备份恢复该模型目录，或用 `jiaoban train` 重新训练"
            )
    return meta


def load_bundle(path: str | Path) -> Bundle:
    """Verify, then load a bundle (its model carries the segmenter, user words included, that it was trained with)."""
    path = Path(path)
    meta = verify_bundle(path)
    model = joblib.load(path / MODEL_FILE)
    registry = DepartmentRegistry.load(path / REGISTRY_FILE) if (path / REGISTRY_FILE).is_file() else None
    return Bundle(path=path, meta=meta, model=model, registry=registry)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return ""


class BundleStore:
    """Versions under ``root/versions/``; ``root/ACTIVE`` names the one in service; ``root/history.jsonl`` logs it."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.versions_dir = self.root / "versions"

    def new_version_path(self, tag: str = "") -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{tag}" if tag else stamp
        path, n = self.versions_dir / name, 1
        while path.exists() or path.with_name(path.name + STAGING_SUFFIX).exists():
            n += 1
            path = self.versions_dir / f"{name}-{n}"
        return path

    def versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir()
                      if (p / META_FILE).is_file() and not p.name.endswith(STAGING_SUFFIX))

    def path(self, version: str) -> Path:
        p = self.versions_dir / version
        if not (p / META_FILE).is_file():
            raise BundleError(f"{self.versions_dir} 中没有模型版本“{version}”：可用 `jiaoban models` 查看已有版本")
        return p

    def active(self) -> str | None:
        f = self.root / "ACTIVE"
        return f.read_text(encoding="utf-8").strip() or None if f.is_file() else None

    def active_path(self) -> Path:
        version = self.active()
        if version is None:
            raise BundleError(f"{self.root} 中没有在用模型（ACTIVE 未指定版本）：请用 `jiaoban train 已办结案件.csv "
                              "--promote` 训练并上线，或用 `jiaoban promote 版本` 上线已有版本")
        return self.path(version)

    def history(self) -> list[dict]:
        f = self.root / "history.jsonl"
        if not f.is_file():
            return []
        return [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]

    def promote(self, version: str, *, reason: str = "promote", by: str = "", why: str = "") -> None:
        """Make ``version`` active; history.jsonl records when, who (``by``) and why."""
        verify_bundle(self.path(version))
        previous = self.active()
        tmp = self.root / "ACTIVE.tmp"
        try:
            tmp.write_text(version + "\n", encoding="utf-8")
            tmp.replace(self.root / "ACTIVE")
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BundleError(f"无法写入 {self.root / 'ACTIVE'}（{exc.strerror or exc}）：请检查磁盘空间和目录写权限；"
                              "在用模型未改变") from None
        entry = {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "action": reason,
            "version": version,
            "previous": previous,
            "by": by or _user(),
            "why": why,
        }
        with open(self.root / "history.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def rollback(self, *, by: str = "", why: str = "") -> str:
        """Re-activate the version that was active before the current one; history.jsonl records who and why."""
        current = self.active()
        for entry in reversed(self.history()):
            if entry["version"] == current and entry.get("previous"):
                self.promote(entry["previous"], reason="rollback", by=by, why=why)
                return entry["previous"]
        raise BundleError(f"无法回退：{self.root / 'history.jsonl'} 中没有记录更早的在用版本；"
                          "可用 `jiaoban promote 版本` 直接上线某个版本")
