"""Regenerate the sample evaluation report in docs/sample-report/ (linked from the README).

A yearly cycle on the sample data, as data staff run it: the model in service was trained on 2021–2024; the
2025 cases close and ``jiaoban train`` is run on everything, its output going to a log file. The report, its
figures, the charts and the log are copied here, unchanged.

    .venv/bin/python benchmarks/sample_report.py            # about 5 minutes on two cores
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
OUT = ROOT / "docs" / "sample-report"


def years_subset(src: Path, dst: Path, years: set[str]) -> None:
    with open(src, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("年度")
    with open(dst, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([rows[0]] + [r for r in rows[1:] if r[col] in years])


def jiaoban(args: list[str], log: Path | None = None) -> None:
    cmd = [sys.executable, "-m", "training.cli", "train", *args]
    env = {**os.environ, "COLUMNS": "160"}  # a wide log: rich wraps at 80 columns off a terminal
    if log is None:
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, env=env)
    else:
        with open(log, "w", encoding="utf-8") as out:  # stdout to a file, as `jiaoban train … > log.txt`
            subprocess.run(cmd, check=True, cwd=ROOT, stdout=out, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="var/encoders/multilingual-e5-small")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        earlier = work / "closed_2021_2024.csv"
        years_subset(SAMPLES / "closed_cases.csv", earlier, {"2021", "2022", "2023", "2024"})
        common = ["--departments", str(SAMPLES / "departments.json"), "--models-dir", str(work / "models"),
                  "--encoder", args.encoder, "--by", "数据科"]
        jiaoban([str(earlier), *common, "--promote", "--tag", "2024"])
        OUT.mkdir(parents=True, exist_ok=True)
        log = OUT / "log.txt"
        jiaoban([str(SAMPLES / "closed_cases.csv"), *common, "--promote", "--tag", "2025"], log=log)
        versions = sorted((work / "models" / "versions").iterdir())
        new = versions[-1]
        for name in ("report.html", "report.json"):
            shutil.copy(new / name, OUT / name)
        html = (OUT / "report.html").read_text(encoding="utf-8")
        (OUT / "charts").mkdir(exist_ok=True)
        for svg in re.findall(r"<svg .*?</svg>", html, flags=re.S):
            name = re.search(r'data-chart="([a-z_]+)"', svg)[1]
            (OUT / "charts" / f"{name}.svg").write_text(svg, encoding="utf-8")
        # Temporary paths in the log mean nothing to a reader.
        text = log.read_text(encoding="utf-8").replace(str(work), "<临时目录>")
        log.write_text(text, encoding="utf-8")
    print(f"written: {OUT}")


if __name__ == "__main__":
    main()
