"""Re-indexing as a background job: rebuild a model version's precedent index from the store's closed cases with
``jiaoban index`` in a child process (``api.child_jobs``), and switch the service to the new version when the one
re-indexed is in service.

As the command does, the result is a new version (the one indexed is never changed) whose vectors are reused for
unchanged texts; it keeps the encoder and text settings of the index it replaces. Its 并案 threshold is calibrated on
the groups staff merged by hand in sessions (passed as ``--duplicate-labels``) when some have two closed cases or
more, else the command carries over the threshold of the version re-indexed (same vectors). The switch is a
promotion, recorded in the store, so every replica follows it (``api.model_sync``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from api.child_jobs import LABELS, ChildJobs
from api.jobs import JobError
from models import clock
from models.bundle import index_encoder, read_meta

KIND = "reindex_model"
ENCODED = re.compile(r"向量编码 (\d+)/(\d+)")


def encoded_of(line: str) -> tuple[int, int] | None:
    """``向量编码 40/120``: 40 of the 120 texts to encode are encoded."""
    m = ENCODED.search(line)
    return (int(m[1]), int(m[2])) if m else None


class UnknownVersion(JobError):
    """The version asked for is not among the store's versions."""


class NoActiveModel(JobError):
    """No version was named and none is in service."""


@dataclass
class ReindexRequest:
    version: str | None = None  # None: the version in service
    promote: bool = True
    why: str = ""


class ReindexJobs(ChildJobs):
    """Queues re-indexing jobs and runs them (``run`` is the JobRunner's handler for ``reindex_model``)."""

    what = "重建索引"

    def submit(self, request: ReindexRequest, *, created_by: str) -> int:
        """Queue the job for the version named (or the one in service, resolved now). Raises UnknownVersion for a
        version that does not exist, NoActiveModel when none is named or in service, JobError when there is nothing
        to index."""
        store = self.models.store
        version = request.version or store.active()
        if version is None:
            raise NoActiveModel("没有在用模型，无法重建索引：请指定模型版本（字段“version”），或先训练并上线模型")
        if version not in store.versions():
            raise UnknownVersion(f"字段“version”：模型版本“{version}”不存在；已有版本见 GET /api/v1/models")
        n = self.store.count_closed()
        if n == 0:
            raise JobError("案件库中没有已办结案件，无法建立相似案例索引：请先导入或办结案件")
        return self._queue(KIND, asdict(ReindexRequest(version, request.promote, request.why)), total=n,
                           created_by=created_by)

    def command(self, cases: Path, departments: Path, version: str, directory: Path) -> list[str]:
        """``jiaoban index`` over the export, with the encoder and text settings of the version's index."""
        s, source = self.settings, self.models.store.path(version)
        meta = read_meta(source)
        config = (meta.get("search") or {}).get("config") or {}
        cmd = [self.python, "-m", "training.cli", "index", str(cases), "--bundle", str(source),
               "--departments", str(departments), "--models-dir", str(s.models_dir), "--no-promote",
               "--result-json", str(directory / "result.json")]
        encoder = index_encoder(meta) or s.encoder
        if encoder:
            cmd += ["--encoder", encoder]
        if config.get("dense_text"):
            cmd += ["--dense-text", config["dense_text"], "--lead-chars", str(config.get("lead_chars", 200))]
        if self.staff_labels(directory / LABELS):
            cmd += ["--duplicate-labels", str(directory / LABELS)]
        return cmd

    def run(self, job: dict, stopping: Callable[[], bool]) -> str:
        request = ReindexRequest(**self._params(job["id"]))
        if request.version is None:
            raise JobError("任务参数缺失：请重新发起重建索引")
        version, d = request.version, self.directory(job["id"])
        status, result = self._run_on_export(
            job, lambda cases, departments: self.command(cases, departments, version, d), encoded_of, stopping)
        if status == "done" and result is not None:
            self._publish(job, request, result, d / "log.txt")
        return status

    def _publish(self, job: dict, request: ReindexRequest, result: dict, log: Path) -> None:
        """The new version goes into service when the one re-indexed still is (a promotion every replica follows)."""
        with open(log, "a", encoding="utf-8") as out:
            if not request.promote:
                out.write(f"{clock.stamp()} 新版本 {result['version']} 未上线（未要求上线）\n")
            elif self.models.store.active() != request.version:
                out.write(f"{clock.stamp()} 新版本 {result['version']} 未上线：{request.version} 不是在用版本\n")
            else:
                why = f"重建相似案例索引：{result['size']} 件（新编码 {result['encoded']} 件）" + \
                      (f"；{request.why}" if request.why else "")
                self.models.promote(result["version"], by=job["created_by"], why=why)
                out.write(f"{clock.stamp()} 已上线 {result['version']}：{why}\n")
                self._write_result(job["id"], result | {"promoted": True})
