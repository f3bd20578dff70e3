"""The report's charts as SVG images: drawn here, text rendered by the reader's browser with a CJK font.

Each chart is an ``<svg class="chart" data-chart=...>`` with a title, labelled axes (``class="axis-label"``) and
its data marks (``class="mark"``), so a test can check that none is empty or unlabelled.
"""

from __future__ import annotations

from html import escape

FONT = '"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei",sans-serif'
BLUE, ORANGE, GREY, RED = "#2f6db5", "#d9822b", "#9aa0a6", "#c62828"


class Plot:
    """A plot area with axes from 0 to 1 (or the given ranges) and helpers to place marks in data coordinates."""

    def __init__(self, name: str, title: str, xlabel: str, ylabel: str, *, width: int = 560, height: int = 380,
                 x: tuple[float, float] = (0.0, 1.0), y: tuple[float, float] = (0.0, 1.0), left: int = 70):
        self.name, self.title, self.w, self.h = name, title, width, height
        self.left, self.right, self.top, self.bottom = left, 20, 58, 56
        self.x0, self.x1, self.y0, self.y1 = *x, *y
        self.parts: list[str] = []
        self.xlabel, self.ylabel = xlabel, ylabel

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.w - self.left - self.right)

    def py(self, y: float) -> float:
        return self.h - self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.h - self.top - self.bottom)

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def text(self, x: float, y: float, s: str, *, size: int = 11, anchor: str = "start", colour: str = "#222",
             cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.add(f'<text{c} x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'fill="{colour}">{escape(s)}</text>')

    def grid(self, xticks: list[float] | None, yticks: list[float], fmt=lambda v: f"{v:.0%}") -> None:
        for t in yticks:
            y = self.py(t)
            self.add(f'<line x1="{self.left}" y1="{y:.1f}" x2="{self.w - self.right}" y2="{y:.1f}" stroke="#e3e3e3"/>')
            self.text(self.left - 6, y + 4, fmt(t), size=10, anchor="end", colour="#555")
        for t in xticks or []:
            x = self.px(t)
            self.text(x, self.h - self.bottom + 15, fmt(t), size=10, anchor="middle", colour="#555")

    def svg(self) -> str:
        axes = (f'<line x1="{self.left}" y1="{self.h - self.bottom}" x2="{self.w - self.right}" '
                f'y2="{self.h - self.bottom}" stroke="#333"/><line x1="{self.left}" y1="{self.top}" x2="{self.left}" '
                f'y2="{self.h - self.bottom}" stroke="#333"/>')
        cx, cy = (self.left + self.w - self.right) / 2, (self.top + self.h - self.bottom) / 2
        labels = (f'<text class="axis-label x" x="{cx:.0f}" y="{self.h - 14}" font-size="12" text-anchor="middle">'
                  f'{escape(self.xlabel)}</text><text class="axis-label y" x="16" y="{cy:.0f}" font-size="12" '
                  f'text-anchor="middle" transform="rotate(-90 16 {cy:.0f})">{escape(self.ylabel)}</text>')
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{self.name}" width="{self.w}" '
                f'height="{self.h}" viewBox="0 0 {self.w} {self.h}" font-family=\'{FONT}\' role="img">'
                f'<title>{escape(self.title)}</title><rect width="100%" height="100%" fill="#fff"/>'
                f'<text class="chart-title" x="{self.left}" y="22" font-size="14" font-weight="bold">'
                f'{escape(self.title)}</text>')
        return head + axes + "".join(self.parts) + labels + "</svg>"


def _legend(p: Plot, items: list[tuple[str, str]], *, row: float | None = None) -> None:
    """Stacked in the top right corner, or side by side along ``row`` (a y position)."""
    for i, (label, colour) in enumerate(items):
        x, y = (p.w - 140, p.top + 6 + i * 16) if row is None else (p.left + i * 90, row)
        p.add(f'<rect x="{x}" y="{y - 9}" width="12" height="10" fill="{colour}"/>')
        p.text(x + 16, y, label, size=11)


def metrics_chart(candidate: dict, active: dict | None) -> str:
    """Top-1, top-3 and macro-F1 of each model with 95 % intervals, side by side."""
    keys = [("top1", "首选准确率"), ("top3", "前三命中率"), ("macro_f1", "宏平均 F1")]
    sides = [("新模型", candidate, BLUE)] + ([("在用模型", active, ORANGE)] if active else [])
    lo = min([0.5] + [s["intervals"][k][0] for _, s, _ in sides for k, _ in keys])
    y0 = max(0.0, int((lo - 0.05) * 10) / 10)
    p = Plot("metrics", "主要指标（竖线为 95% 区间）", "指标", "数值", y=(y0, 1.0))
    p.grid(None, [round(y0 + i / 10, 1) for i in range(int(round((1 - y0) * 10)) + 1)])
    group = (p.w - p.left - p.right) / len(keys)
    bar = group / (len(sides) + 1)
    for g, (key, label) in enumerate(keys):
        gx = p.left + g * group + bar / 2
        p.text(gx + bar * len(sides) / 2, p.h - p.bottom + 15, label, anchor="middle")
        for i, (_, s, colour) in enumerate(sides):
            v, (a, b) = s["metrics"][key], s["intervals"][key]
            x = gx + i * bar
            p.add(f'<rect class="mark" x="{x:.1f}" y="{p.py(v):.1f}" width="{bar * 0.9:.1f}" '
                  f'height="{p.py(p.y0) - p.py(v):.1f}" fill="{colour}"/>')
            m = x + bar * 0.45
            p.add(f'<line x1="{m:.1f}" y1="{p.py(a):.1f}" x2="{m:.1f}" y2="{p.py(b):.1f}" stroke="#111" '
                  'stroke-width="1.5"/>')
            p.text(m, p.py(b) - 4, f"{v:.1%}", size=10, anchor="middle")
    _legend(p, [(n, c) for n, _, c in sides], row=40)
    return p.svg()


def coverage_chart(candidate: dict, active: dict | None, threshold: float) -> str:
    """Share auto-assigned against its precision as the review threshold moves; the in-service threshold marked."""
    p = Plot("coverage_precision", "自动交办比例与准确率（随复核阈值变化）",
             "自动交办比例（置信度不低于阈值的案件占比）",
             "自动交办部分的准确率", y=(0.5, 1.0))
    p.grid([0, 0.2, 0.4, 0.6, 0.8, 1.0], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    # The active model first, the candidate dashed over it: identical curves stay visible as two.
    for s, colour, dash in ([(active, ORANGE, "")] if active else []) + [(candidate, BLUE, "6 4" if active else "")]:
        pts = [(c["coverage"], c["precision"]) for c in s["curve"] if c["precision"] is not None]
        line = " ".join(f"{p.px(x):.1f},{p.py(max(0.5, y)):.1f}" for x, y in pts)
        p.add(f'<polyline class="mark" points="{line}" fill="none" stroke="{colour}" stroke-width="2.5" '
              f'stroke-dasharray="{dash}"/>')
    m = candidate["metrics"]
    cov, prec = m["coverage_at_threshold"], m["precision_at_threshold"]
    if prec == prec:  # not NaN: something is above the threshold
        x, y = p.px(cov), p.py(max(0.5, prec))
        p.add(f'<circle class="mark threshold" cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{RED}"/>')
        p.add(f'<line x1="{x:.1f}" y1="{p.top}" x2="{x:.1f}" y2="{p.h - p.bottom}" stroke="{RED}" '
              'stroke-dasharray="4 3"/>')
        p.text(x - 8 if cov > 0.6 else x + 8, y + 18, f"在用阈值 {threshold:.3f}：自动 {cov:.0%}，准确 {prec:.1%}",
               anchor="end" if cov > 0.6 else "start", colour=RED)
    else:
        p.text(p.px(0.02), p.py(0.53), f"在用阈值 {threshold:.3f}：检验案件中没有置信度达到它的，全部需人工复核",
               colour=RED)
    _legend(p, [("新模型", BLUE)] + ([("在用模型", ORANGE)] if active else []) + [("在用阈值", RED)], row=40)
    return p.svg()


def reliability_chart(candidate: dict) -> str:
    """Mean confidence against the share right per confidence bin; the diagonal is perfect calibration."""
    p = Plot("reliability", "可靠性图（置信度是否可信）", "模型给出的置信度", "实际正确率")
    p.grid([0, 0.2, 0.4, 0.6, 0.8, 1.0], [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    p.add(f'<line x1="{p.px(0)}" y1="{p.py(0)}" x2="{p.px(1)}" y2="{p.py(1)}" stroke="{GREY}" '
          'stroke-dasharray="5 4"/>')
    for b in candidate["reliability"]:
        if not b["n"]:
            continue
        x0, x1 = p.px(b["low"]) + 2, p.px(b["high"]) - 2
        y = p.py(b["accuracy"])
        p.add(f'<rect class="mark" x="{x0:.1f}" y="{y:.1f}" width="{x1 - x0:.1f}" height="{p.py(0) - y:.1f}" '
              f'fill="{BLUE}" fill-opacity="0.75"/>')
        p.text((x0 + x1) / 2, y - 4, f"{b['n']}件", size=9, anchor="middle", colour="#444")
    p.text(p.left, 44, "柱高：该置信度区间内实际答对的比例（柱顶为件数）；虚线：置信度与正确率一致", size=10,
           colour="#555")
    return p.svg()


def per_unit_chart(candidate: dict, limit: int = 15) -> str:
    """Precision and recall of the units that need attention most (lowest F1), with their test counts."""
    rows = candidate["per_label"][:limit]
    height = 58 + 26 * max(1, len(rows)) + 56
    p = Plot("per_unit", f"最需关注的 {len(rows)} 个单位（交办错误最多的在前）", "准确率 / 召回率",
             "单位（检验件数）", width=680, height=height, left=210)
    p.right = 150
    p.grid([0, 0.25, 0.5, 0.75, 1.0], [])
    step = (p.h - p.top - p.bottom) / max(1, len(rows))
    for i, r in enumerate(rows):
        y = p.top + i * step + 3
        p.text(p.left - 6, y + step / 2, f"{r['name'][:14]}（{r['support']}）", size=11, anchor="end")
        p.text(p.w - p.right + 34, y + step / 2, f"错 {r['missed'] + r['wrongly_suggested']} 件", size=10,
               colour="#555")
        for j, (key, colour) in enumerate((("precision", BLUE), ("recall", ORANGE))):
            w = p.px(r[key]) - p.left
            p.add(f'<rect class="mark" x="{p.left}" y="{y + j * (step - 6) / 2:.1f}" width="{max(w, 0.5):.1f}" '
                  f'height="{(step - 6) / 2 - 1:.1f}" fill="{colour}"/>')
            p.text(p.left + w + 4, y + j * (step - 6) / 2 + (step - 6) / 2 - 3, f"{r[key]:.0%}", size=9)
    _legend(p, [("准确率", BLUE), ("召回率", ORANGE)], row=40)
    return p.svg()


def all_charts(figures: dict) -> dict[str, str]:
    cand, act = figures["candidate"], figures.get("active")
    return {"metrics": metrics_chart(cand, act),
            "coverage_precision": coverage_chart(cand, act, figures["threshold"]["in_service"]),
            "reliability": reliability_chart(cand), "per_unit": per_unit_chart(cand)}
