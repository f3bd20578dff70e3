// 答复辅助：要点是否都已回应、答复类别是否与内容一致、公开版本（隐去个人信息）。只是提示，可忽略（忽略会留记录）。
"use strict";

const FINDING_CLASS = "pii";
const AID_NAMES = { coverage: "要点核对", category: "类别核对", admissibility: "受理提示", redaction: "公开版本" };

// 正文中检出的个人信息标出（原文一栏）。
function markedText(text, findings) {
  const frag = document.createDocumentFragment();
  let pos = 0;
  for (const f of findings) {
    if (f.start < pos) continue;
    frag.appendChild(document.createTextNode(text.slice(pos, f.start)));
    const m = el("mark", text.slice(f.start, f.end), FINDING_CLASS);
    m.title = f.label;
    frag.appendChild(m);
    pos = f.end;
  }
  frag.appendChild(document.createTextNode(text.slice(pos)));
  return frag;
}

function dismissButton(caseId, aid, code, label) {
  const b = el("button", label || "忽略此提示", "dismiss");
  b.type = "button";
  b.addEventListener("click", () => busy(b, async () => {
    const note = window.prompt("忽略的理由（会留记录）", "") ;
    if (note === null) return;
    try {
      await api("/cases/" + caseId + "/aid-dismissals", { method: "POST", json: { aid, code, note } });
      b.replaceWith(el("span", "已忽略（已记录）", "muted"));
    } catch (err) {
      showMessage(err.message);
    }
  }));
  return b;
}

// 要点核对：每条建议是否在答复中得到回应。
function coverageNode(cov, caseId) {
  const box = el("div", null, "aid coverage-aid");
  const missing = cov.total - cov.answered;
  box.appendChild(el("h5", "要点核对：答复回应了 " + cov.answered + " / " + cov.total + " 条建议" +
    (missing ? "，" + missing + " 条未找到对应内容（请核对：对改写较多的答复，多数其实已回应）" : ""), missing ? "warn" : "ok"));
  const list = el("ol", null, "points");
  for (const p of cov.points) {
    const li = el("li", null, p.answered ? "point answered" : "point unanswered");
    li.appendChild(el("span", p.answered ? "✓ 已回应" : "？未找到对应内容，请核对", "point-mark"));
    li.appendChild(el("span", " " + p.text));
    if (p.answered && p.paragraph !== null && cov.paragraphs[p.paragraph]) {
      li.appendChild(el("div", "对应答复：" + cov.paragraphs[p.paragraph].text.slice(0, 60), "muted"));
    }
    list.appendChild(li);
  }
  box.appendChild(list);
  if (missing && caseId) box.appendChild(dismissButton(caseId, "coverage", "unanswered", "这些要点无需逐条回应（忽略）"));
  return box;
}

// 类别核对：答复内容与所选类别是否一致，附起决定作用的词语。
function categoryNode(cat, caseId) {
  const box = el("div", null, "aid category-aid");
  if (!cat.flagged) {
    box.appendChild(el("h5", "类别核对：所选 " + cat.given + " 类（" + (cat.meanings[cat.given] || "") + "）与答复内容一致", "ok"));
    return box;
  }
  box.appendChild(el("h5", "类别核对：请复核答复类别", "warn"));
  box.appendChild(el("p", cat.reason, "warn category-reason"));
  if (caseId) box.appendChild(dismissButton(caseId, "category", "category_" + cat.given + "_" + cat.predicted, "仍按所选类别（忽略）"));
  return box;
}

// 公开版本：原文（个人信息标出）与隐去后的版本并排，起草人员核对、可改，再确认。
function publicationNode(c, replyText, red, canConfirm) {
  const box = el("div", null, "aid publication-aid");
  box.appendChild(el("h5", red.count ? "公开版本：检出 " + red.count + " 处个人信息（" +
    [...new Set(red.findings.map((f) => f.label))].join("、") + "），已隐去" : "公开版本：未检出个人信息", red.count ? "warn" : "ok"));
  const pair = el("div", null, "side-by-side");
  const left = el("div", null, "original");
  left.appendChild(el("div", "原文", "muted"));
  left.appendChild(el("p", null, "body-text")).appendChild(markedText(replyText, red.findings));
  const right = el("div", null, "masked");
  right.appendChild(el("div", "公开版本（可修改）", "muted"));
  const area = el("textarea", null, "masked-reply");
  area.rows = Math.max(6, red.masked.split("\n").length + 2);
  area.value = red.masked;
  right.appendChild(area);
  pair.append(left, right);
  box.appendChild(pair);
  if (canConfirm) {
    const ok = el("button", "确认公开版本", "confirm-publication");
    ok.type = "button";
    const status = el("p", null, "ok");
    status.hidden = true;
    ok.addEventListener("click", () => busy(ok, async () => {
      showMessage("");
      try {
        const r = await api("/cases/" + c.id + "/publication", { method: "POST",
          json: { title: c.title, reply: area.value.trim() } });
        status.textContent = "已确认公开版本（第 " + r.id + " 号）" +
          (r.remaining.length ? "；注意：仍检出" + r.remaining.join("、") : "") + "。";
        status.hidden = false;
      } catch (err) {
        showMessage(err.message);
      }
    }));
    box.append(ok, status);
  }
  return box;
}

