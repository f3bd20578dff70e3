"""Jobs that run a ``jiaoban`` command in a child process: training (``api.training_jobs``) and re-indexing
(``api.index_jobs``).

The service does not import the training package (imports flow nlp <- models <- {training, api}): such a job runs the
same command data staff run (``python -m training.cli ...``) on the store's closed cases, and reads what it prints and
writes. Its files live under ``<models_dir>/jobs/<id>/``: params.json, log.txt (the command's timestamped lines),
result.json, and duplicate_labels.csv when staff merged closed cases by hand in sessions (the command calibrates
the 并案 threshold on them); the exported cases are removed when the command ends. A cancelled job's command is
stopped with SIGTERM, on which the command removes the version it was writing.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from api.bundles import ModelHolder
from api.config import Settings
from api.jobs import JobError
from api.registry import RegistryHolder
from api.sessions_db import SessionStore
from api.store import Store
from models import clock
from models.atomic import write_json_atomic
from models.casefile import write_cases
from models.records import CaseRecord

logger = logging.getLogger(__name__)

POLL_S = 5.0  # seconds between checks for cancelling while the command is quiet
LABELS = "duplicate_labels.csv"  # the 并案 groups staff made by hand, as a job passes them to the command

# A line the command printed -> (done, total) when it tells the job's progress, else None.
Progress = Callable[[str], tuple[int, int] | None]


def export_case_no(case: dict) -> str:
    """A case's number in the export (its id where it has none), so labels of exported cases can name it."""
    return case["case_no"] or f"#{case['id']}"


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


