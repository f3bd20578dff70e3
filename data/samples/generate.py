"""Generate the SYNTHETIC sample data of the fictional city 江州市 (standard library only, fixed seed).

    .venv/bin/python data/samples/generate.py            # writes the four files next to this script
    .venv/bin/python data/samples/generate.py --seed 7 --out /tmp/x

Writes departments.json, closed_cases.csv (2021-2025, with lead/co-handling units and replies) and
open_batch.csv (the 2026 session, no departments). Every person, place and case is invented; see README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen.engine import SEED, Generator  # noqa: E402
from gen.units import UNITS  # noqa: E402

CLOSED_COLS = ["编号", "类型", "年度", "标题", "内容", "提案人", "主办单位", "协办单位", "交办日期", "答复内容",
               "答复类别", "满意度", "办结日期"]
OPEN_COLS = ["编号", "类型", "标题", "内容", "提案人"]


def write_csv(path, rows, cols):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] for c in cols])


def write_departments(path):
    keys = ["id", "name", "short_name", "aliases", "kind", "duties", "since", "until", "successor"]
    data = {"city": "江州市", "departments": [{k: u[k] for k in keys} for u in UNITS.values()]}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    closed, open_items = Generator(args.seed).run()
    args.out.mkdir(parents=True, exist_ok=True)
    write_departments(args.out / "departments.json")
    write_csv(args.out / "closed_cases.csv", closed, CLOSED_COLS)
    write_csv(args.out / "open_batch.csv", open_items, OPEN_COLS)
    print(f"departments: {len(UNITS)}  closed cases: {len(closed)}  open batch: {len(open_items)}  -> {args.out}")


if __name__ == "__main__":
    main()
