"""Choose the near-duplicate (并案) threshold on labelled data instead of guessing it.

Cosine scores of e5-type encoders crowd into a narrow high band, so a fixed threshold means little. Given groups
of cases known to be about the same matter (staff merges, or the sample data's labels), the positives are pairs
within a group and the negatives are each case's nearest neighbours outside its group (hard negatives); the
threshold is the lowest cosine at which pairs above it are duplicates with the target precision.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.search import PrecedentIndex, choose_duplicate_threshold


def read_duplicate_groups(path: str | Path) -> dict[str, str]:
    """case number -> group id, from a CSV with columns 编号 and 重复组 (or case_no and group)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    no_col = "编号" if "编号" in rows[0] else "case_no"
    group_col = "重复组" if "重复组" in rows[0] else "group"
    return {r[no_col]: r[group_col] for r in rows if r.get(no_col) and r.get(group_col)}


def calibrate(index: PrecedentIndex, groups: dict[str, str], *, target_precision: float = 0.9,
              negatives_per_case: int = 3) -> dict:
    """Score labelled pairs with the index's own vectors and choose the threshold; returns its figures."""
    pos_of = {c["case_no"]: i for i, c in enumerate(index.cases) if c["case_no"]}
    members: dict[str, list[int]] = defaultdict(list)
    for case_no, group in groups.items():
        if case_no in pos_of:
            members[group].append(pos_of[case_no])
    labelled = [m for m in members.values() if len(m) >= 2]
    if not labelled:
        raise ValueError("没有可用的重复组标注：每组至少需要两件出现在索引中的案件")
    vecs = index.vectors
    same = [float(vecs[a] @ vecs[b]) for m in labelled for i, a in enumerate(m) for b in m[i + 1:]]
    group_of = {p: g for g, m in members.items() for p in m}
    different = []
    for m in labelled:
        for a in m:
            sims = vecs @ vecs[a]
            order = np.argsort(-sims)
            taken = 0
            for b in order:
                if b == a or (b in group_of and group_of[b] == group_of[a]):
                    continue
                different.append(float(sims[b]))
                taken += 1
                if taken >= negatives_per_case:
                    break
    result = choose_duplicate_threshold(np.array(same), np.array(different), target_precision)
    result.update(target_precision=target_precision, groups=len(labelled),
                  same_median=float(np.median(same)), different_median=float(np.median(different)))
    return result
