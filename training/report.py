"""The evaluation report data staff read: one self-contained Chinese HTML page with its charts (training.charts),
drawn from the same figures that report.json holds and the command prints (training.figures)."""

from __future__ import annotations

from html import escape

from training.charts import all_charts

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em auto;
max-width:1000px;color:#222;line-height:1.55}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;
border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;
padding:4px 10px;text-align:right;vertical-align:top}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
td.text{text-align:left}.ok{color:#1a7f37}.bad{color:#c62828}.note{color:#555;font-size:.92em}
.warn{background:#fff4e5;border:1px solid #f0b25a;padding:.6em 1em;margin:1em 0}
.decision{padding:.6em 1em;border:1px solid #9ab;background:#f4f8fb}figure{margin:1em 0}
"""

METRIC_ROWS = [("top1", "首选准确率（第一建议即正确）"), ("top3", "前三命中率（正确单位在前三）"),
               ("macro_f1", "宏平均 F1（各单位一视同仁）")]
RATE_ROWS = [("coverage_at_threshold", "可自动交办比例（不低于复核阈值）"),
             ("precision_at_threshold", "自动交办部分的准确率"),
             ("ece", "校准误差 ECE（越小越好）")]


def pct(v) -> str:
    return "-" if v is None or v != v else f"{v:.1%}"


def _ci(ci) -> str:
    return f"{ci[0]:.1%}–{ci[1]:.1%}" if ci else "-"


def _signed_ci(ci) -> str:
    return f"{ci[0]:+.1%} 至 {ci[1]:+.1%}"


def _overall(f: dict) -> str:
    cand, act, cmp = f["candidate"], f.get("active"), f.get("comparison")
    head = "<tr><th>指标</th><th>新模型</th><th>95% 区间</th>"
    if act:
        head += f"<th>在用模型 {escape(act['version'] or '')}</th><th>95% 区间</th><th>差（新−在用）及 95% 区间</th>"
    rows = [head + "</tr>"]
    for key, label in METRIC_ROWS:
        cells = f"<td>{label}</td><td>{pct(cand['metrics'][key])}</td><td>{_ci(cand['intervals'][key])}</td>"
        if act and cmp:
            d = cmp["diff"][key]
            cls = "bad" if d["ci"][1] < 0 else "ok" if d["ci"][0] > 0 else ""
            cells += (f"<td>{pct(act['metrics'][key])}</td><td>{_ci(act['intervals'][key])}</td>"
                      f'<td class="{cls}">{d["value"]:+.1%}（{_signed_ci(d["ci"])}）</td>')
        rows.append(f"<tr>{cells}</tr>")
    for key, label in RATE_ROWS:
        cells = f"<td>{label}</td><td>{pct(cand['metrics'][key])}</td><td></td>"
        if act:
            cells += f"<td>{pct(act['metrics'][key])}</td><td></td><td></td>"
        rows.append(f"<tr>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _per_unit(cand: dict) -> str:
    rows = "".join(
        f"<tr><td>{escape(r['name'])}</td><td>{r['support']}</td><td>{pct(r['precision'])}</td>"
        f"<td>{pct(r['recall'])}</td><td>{pct(r['f1'])}</td><td>{r['missed']}</td><td>{r['wrongly_suggested']}</td>"
        "</tr>" for r in cand["per_label"])
    return ("<table><tr><th>单位（交办错误最多的在前）</th><th>检验件数</th><th>准确率</th><th>召回率</th><th>F1</th>"
            "<th>漏交（应交给它而未交）</th><th>误交（不该交给它）</th></tr>"
            f"{rows}</table>")


def _confused(cand: dict) -> str:
    if not cand["confused"]:
        return "<p>检验案件中没有交办错误。</p>"
    rows = "".join(
        f"<tr><td>{escape(p['truth_name'])}</td><td>{escape(p['predicted_name'])}</td><td>{p['count']}</td>"
        f'<td class="text">{"<br>".join(escape(t) for t in p["examples"])}</td></tr>' for p in cand["confused"])
    return ("<table><tr><th>应交办单位</th><th>模型建议的单位</th><th>件数</th><th>示例标题</th></tr>"
            f"{rows}</table>")


def _mapped(mapped: list[dict]) -> str:
    if not mapped:
        return "<p>本次数据中没有需按机构改革沿革换算的单位名称。</p>"
    rows = "".join(f"<tr><td>{escape(m['from'])}</td><td>{escape(m['to'])}</td><td>{m['cases']}</td>"
                   f"<td>{'、'.join(str(y) for y in m['years'])}</td></tr>" for m in mapped)
    return ("<p>下列单位已更名或并入其他单位，训练时按单位名录的沿革换算为现在承担其职责的单位：</p>"
            f"<table><tr><th>原单位</th><th>换算为</th><th>件数</th><th>年度</th></tr>{rows}</table>")


def _decision(d: dict) -> str:
    cls = "ok" if d.get("allowed") else "bad"
    asked = "（本次加了 --promote）" if d.get("requested") else "（本次未要求上线）"
    return f'<p class="decision"><b class="{cls}">上线判断：</b>{escape(d["reason"])}{asked}</p>'


def _promise(f: dict) -> str:
    """The threshold's certificate from the training data and what the checked cases showed."""
    th, promise = f["threshold"], f["candidate"]["metrics"].get("promise")
    parts = []
    if th.get("note"):
        parts.append(f'<div class="{"note" if th.get("certified", True) else "warn"}">{escape(th["note"])}</div>')
    if th.get("text_only"):
        parts.append(f'<p class="note">{escape(th["text_only"]["note"])}</p>')
    if promise:
        parts.append(f'<p class="note">{escape(promise["text"])}</p>')
    return "".join(parts)


def render_report(f: dict, *, title: str = "交办模型评估报告") -> str:
    """The whole report as one HTML string (charts inline as SVG)."""
    charts = all_charts(f)
    data, ev, th, cmp = f["data"], f["evaluation"], f["threshold"], f.get("comparison")
    warnings = "".join(f'<div class="warn">{escape(w)}</div>' for w in f["warnings"])
    mc = ""
    if cmp:
        m = cmp["mcnemar"]
        mc = (f"<p class=\"note\">配对检验（McNemar）：只有在用模型答对 {m['only_active_right']} 件，只有新模型答对 "
              f"{m['only_candidate_right']} 件，p = {m['p_value']:.3g}。区间为对案件重抽样 {cmp['resamples']} 次的 "
              "95% 自助法区间（两模型同一抽样）。</p>")
    source = "服务配置 JIAOBAN_REVIEW_THRESHOLD" if th["source"] == "setting" else "模型训练时按 95% 准确率选定"
    search = f.get("search")
    years = "、".join(str(y) for y in data.get("years", []))
    search_html = (f"<p>相似案例检索：编码器 {escape(search['encoder'])}，索引 {search['cases']} 件历史案件"
                   f"（向量化内容 {escape(search['dense_text'])}）。</p>" if search
                   else "<p>本版本未建立相似案例检索索引。</p>")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p class="note">模型版本 {escape(f['version'])}，生成于 {escape(f['created_at'])}。
训练数据：{escape(str(data.get('source', '')))}，可用 {data.get('rows', '')} 件（{years} 年），
未能使用 {data.get('rejected_rows', 0)} 件
（见 rejected_rows.csv）。</p>
{warnings}{_decision(f['decision'])}
<h2>检验方式</h2><p>{escape(ev['description'])}。共 {ev['n']} 件。</p>
<h2>总体效果</h2>{_overall(f)}{mc}
<figure>{charts['metrics']}</figure>
<h2>复核阈值与自动交办</h2>
<p>在用复核阈值 <b>{th['in_service']:.3f}</b>（{source}）：置信度低于它的案件标记为“需人工复核”。按这个阈值，
检验案件中 {pct(f['candidate']['metrics']['coverage_at_threshold'])} 可自动交办，其准确率
{pct(f['candidate']['metrics']['precision_at_threshold'])}。阈值越高，自动交办的案件越少、越准确。</p>
{_promise(f)}
<figure>{charts['coverage_precision']}</figure>
<h2>置信度是否可信</h2><p class="note">每一柱是一个置信度区间内的案件：柱高为实际正确率，越接近虚线越可信。</p>
<figure>{charts['reliability']}</figure>
<h2>各单位效果</h2><figure>{charts['per_unit']}</figure>{_per_unit(f['candidate'])}
<h2>最常混淆的单位</h2>{_confused(f['candidate'])}
<h2>机构改革换算</h2>{_mapped(f['mapped_labels'])}
<h2>编码器与索引</h2>{search_html}
<p class="note">本页的全部数字另存于同一版本目录的 report.json。</p>
</body></html>"""
