// 单条交办建议：粘贴一件建议或提案，看建议的主办、协办与相似历史案件，采纳或改派。
// 一次分析只登记一个案件：第一次交办时登记（带 Idempotency-Key，重发不重复登记），之后的点击只更新交办决定。
"use strict";

let lastRouted = null; // {title, body, kind, result, caseId, requestId}
let singleLead = null;
let singleCo = null;

onDepartments.push(() => {
  singleLead = unitPicker("", "改派给…");
  singleCo = unitsPicker([]);
  $("override-lead").replaceChildren(singleLead.node);
  $("override-co").replaceChildren(singleCo.node);
});

$("route-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage("");
  const item = { title: $("title").value.trim(), body: $("body").value.trim(), kind: $("kind").value };
  const button = ev.submitter || $("route-form").querySelector("button");
  await busy(button, async () => {
    try {
      const result = await api("/route", { method: "POST", json: item });
      lastRouted = Object.assign({ result, caseId: null, requestId: newRequestId() }, item);
      renderSingle(result);
    } catch (err) {
      showMessage(err.message);
    }
  });
});

function renderSingle(r) {
  $("single-result").hidden = false;
  $("decision-result").hidden = true;
  const flag = $("review-flag");
  const notes = [];
  if (r.needs_review) notes.push("需人工复核：" + r.review_reason);
  if (r.repeat_of) {
    notes.push("可能与往年案件是同一事项：" + r.repeat_of.year + "年 " + r.repeat_of.case_no + "《" + r.repeat_of.title +
      "》（相似度 " + pct(r.repeat_of.similarity) + "），请核对是否重复提出，可参照原答复");
  }
  flag.hidden = notes.length === 0;
  flag.textContent = notes.join("；");
  const list = $("lead-list");
  list.textContent = "";
  for (const s of r.lead) {
    const li = el("li");
    li.appendChild(el("strong", s.name));
    li.appendChild(bar(s.probability));
    li.appendChild(el("span", pct(s.probability)));
    if (s.reason) li.appendChild(el("p", s.reason, "reason"));
    list.appendChild(li);
  }
  $("co-list").textContent = r.co_handlers.length ? r.co_handlers.map((c) => c.name).join("、") : "无";
  $("model-version").textContent = r.model_version;
  if (singleLead) singleLead.set(r.lead[0].id);
  if (singleCo) singleCo.set(r.co_handlers.map((c) => c.id));
  renderPrecedents($("precedents"), r);
}

function renderPrecedents(box, r) {
  box.textContent = "";
  if (!r.precedents_available) {
    box.appendChild(el("p", "类案检索尚未启用（尚未建立历史案件索引）。", "muted"));
    return;
  }
  if (!r.precedents || !r.precedents.length) {
    box.appendChild(el("p", "未找到相似的历史案件。", "muted"));
    return;
  }
  for (const p of r.precedents) {
    const div = el("div", null, "precedent");
    const dept = p.lead && p.lead.name ? "主办：" + p.lead.name : "";
    const co = (p.co_handlers || []).map((c) => c.name).join("、");
    const head = [p.year ? p.year + "年" : "", p.case_no, dept, co ? "协办：" + co : "",
      p.category ? p.category + "类答复" : "", p.feedback].filter(Boolean).join(" · ");
    div.appendChild(el("strong", p.title || "（无标题）"));
    div.appendChild(el("p", head, "muted"));
    const reply = p.reply || p.reply_excerpt || "";
    if (reply) div.appendChild(el("p", "答复：" + reply, "reason"));
    if (p.matched_terms && p.matched_terms.length) {
      div.appendChild(el("p", "共同词语：" + p.matched_terms.join("、"), "muted"));
    }
    box.appendChild(div);
  }
}

async function decideSingle(lead, coHandlers) {
  showMessage("");
  if (!lastRouted) return;
  const decidedBy = $("decided-by").value.trim();
  await busy([$("accept-btn"), $("override-btn")], async () => {
    try {
      if (lastRouted.caseId === null) {
        const created = await api("/cases", {
          method: "POST", headers: { "Idempotency-Key": lastRouted.requestId },
          json: { title: lastRouted.title || lastRouted.body.slice(0, 30), body: lastRouted.body, kind: lastRouted.kind },
        });
        lastRouted.caseId = created.id;
      }
      const body = { lead, co_handlers: coHandlers };
      if (decidedBy) body.decided_by = decidedBy;
      const d = await api("/cases/" + lastRouted.caseId + "/decision", { method: "POST", json: body });
      const box = $("decision-result");
      const co = d.co_handlers.map((c) => c.name).join("、") || "无";
      box.textContent = "案件 " + lastRouted.caseId + "：主办 " + d.lead.name + "，协办 " + co +
        (d.accepted ? "（采纳建议）" : "（改派）") + "，答复期限 " + d.due_on + (d.unchanged ? "（与已有决定相同，未重复记录）" : "");
      box.hidden = false;
    } catch (err) {
      showMessage(err.message);
    }
  });
}

$("accept-btn").addEventListener("click", () => {
  const r = lastRouted.result;
  decideSingle(r.lead[0].id, r.co_handlers.map((c) => c.id));
});
$("override-btn").addEventListener("click", () => {
  if (!singleLead.value()) {
    showMessage("请先选择改派的主办单位");
    return;
  }
  decideSingle(singleLead.value(), singleCo.value());
});