class ChildJobs:
    """What a job kind that runs a ``jiaoban`` command shares: its directory, the export of the closed cases, and
    following the command (progress, heartbeat, cancel). ``what`` names the work in messages (训练, 重建索引)."""

    what = "任务"

    def __init__(self, store: Store, sdb: SessionStore, models: ModelHolder, registry: RegistryHolder,
                 settings: Settings, *, python: str = sys.executable):
        self.store, self.sdb, self.models, self.registry, self.settings = store, sdb, models, registry, settings
        self.python = python
        self.root = Path(settings.models_dir) / "jobs"

    def directory(self, job_id: int) -> Path:
        return self.root / str(job_id)

    def _queue(self, kind: str, params: dict, *, total: int, created_by: str) -> int:
        """A job whose parameters are written before any worker can take it."""
        job_id = self.sdb.create_job(kind=kind, session_id=None, total=total, created_by=created_by, ready=False)
        d = self.directory(job_id)
        d.mkdir(parents=True, exist_ok=True)
        (d / "params.json").write_text(json.dumps(params, ensure_ascii=False), encoding="utf-8")
        self.sdb.job_ready(job_id)
        return job_id

    def _params(self, job_id: int) -> dict:
        params = self.directory(job_id) / "params.json"
        return json.loads(params.read_text(encoding="utf-8")) if params.is_file() else {}

    def state(self, job_id: int) -> dict:
        """What the job printed so far (its lines) and, when done, what it produced."""
        d = self.directory(job_id)
        log = (d / "log.txt").read_text(encoding="utf-8").splitlines() if (d / "log.txt").is_file() else []
        result = json.loads((d / "result.json").read_text(encoding="utf-8")) if (d / "result.json").is_file() else None
        return {"log": log[-200:], "result": result}

    def _write_result(self, job_id: int, result: dict) -> None:
        write_json_atomic(self.directory(job_id) / "result.json", result)

    def export(self, directory: Path) -> tuple[Path, Path, int]:
        """Closed cases with each unit under the name it had then (training maps it through the lineage, and the
        report lists what it mapped), and today's registry beside them."""
        reg = self.registry.registry
        records = []
        for i, c in enumerate(self.store.closed_cases(), start=2):
            def name(unit: str) -> str:
                return reg.get(unit).name if unit in reg else unit

            records.append(CaseRecord(
                row=i, case_no=export_case_no(c), kind=c["kind"], year=c["year"], title=c["title"],
                body=c["body"], proposer=c["proposer"], lead=name(c["lead_id"] or ""),
                co_handlers=[name(x) for x in c["co_ids"]], reply=c["reply"] or "", category=c["category"],
                feedback=c["feedback"]))
        cases = directory / "closed_cases.csv"
        n = write_cases(records, cases)
        departments = directory / "departments.json"
        reg.save(departments)
        return cases, departments, n

    def staff_labels(self, path: Path) -> dict[str, int]:
        """Write the 并案 groups staff made by hand as duplicate labels (编号, 重复组) when they can calibrate the
        threshold (a group of two closed cases or more: what training.duplicates.calibrate needs); returns how many
        groups and cases were written (empty when none), and says so in the job's log."""
        groups = {g: {export_case_no(c) for c in cases} for g, cases in self.sdb.staff_groups().items()}
        groups = {g: nos for g, nos in groups.items() if len(nos) >= 2}
        with open(path.parent / "log.txt", "a", encoding="utf-8") as log:
            if not groups:
                log.write(f"{clock.stamp()} 并案阈值：会次中没有员工手动并案且已办结的案件组（至少两件一组），"
                          "不重新校准\n")
                return {}
            with open(path, "w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["编号", "重复组"])
                w.writerows([no, g] for g, nos in groups.items() for no in sorted(nos))
            counts = {"groups": len(groups), "cases": sum(map(len, groups.values()))}
            log.write(f"{clock.stamp()} 并案阈值：用员工在会次中手动并案的 {counts['groups']} 组"
                      f"（{counts['cases']} 件已办结案件）作为重复件标注重新校准\n")
        return counts

    def _run_on_export(self, job: dict, command: Callable[[Path, Path], list[str]], progress: Progress,
                       stopping: Callable[[], bool]) -> tuple[str, dict | None]:
        """Export the closed cases, run ``command(cases, departments)`` over them and follow it. Returns the final
        status and, when done, the result.json the command wrote."""
        d = self.directory(job["id"])
        d.mkdir(parents=True, exist_ok=True)
        cases, departments, n = self.export(d)
        logger.info("%s job %s: %d closed cases exported", job["kind"], job["id"], n)
        (d / "result.json").unlink(missing_ok=True)
        try:
            status = self._follow(job, command(cases, departments), d / "log.txt", stopping, progress)
        finally:
            cases.unlink(missing_ok=True)  # the proposals' texts stay in the store only
        if status != "done":
            return status, None
        return status, json.loads((d / "result.json").read_text(encoding="utf-8"))

    def _follow(self, job: dict, cmd: list[str], log: Path, stopping: Callable[[], bool], progress: Progress) -> str:
        """Run the command, copying its lines to the log and the progress they tell to the job; the job's heartbeat
        is refreshed while the command is quiet (a long fit), so no worker takes it for abandoned."""
        lines: queue.Queue[str | None] = queue.Queue()
        with open(log, "a", encoding="utf-8") as out, subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                errors="replace", bufsize=1, env=os.environ | {"COLUMNS": "240"}) as proc:  # a line a message
            threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
            done, total = int(job["done"]), int(job["total"])
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
                    done, total = progress(line) or (done, total)
                self.sdb.update_job(job["id"], done=done, total=total)  # progress and heartbeat
                current = self.sdb.get_job(job["id"])
                if stopping() or (current and current["cancel_requested"]):
                    proc.terminate()
                    proc.wait(30)
                    self._note_made_before_cancel(log)
                    return "cancelled"
            code = proc.wait()
        if code != 0:
            printed = log.read_text(encoding="utf-8").strip().splitlines()
            last = printed[-1] if printed else f"{self.what}进程异常退出"
            raise JobError(f"{self.what}未完成：{last}（完整输出见任务日志）")
        self.sdb.update_job(job["id"], done=total, total=total)
        return "done"

    @staticmethod
    def _note_made_before_cancel(log: Path) -> None:
        """A cancel that reaches the command after it finished leaves a complete version: say so in the log, so the
        list of versions does not hold one nobody knows about."""
        result = log.parent / "result.json"
        if not result.is_file():
            return
        version = json.loads(result.read_text(encoding="utf-8")).get("version")
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{clock.stamp()} 取消时命令已完成：新版本 {version} 已建好但未上线；"
                      f"需要时在模型列表中上线（jiaoban promote {version}）\n")
