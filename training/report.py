"""A self-contained HTML evaluation report (Chinese, inline SVG charts) that data staff can open in a browser."""

from __future__ import annotations

import html
from collections.abc import Callable

from training.evaluate import EvalReport

_CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em auto;max-width:980px;
color:#222}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.ok{color:#1a7f37}.bad{color:#c62828}
.note{color:#555;font-size:.92em}
"""


def _pct(v) -> str:
    return "-" if v is None or v != v else f"{v:.1%}"


def _bars(rows: list[tuple[str, float]], *, width: int = 620, colour: str = "#3b78c2") -> str:
    """Horizontal bar chart of values in [0, 1]."""
    h = 20
    out = [f'<svg width="{width + 240}" height="{h * len(rows) + 10}" role="img">']
    for i, (label, value) in enumerate(rows):
        y = i * h + 5
        w = max(0.0, min(1.0, value)) * width
        out.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label[:16])}</text>')
        out.append(f'<rect x="200" y="{y}" width="{w:.1f}" height="{h - 6}" fill="{colour}"/>')
        out.append(f'<text x="{205 + w:.1f}" y="{y + 13}" font-size="11">{value:.0%}</text>')
    out.append("</svg>")
    return "".join(out)


def _curve(points: list[dict], size: int = 320) -> str:
    """Coverage (x) against precision (y) of auto-assignment at several confidence thresholds."""
    pts = [(p["coverage"], p["precision"], p["threshold"]) for p in points if p.get("precision") is not None]
    pad = 40
    out = [f'<svg width="{size + 2 * pad}" height="{size + 2 * pad}" role="img">',
           f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
           f'<text x="{pad + size / 2 - 40}" y="{size + 2 * pad - 8}" font-size="12">自动交办比例 →</text>',
           f'<text x="4" y="{pad - 10}" font-size="12">准确率（0.6–1.0）</text>']

    def xy(cov: float, prec: float) -> tuple[float, float]:
        return pad + cov * size, pad + size - max(0.0, (prec - 0.6) / 0.4) * size

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(c, p) for c, p, _ in pts))
    out.append(f'<polyline points="{path}" fill="none" stroke="#3b78c2" stroke-width="2"/>')
    for c, p, t in pts:
        x, y = xy(c, p)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#3b78c2"/>')
        out.append(f'<text x="{x + 5:.1f}" y="{y - 5:.1f}" font-size="10">≥{t:.0%}</text>')
    out.append("</svg>")
    return "".join(out)


def render_report(
    report: EvalReport,
    *,
    title: str,
    data_info: dict,
    comparison: dict | None = None,
    label_name: Callable[[str], str] = str,
) -> str:
    """The whole report as one HTML string."""
    m = report.metrics
    active = comparison or {}
    old = active.get("metrics")
    rows = [("首选准确率（第一建议即正确）", "top1"), ("前三命中率（正确单位在前三）", "top3"),
            ("宏平均 F1（各单位一视同仁）", "macro_f1"), ("可自动交办比例（高于复核阈值）", "coverage_at_threshold"),
            ("自动交办部分的准确率", "precision_at_threshold"), ("需人工复核比例", "needs_review_share")]
    head = "<tr><th>指标</th><th>新模型</th>" + (f"<th>在用模型 {html.escape(active['version'])}</th>"
                                                if old else "") + "</tr>"
    body = []
    for label, key in rows:
        cells = f"<td>{label}</td><td>{_pct(m.get(key))}</td>"
        if old:
            diff = (m.get(key) or 0) - (old.get(key) or 0)
            cls = "ok" if (diff >= 0) != (key == "needs_review_share") else "bad"
            cells += f'<td>{_pct(old.get(key))} <span class="{cls}">({diff:+.1%})</span></td>'
        body.append(f"<tr>{cells}</tr>")
    split = (f"按年度回测：用 {report.detail.get('test_year', '')} 年以前的案件训练，"
             f"在 {report.detail.get('test_year', '')} 年的 {m['n_test']} 件上检验"
             if report.split == "temporal" else f"{report.detail.get('folds', '')} 折交叉验证，共 {m['n_test']} 件")
    per = sorted(report.per_label, key=lambda r: (-r["support"], r["label"]))
    per_rows = "".join(
        f"<tr><td>{html.escape(label_name(r['label']))}</td><td>{r['support']}</td><td>{_pct(r['precision'])}</td>"
        f"<td>{_pct(r['recall'])}</td><td>{_pct(r['f1'])}</td></tr>" for r in per)
    weakest = sorted((r for r in per if r["support"] >= 3), key=lambda r: r["recall"])[:12]
    co = m.get("co_handlers")
    co_line = (f"<p>协办单位建议：准确率 {_pct(co['precision'])}，召回率 {_pct(co['recall'])}。</p>" if co else "")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="note">训练数据：{html.escape(str(data_info.get('source', '')))}，可用 {data_info.get('rows', '')} 件，
未能使用 {data_info.get('rejected_rows', 0)} 件（见 rejected_rows.csv）。{split}。</p>
<h2>总体效果</h2><table>{head}{''.join(body)}</table>
<p class="note">复核阈值 {m['threshold']:.0%}：置信度低于它的案件标记为“需人工复核”；阈值按“自动交办准确率不低于 95%”
在训练数据上选定，未使用检验年度的数据。</p>{co_line}
<h2>自动交办比例与准确率</h2><p class="note">阈值越高，自动交办的案件越少、越准确。</p>
{_curve(report.curve)}
<h2>最需关注的单位（召回率最低）</h2>
{_bars([(label_name(r['label']), r['recall']) for r in weakest], colour="#c2693b")}
<h2>各单位明细</h2>
<table><tr><th>单位</th><th>检验件数</th><th>准确率</th><th>召回率</th><th>F1</th></tr>{per_rows}</table>
</body></html>"""