// 一件的全部提示（答复草稿 reply 与所选类别 category），放进 box。
async function showReplyAids(box, c, reply, category, opts = {}) {
  box.textContent = "";
  if (!reply.trim()) {
    box.appendChild(el("p", "请先填写答复内容。", "muted"));
    return;
  }
  try {
    const r = await api("/aids/reply-check", { method: "POST", json: { body: c.body || "", reply, category } });
    box.appendChild(coverageNode(r.coverage, c.id));
    if (r.category) box.appendChild(categoryNode(r.category, c.id));
    box.appendChild(publicationNode(c, reply, r.reply_redaction, opts.canConfirm));
    const inBody = r.body_redaction;
    if (inBody.count) {
      box.appendChild(el("p", "建议正文中也检出 " + inBody.count + " 处个人信息（" +
        [...new Set(inBody.findings.map((f) => f.label))].join("、") + "），公开建议摘要时请一并隐去。", "warn body-pii"));
    }
  } catch (err) {
    box.appendChild(el("p", err.message, "errors"));
  }
}

// 督查室复核办结件：该件最近一次答复的提示（只读）。
async function showCaseAids(box, caseId) {
  box.textContent = "正在核对…";
  try {
    const r = await api("/cases/" + caseId + "/aids");
    box.textContent = "";
    if (r.outcome_id === null) {
      box.appendChild(el("p", "该件尚未登记答复。", "muted"));
      return;
    }
    box.appendChild(coverageNode(r.coverage, null));
    if (r.category) box.appendChild(categoryNode(r.category, null));
    for (const f of r.admissibility) box.appendChild(el("p", "受理提示：" + f.reason, "warn"));
    for (const d of r.dismissals) {
      box.appendChild(el("p", "已忽略的提示：" + (AID_NAMES[d.aid] || d.aid) + "（" + d.dismissed_by + "，" + localStamp(d.dismissed_at).slice(0, 10) +
        (d.note ? "：" + d.note : "") + "）", "muted"));
    }
    box.appendChild(el("p", r.publications.length ? "公开版本已确认（" + r.publications[0].confirmed_by + "）" : "尚未确认公开版本", "muted"));
  } catch (err) {
    box.textContent = "";
    box.appendChild(el("p", err.message, "errors"));
  }
}

// ---- 忽略记录（督查室）：所有被忽略的提示，可按主办单位和辅助筛选 ----
const DISMISSED_CODES = { unanswered: "要点未找到对应内容", category: "类别与内容不一致", multi_matter: "一事多议" };
let dismissalUnit = null;
onDepartments.push(() => {
  dismissalUnit = unitPicker("", "全部单位");
  $("dm-unit").replaceChildren(dismissalUnit.node);
});
onTab.dismissals = () => loadDismissals();
$("dm-refresh").addEventListener("click", () => loadDismissals());

async function loadDismissals() {
  const q = new URLSearchParams();
  if (dismissalUnit && dismissalUnit.value()) q.set("unit", dismissalUnit.value());
  if ($("dm-aid").value) q.set("aid", $("dm-aid").value);
  try {
    const out = await api("/aids/dismissals?" + q.toString());
    const tbody = document.querySelector("#dismissals-table tbody");
    tbody.textContent = "";
    for (const d of out.data) {
      const tr = el("tr");
      for (const v of [d.case_no || (d.case_id ? "#" + d.case_id : ""), d.title || "", d.lead ? d.lead.name : "",
        AID_NAMES[d.aid] || d.aid, DISMISSED_CODES[d.code] || d.code, d.dismissed_by,
        localStamp(d.dismissed_at), d.note || "（未填理由）"]) tr.appendChild(el("td", v));
      tbody.appendChild(tr);
    }
    $("dm-count").textContent = "共 " + out.count + " 条忽略记录（工作人员认为提示不适用而忽略，记下是谁、何时、为何忽略）。";
  } catch (err) {
    showMessage(err.message);
  }
}
