"""Training as a background job: export the closed cases from the store, run ``jiaoban train`` on them in a child
process, follow its progress lines, and switch the service to the new version when asked and the comparison allows.

The service does not import the training package (imports flow nlp <- models <- {training, api}): the job runs the
same command data staff run (``python -m training.cli train``) and reads what it prints and writes. Its files live
under ``<models_dir>/jobs/<id>/``: params.json, log.txt (the command's timestamped lines), result.json; the exported
cases are removed when the command ends.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from api.bundles import ModelHolder
from api.casework import now_iso
from api.config import Settings
from api.jobs import JobError
from api.registry import RegistryHolder
from api.sessions_db import SessionStore
from api.store import Store
from models.casefile import write_cases
from models.records import CaseRecord

logger = logging.getLogger(__name__)

KIND = "train_model"
STEP = re.compile(r"\[(\d+)/(\d+)\]")
MIN_CASES = 10
POLL_S = 5.0  # seconds between checks for cancelling while the command is quiet


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


@dataclass
class TrainingRequest:
    promote: bool = False
    min_test: int = 100
    tolerance: float = 0.005
    why: str = ""


class TrainingJobs:
    """Queues training jobs and runs them (``run`` is the JobRunner's handler for ``train_model``)."""

    def __init__(self, store: Store, sdb: SessionStore, models: ModelHolder, registry: RegistryHolder,
                 settings: Settings, *, python: str = sys.executable):
        self.store, self.sdb, self.models, self.registry, self.settings = store, sdb, models, registry, settings
        self.python = python
        self.root = Path(settings.models_dir) / "jobs"

    def directory(self, job_id: int) -> Path:
        return self.root / str(job_id)

    def submit(self, request: TrainingRequest, *, created_by: str) -> int:
        n = len(self.store.closed_cases())
        if n < MIN_CASES:
            raise JobError(f"案件库中只有 {n} 件已办结案件，至少需要 {MIN_CASES} 件才能训练：请先导入或办结案件")
        job_id = self.sdb.create_job(kind=KIND, session_id=None, total=5, created_by=created_by, ready=False)
        d = self.directory(job_id)
        d.mkdir(parents=True, exist_ok=True)
        (d / "params.json").write_text(json.dumps(asdict(request), ensure_ascii=False), encoding="utf-8")
        self.sdb.job_ready(job_id)
        return job_id

    def state(self, job_id: int) -> dict:
        """What the job printed so far (its lines) and, when done, what it produced."""
        d = self.directory(job_id)
        log = (d / "log.txt").read_text(encoding="utf-8").splitlines() if (d / "log.txt").is_file() else []
        result = json.loads((d / "result.json").read_text(encoding="utf-8")) if (d / "result.json").is_file() else None
        return {"log": log[-200:], "result": result}

    def export(self, directory: Path) -> tuple[Path, Path, int]:
        """Closed cases with each unit under the name it had then (training maps it through the lineage, and the
        report lists what it mapped), and today's registry beside them."""
        reg = self.registry.registry
        records = []
        for i, c in enumerate(self.store.closed_cases(), start=2):
            def name(unit: str) -> str:
                return reg.get(unit).name if unit in reg else unit

            records.append(CaseRecord(
                row=i, case_no=c["case_no"] or f"#{c['id']}", kind=c["kind"], year=c["year"], title=c["title"],
                body=c["body"], proposer=c["proposer"], lead=name(c["lead_id"] or ""),
                co_handlers=[name(x) for x in c["co_ids"]], reply=c["reply"] or "", category=c["category"],
                feedback=c["feedback"]))
        cases = directory / "closed_cases.csv"
        n = write_cases(records, cases)
        departments = directory / "departments.json"
        reg.save(departments)
        return cases, departments, n

    def command(self, cases: Path, departments: Path, request: TrainingRequest, directory: Path,
                created_by: str) -> list[str]:
        s = self.settings
        cmd = [self.python, "-m", "training.cli", "train", str(cases), "--departments", str(departments),
               "--models-dir", str(s.models_dir), "--min-test", str(request.min_test),
               "--tolerance", str(request.tolerance), "--by", created_by, "--tag", "job",
               "--result-json", str(directory / "result.json")]
        return cmd + (["--encoder", s.encoder] if s.encoder else ["--no-index"])

    def run(self, job: dict, stopping: Callable[[], bool]) -> str:
        d = self.directory(job["id"])
        d.mkdir(parents=True, exist_ok=True)
        params = d / "params.json"
        request = TrainingRequest(**json.loads(params.read_text(encoding="utf-8"))) if params.is_file() \
            else TrainingRequest()
        cases, departments, n = self.export(d)
        logger.info("training job %s: %d closed cases exported", job["id"], n)
        log = d / "log.txt"
        (d / "result.json").unlink(missing_ok=True)
        try:
            status = self._follow(job, self.command(cases, departments, request, d, job["created_by"]), log, stopping)
        finally:
            cases.unlink(missing_ok=True)  # the proposals' texts stay in the store only
        if status != "done":
            return status
        result = json.loads((d / "result.json").read_text(encoding="utf-8"))
        if request.promote:
            self._promote(job, request, result, log)
        return "done"

    def _follow(self, job: dict, cmd: list[str], log: Path, stopping: Callable[[], bool]) -> str:
        """Run the command, copying its lines to the log and its ``[n/N]`` steps to the job; the job's heartbeat
        is refreshed while the command is quiet (a long fit), so no worker takes it for abandoned."""
        lines: queue.Queue[str | None] = queue.Queue()
        with open(log, "a", encoding="utf-8") as out, subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                errors="replace", bufsize=1) as proc:
            threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
            done, total = 0, int(job["total"])
            while True:
                try:
                    line = lines.get(timeout=POLL_S)
                except queue.Empty:
                    line = ""
                if line is None:
                    break
                if line:
                    out.write(line)
                    out.flush()
                    step = STEP.search(line)
                    if step:
                        done, total = int(step[1]) - 1, int(step[2])
                self.sdb.update_job(job["id"], done=done, total=total)  # progress and heartbeat
                current = self.sdb.get_job(job["id"])
                if stopping() or (current and current["cancel_requested"]):
                    proc.terminate()
                    proc.wait(30)
                    return "cancelled"
            code = proc.wait()
        if code != 0:
            printed = log.read_text(encoding="utf-8").strip().splitlines()
            raise JobError(f"训练未完成：{printed[-1] if printed else '训练进程异常退出'}（完整输出见任务日志）")
        self.sdb.update_job(job["id"], done=total, total=total)
        return "done"

    def _promote(self, job: dict, request: TrainingRequest, result: dict, log: Path) -> None:
        decision = result["decision"]
        with open(log, "a", encoding="utf-8") as out:
            if decision["allowed"]:
                why = decision["reason"] + (f"；{request.why}" if request.why else "")
                self.models.promote(result["version"], by=job["created_by"], why=why)
                out.write(f"{now_iso()} 已上线 {result['version']}：{why}\n")
            else:
                out.write(f"{now_iso()} 未上线：{decision['reason']}\n")
