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

from models.bundle import BundleError, read_meta
from models.duplicates import choose_duplicate_threshold
from models.knn_vote import index_vector_spec
from models.search import PrecedentIndex, SearchConfig


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
    result.update(target_precision=target_precision, groups=len(labelled), cases=sum(map(len, labelled)),
                  neighbours=neighbours,
                  same_median=float(np.median(same)),
                  different_median=float(np.median(different)) if different else None)
    return result


def saved_vector_spec(search: dict) -> dict:
    """``index_vector_spec`` of a saved index, from its manifest entry (``meta["search"]``)."""
    config, default = search.get("config") or {}, SearchConfig()
    return {"encoder": search.get("encoder_fingerprint"), **{k: config.get(k, getattr(default, k))
                                                            for k in ("dense_text", "lead_chars", "chunk_chars")}}


def set_duplicate_threshold(index: PrecedentIndex, groups: dict[str, str] | None, *, version: str,
                            previous: Path | None) -> dict:
    """Set the index's 并案 threshold: chosen on ``groups`` when given (and usable), else carried over from the
    version at ``previous`` when that one was calibrated on vectors of the same kind, else the default.

    A threshold is a cosine on one kind of vectors: another encoder or other text settings move every score, so a
    threshold chosen on them is not carried over. Returns where the threshold came from (``source``: calibrated,
    carried or default) with a one-line Chinese ``note`` for the command's output.
    """
    unusable = ""
    if groups:
        try:
            calibration = calibrate(index, groups)
        except ValueError as exc:
            unusable = f"重复件标注无法用于校准（{exc}）；"
        else:
            calibration["calibrated_in"] = version
            index.config.duplicate_threshold = calibration["threshold"]
            index.config.duplicate_calibration = calibration
            return {"source": "calibrated", "threshold": calibration["threshold"], "note": (
                f"并案阈值 {calibration['threshold']:.3f}：本次在 {calibration['groups']} 个标注重复组"
                f"（{calibration['cases']} 件案件）上校准；在各标注件最相似的 {calibration['neighbours']} 件中，"
                f"高于阈值的案件对 {calibration['precision']:.0%} 确属同一事项，覆盖这些近邻中同事项案件对的 "
                f"{calibration['recall']:.0%}")}
    carried, why = _previous_calibration(index, previous)
    if carried is not None:
        index.config.duplicate_threshold = carried["threshold"]
        index.config.duplicate_calibration = carried
        source, first = carried["carried_from"], carried["calibrated_in"]
        where = "" if first == source else f"最初在版本 {first} 上"
        return {"source": "carried", "threshold": carried["threshold"], "from": source, "note": (
            f"并案阈值 {carried['threshold']:.3f}：{unusable}沿用版本 {source} 的校准（{where}用 "
            f"{carried.get('groups', '?')} 个标注重复组选定；两版本的向量相同：编码器与文本设置一致）")}
    if index.config.duplicate_calibration:  # an index extended in place had one that does not apply
        index.config.duplicate_threshold = SearchConfig().duplicate_threshold
        index.config.duplicate_calibration = {}
    t = index.config.duplicate_threshold
    kind = "默认值" if t == SearchConfig().duplicate_threshold else "配置值"
    no_labels = "" if groups else "未提供重复件标注（--duplicate-labels），"
    return {"source": "default", "threshold": t,
            "note": f"并案阈值 {t:.3f}：{kind}，未校准（{unusable}{no_labels}{why}）"}


def _previous_calibration(index: PrecedentIndex, previous: Path | None) -> tuple[dict | None, str]:
    """The calibration of the version at ``previous`` marked as carried over, or None and why not (in Chinese)."""
    if previous is None:
        return None, "也没有可沿用其校准的上一版本"
    try:
        meta = read_meta(previous)
    except BundleError:
        return None, f"无法读取版本 {Path(previous).name}"
    name = meta.get("version") or Path(previous).name
    search = meta.get("search") or {}
    calibration = (search.get("config") or {}).get("duplicate_calibration") or {}
    if not calibration.get("threshold"):
        return None, f"版本 {name} 的并案阈值也未校准"
    if saved_vector_spec(search) != index_vector_spec(index):
        return None, (f"版本 {name} 的校准阈值是在另一种向量上选定的（编码器或文本设置不同），不能沿用；"
                      "请用 --duplicate-labels 重新校准")
    return {**calibration, "carried_from": name, "calibrated_in": calibration.get("calibrated_in", name)}, ""
