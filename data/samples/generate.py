"""Generate the SYNTHETIC sample data of the fictional city 江州市 (standard library only, fixed seed).

    .venv/bin/python data/samples/generate.py            # writes the four files next to this script
    .venv/bin/python data/samples/generate.py --seed 7 --out /tmp/x

Writes departments.json, closed_cases.csv (2021-2025, with lead/co-handling units and replies),
open_batch.csv (the 2026 session, no departments) and duplicate_labels.csv (which items the generator made as
near-duplicates or repeats of others: the ground truth for choosing the 并案 threshold).
Every person, place and case is invented; see README.md.
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


def duplicate_labels(rows):
    """(编号, 重复组, 关系) for every item the generator made as a near-duplicate or a repeat of another.

    关系 is 并案 for near-duplicates from different proposers in the same session and 重复 for follow-ups of an
    earlier session's case; a group holds the original and everything that duplicates or repeats it.
    """
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_obj = {}
    kind = {}
    for r in rows:
        if r.get("_dup_of") is not None:
            by_obj.setdefault(r["_dup_of"], []).append(r["编号"])
        if r.get("_repeat_of"):
            union(r["_repeat_of"], r["编号"])
            kind[r["编号"]] = kind[r["_repeat_of"]] = "重复"
    for members in by_obj.values():
        for m in members[1:]:
            union(members[0], m)
        for m in members:
            kind.setdefault(m, "并案")
    groups = {}
    for no in sorted({n for n in kind}):
        groups.setdefault(find(no), []).append(no)
    out = []
    for root, members in sorted(groups.items()):
        for no in members:
            out.append({"编号": no, "重复组": f"G-{root}", "关系": kind[no]})
    return out


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
    labels = duplicate_labels(closed + open_items)
    write_csv(args.out / "duplicate_labels.csv", labels, ["编号", "重复组", "关系"])
    print(f"departments: {len(UNITS)}  closed cases: {len(closed)}  open batch: {len(open_items)}  "
          f"duplicate labels: {len(labels)}  -> {args.out}")


if __name__ == "__main__":
    main()
