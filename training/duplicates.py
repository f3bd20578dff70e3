"""Choose the near-duplicate (并案) threshold on labelled data instead of guessing it.

Cosine scores of e5-type encoders crowd into a narrow high band, so a fixed threshold means little. Given groups
of cases known to be about the same matter (staff merges, or the sample data's labels), the candidate pairs are
each labelled case and its nearest neighbours (what a duplicate check looks at); those within a group are
duplicates, the rest are not, and the threshold is the lowest cosine at which candidates above it are duplicates
with the target precision.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.duplicates import choose_duplicate_threshold
from models.search import PrecedentIndex


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
              neighbours: int = 10) -> dict:
    """Score candidate pairs with the index's own vectors and choose the threshold; returns its figures.

    The candidate pairs are the ones a duplicate check looks at: each labelled case and its ``neighbours`` nearest
    cases. A pair is a duplicate when both cases are in the same group, and not one otherwise (a group is taken to
    hold every case about its matter, so an unlabelled neighbour is a different matter). The threshold is the
    lowest cosine at which candidate pairs above it are duplicates with ``target_precision``; recall is the share
    of the labelled duplicate pairs among the candidates that it keeps.
    """
    pos_of = {c["case_no"]: i for i, c in enumerate(index.cases) if c["case_no"]}
    members: dict[str, list[int]] = defaultdict(list)
    for case_no, group in groups.items():
        if case_no in pos_of:
            members[group].append(pos_of[case_no])
    labelled = [m for m in members.values() if len(m) >= 2]
    if not labelled:
        raise ValueError("没有可用的重复组标注：每组至少需要两件出现在索引中的案件")
    vecs = index.vectors
    group_of = {p: g for g, m in members.items() for p in m}
    seen: set[tuple[int, int]] = set()
    same: list[float] = []
    different: list[float] = []
    for m in labelled:
        for a in m:
            sims = vecs @ vecs[a]
            for b in np.argsort(-sims)[: neighbours + 1]:
                pair = (min(a, int(b)), max(a, int(b)))
                if b == a or pair in seen:
                    continue
                seen.add(pair)
                (same if group_of.get(int(b)) == group_of[a] else different).append(float(sims[b]))
    if not same:
        raise ValueError(f"标注的重复件互相都不在彼此最相似的 {neighbours} 件之内，无法据此选定阈值")
    result = choose_duplicate_threshold(np.array(same), np.array(different), target_precision)
    result.update(target_precision=target_precision, groups=len(labelled), neighbours=neighbours,
                  same_median=float(np.median(same)),
                  different_median=float(np.median(different)) if different else None)
    return result
