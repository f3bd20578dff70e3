"""Training as a background job: export the closed cases from the store, run ``jiaoban train`` on them in a child
process (``api.child_jobs``), follow its ``[n/N]`` steps, and switch the service to the new version when asked and
the comparison allows. As the re-index job does, it passes the 并案 groups staff merged by hand in sessions as
``--duplicate-labels``, so the new version's 并案 threshold is calibrated on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from api.child_jobs import LABELS, ChildJobs
from api.jobs import JobError
from models import clock

KIND = "train_model"
STEP = re.compile(r"\[(\d+)/(\d+)\]")
MIN_CASES = 10


def step_of(line: str) -> tuple[int, int] | None:
    """``[2/5] ...``: step 2 of 5 has started, so one is done."""
    step = STEP.search(line)
    return (int(step[1]) - 1, int(step[2])) if step else None


@dataclass
class TrainingRequest:
    promote: bool = False
    min_test: int = 100
    tolerance: float = 0.005
    why: str = ""
    knn_blend: bool | None = None  # None: as `jiaoban train` decides (on when an encoder is configured)


class TrainingJobs(ChildJobs):
    """Queues training jobs and runs them (``run`` is the JobRunner's handler for ``train_model``)."""

    what = "训练"

    def submit(self, request: TrainingRequest, *, created_by: str) -> int:
        n = self.store.count_closed()
        if n < MIN_CASES:
            raise JobError(f"案件库中只有 {n} 件已办结案件，至少需要 {MIN_CASES} 件才能训练：请先导入或办结案件")
        return self._queue(KIND, asdict(request), total=5, created_by=created_by)

    def command(self, cases: Path, departments: Path, request: TrainingRequest, directory: Path,
                created_by: str) -> list[str]:
        s = self.settings
        cmd = [self.python, "-m", "training.cli", "train", str(cases), "--departments", str(departments),
               "--models-dir", str(s.models_dir), "--min-test", str(request.min_test),
               "--tolerance", str(request.tolerance), "--by", created_by, "--tag", "job",
               "--result-json", str(directory / "result.json")]
        cmd += [] if request.knn_blend is None else ["--knn-blend" if request.knn_blend else "--no-knn-blend"]
        if not s.encoder:
            return cmd + ["--no-index"]
        cmd += ["--encoder", s.encoder]
        if self.staff_labels(directory / LABELS):  # else the command keeps the threshold of the version in service
            cmd += ["--duplicate-labels", str(directory / LABELS)]
        return cmd

    def run(self, job: dict, stopping: Callable[[], bool]) -> str:
        request = TrainingRequest(**self._params(job["id"]))
        d = self.directory(job["id"])
        status, result = self._run_on_export(
            job, lambda cases, departments: self.command(cases, departments, request, d, job["created_by"]),
            step_of, stopping)
        if status == "done" and result is not None and request.promote:
            self._promote(job, request, result, d / "log.txt")
        return status

    def _promote(self, job: dict, request: TrainingRequest, result: dict, log: Path) -> None:
        decision = result["decision"]
        with open(log, "a", encoding="utf-8") as out:
            if decision["allowed"]:
                why = decision["reason"] + (f"；{request.why}" if request.why else "")
                self.models.promote(result["version"], by=job["created_by"], why=why)
                out.write(f"{clock.stamp()} 已上线 {result['version']}：{why}\n")
            else:
                out.write(f"{clock.stamp()} 未上线：{decision['reason']}\n")
