"""The figures of a training report as the command prints them (the same numbers as report.html and report.json)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from training.cli.common import out
from training.report import pct


def _ci(ci) -> str:
    return f"{ci[0]:.1%}–{ci[1]:.1%}"


def print_figures(f: dict) -> None:
    cand, act, cmp = f["candidate"], f.get("active"), f.get("comparison")
    ev = f["evaluation"]
    out.print(f"检验方式：{ev['description']}（{ev['n']} 件）", markup=False)
    t = Table(title="评估结果（区间为 95% 自助法区间）")
    t.add_column("指标")
    t.add_column("新模型", justify="right")
    if act:
        t.add_column(f"在用 {act['version']}", justify="right")
        t.add_column("差（新−在用）", justify="right")
    for key, label in (("top1", "首选准确率 top-1"), ("top3", "前三命中率 top-3"), ("macro_f1", "宏平均 F1")):
        row = [label, f"{pct(cand['metrics'][key])}（{_ci(cand['intervals'][key])}）"]
        if act and cmp:
            d = cmp["diff"][key]
            row += [f"{pct(act['metrics'][key])}（{_ci(act['intervals'][key])}）",
                    f"{d['value']:+.1%}（{d['ci'][0]:+.1%} 至 {d['ci'][1]:+.1%}）"]
        t.add_row(*row)
    for key, label in (("coverage_at_threshold", "可自动交办比例"), ("precision_at_threshold", "自动交办准确率"),
                       ("ece", "校准误差 ECE")):
        row = [label, pct(cand["metrics"][key])]
        if act:
            row += [pct(act["metrics"][key]), ""]
        t.add_row(*row)
    # A log file gets every interval whole (rich would fit the table into 80 columns).
    (out if out.is_terminal else Console(width=170)).print(t)
    th = f["threshold"]
    out.print(f"在用复核阈值 {th['in_service']:.3f}（{'服务配置' if th['source'] == 'setting' else '本模型训练时选定'}）")
    if th.get("note"):
        out.print(th["note"], markup=False, style=None if th.get("certified", True) else "yellow")
    if th.get("text_only"):
        out.print(th["text_only"]["note"], markup=False)
    if cmp:
        m = cmp["mcnemar"]
        out.print(f"配对检验 McNemar：只有在用模型答对 {m['only_active_right']} 件，只有新模型答对 "
                  f"{m['only_candidate_right']} 件，p = {m['p_value']:.3g}")
    for m in f["mapped_labels"]:
        out.print(f"机构改革换算：{m['from']} → {m['to']}（{m['cases']} 件，{'、'.join(map(str, m['years']))} 年）",
                  markup=False)
    for w in f["warnings"]:
        out.print(f"注意：{w}", markup=False, style="yellow")
    out.print(f"上线判断：{f['decision']['reason']}", markup=False)
