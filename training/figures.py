"""Every figure of an evaluation report as one JSON-able dict: the command prints it, report.html draws it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from training.compare import Comparison
from training.diagnostics import by_need, confused_pairs, reliability
from training.evaluate import EvalReport, Predictions, metrics_from, report_from
from training.stats import paired_comparison


def side(pred: Predictions, intervals: dict, name: Callable[[str], str]) -> dict:
    """One model's figures: metrics (with intervals), units sorted by need, curve, reliability, confused pairs."""
    rep = report_from(pred, "")
    per = [{**r, "name": name(r["label"])} for r in by_need(pred, rep.per_label)]
    confused = [{**p, "truth_name": name(p["truth"]), "predicted_name": name(p["predicted"])}
                for p in confused_pairs(pred)]
    return {"metrics": metrics_from(pred), "intervals": intervals, "per_label": per, "curve": rep.curve,
            "reliability": reliability(pred), "confused": confused}


def _intervals(stats: dict, which: str) -> dict:
    return {m: v["ci"] for m, v in stats[which].items()}


def build_figures(
    *,
    version: str,
    data: dict,
    backtest: EvalReport,
    comparison: Comparison | None,
    threshold: dict,
    decision: dict,
    mapped: list[dict],
    search: dict | None,
    notes: list[str],
    name: Callable[[str], str] = str,
    min_test: int = 100,
) -> dict:
    """The report's figures.

    Args:
        backtest: the candidate's evaluation (its predictions judged at the in-service threshold).
        threshold: {"in_service": the threshold the saved model is used with, "model": its own, "source": ...}.
        decision: training.stats.promotion_decision's answer, plus what was done.
    """
    pred = backtest.predictions
    assert pred is not None
    warnings = list(notes)
    if comparison is not None:
        stats = comparison.stats
        active_pred = comparison.active
    else:
        stats = paired_comparison(pred.truth, pred.ranked, pred.ranked)
        active_pred = None
    n = len(pred.truth)
    if n < min_test:
        warnings.insert(0, f"检验案件只有 {n} 件（少于 {min_test} 件）：各项指标的误差很大，不会自动上线")
    evaluation = {"mode": comparison.mode if comparison else backtest.split,
                  "description": comparison.description if comparison else _describe(backtest), "n": n,
                  "test_years": (comparison.detail.get("test_years") if comparison else
                                 [backtest.detail["test_year"]] if "test_year" in backtest.detail else []),
                  "case_ids": pred.ids}
    return {
        "version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": data,
        "evaluation": evaluation,
        "threshold": threshold,
        "candidate": side(pred, _intervals(stats, "candidate"), name),
        "active": (None if active_pred is None else
                   {"version": comparison.active_version if comparison else None,
                    **side(active_pred, _intervals(stats, "active"), name)}),
        "comparison": (None if comparison is None else
                       {"diff": stats["diff"], "mcnemar": stats["mcnemar"], "confidence": stats["confidence"],
                        "resamples": stats["resamples"]}),
        "decision": decision,
        "mapped_labels": mapped,
        "search": search,
        "warnings": warnings,
    }


def _describe(report: EvalReport) -> str:
    m = report.metrics
    if report.split == "temporal":
        year = report.detail.get("test_year", "")
        return (f"按年度回测：用 {year} 年以前的 {report.detail.get('n_train', '')} 件训练，"
                f"在 {year} 年的 {m['n_test']} 件上检验")
    return f"{report.detail.get('folds', '')} 折交叉验证（相似件同折），共 {m['n_test']} 件"
