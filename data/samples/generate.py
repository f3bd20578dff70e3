"""Generate the SYNTHETIC sample data of the fictional city 江州市 (standard library only, fixed seed).

    .venv/bin/python data/samples/generate.py            # writes the four files next to this script
    .venv/bin/python data/samples/generate.py --seed 7 --out /tmp/x

Writes departments.json, closed_cases.csv (2021-2025, with lead/co-handling units and replies),
open_batch.csv (the 2026 session, no departments) and duplicate_labels.csv (which items are about the same matter, and
which of them the generator made as near-duplicates or follow-ups: the ground truth for the 并案 threshold).
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
    """(编号, 重复组, 关系) for every item that shares its matter with another item.

    A matter is one topic of the phrase banks (a specific problem, such as 四好农村路 or 店招店牌), and for a
    place-specific item also its district: items on the same matter are about the same problem, whoever wrote them
    and whatever the wording. 关系 says how the generator made the item: 并案 for near-duplicates written from the
    same plan by different proposers in one session, 重复 for follow-ups that quote an earlier session's reply, and
    同题 for every other item on the same matter. Training chooses the duplicate threshold on these groups.
    """
    def matter(row):
        plan = row["_plan"]
        return plan["topic"].lead, plan["topic"].key, plan["district"] if plan["local"] else None

    kind = {}
    for r in rows:
        if r.get("_repeat_of"):
            kind[r["编号"]] = kind[r["_repeat_of"]] = "重复"
    for r in rows:
        if r.get("_dup_of") is not None:
            kind.setdefault(r["编号"], "并案")
    groups = {}
    for r in rows:
        groups.setdefault(matter(r), []).append(r["编号"])
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members = sorted(members)
        for no in members:
            out.append({"编号": no, "重复组": f"G-{members[0]}", "关系": kind.get(no, "同题")})
    return sorted(out, key=lambda r: (r["重复组"], r["编号"]))


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
