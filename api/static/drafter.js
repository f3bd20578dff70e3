// 答复起草人员：我的待办（按期限排序）、类案检索（答复全文、以往承诺）、登记答复、申请退办。
"use strict";

let searchDept = null;
let todoCases = [];

onDepartments.push(() => {
  searchDept = unitPicker("", "全部单位");
  $("s-dept").replaceChildren(searchDept.node);
});

// 检索对象：类似的案件（按标题和正文），或答复过类似问题的答复（按答复正文）。
const searchTarget = (() => {
  const label = el("label", "检索 ", "inline");
  const select = el("select");
  select.id = "s-target";
  select.appendChild(new Option("类似的案件", "items"));
  select.appendChild(new Option("类似问题的答复", "replies"));
  label.appendChild(select);
  const button = $("search-form").querySelector("button[type=submit]");
  button.parentNode.insertBefore(label, button);
  return select;
})();

onSignIn.push(() => {
  const cat = $("s-category");
  cat.replaceChildren(new Option("全部", ""));
  for (const c of me.reply_categories) cat.appendChild(new Option(c + " 类", c));
  if (me.actions.includes("record_outcome")) loadTodo();
});
onTab.todo = () => loadTodo();

function daysLeft(due) {
  if (!due) return null;
  const ms = new Date(due + "T00:00:00") - new Date(localToday() + "T00:00:00");
  return Math.round(ms / 86400000);
}

let todoReminders = {};

async function loadTodo() {
  try {
    const [data, rem] = await Promise.all([api("/cases?status=assigned&limit=500"), api("/reminders")]);
    todoReminders = {};
    for (const r of rem.data) (todoReminders[r.case_id] = todoReminders[r.case_id] || []).push(r);
    todoCases = data.data.sort((a, b) => (a.due_on || "9999").localeCompare(b.due_on || "9999"));
    $("todo-title").textContent = "我的待办" + (me.unit ? "（" + me.unit.name + "）" : "") + "：" + todoCases.length + " 件";
    const tbody = document.querySelector("#todo-table tbody");
    tbody.textContent = "";
    for (const c of todoCases) tbody.appendChild(todoRow(c));
    if (!todoCases.length) tbody.appendChild(el("tr")).appendChild(el("td", "没有在办的件。", "muted")).colSpan = 7;
  } catch (err) {
    showMessage(err.message);
  }
}

function todoRow(c) {
  const tr = el("tr", null, "row");
  const left = daysLeft(c.due_on);
  tr.dataset.caseId = c.id;
  for (const text of [c.case_no || "#" + c.id, c.title, c.lead ? c.lead.name : "",
    c.co_handlers.map((x) => x && x.name).join("、"), c.assigned_on || "", c.due_on || ""]) {
    tr.appendChild(el("td", text));
  }
  const waiting = (todoReminders[c.id] || []).filter((r) => !r.acknowledged_at).length;
  if (waiting) tr.children[1].appendChild(el("span", "督办催办 " + waiting, "badge warn reminded"));
  tr.appendChild(el("td", left === null ? "" : left < 0 ? "已逾期 " + -left + " 天" : left + " 天",
    left !== null && left < 0 ? "warn" : left !== null && left <= 14 ? "soon" : ""));
  tr.addEventListener("click", () => toggleTodo(tr, c));
  return tr;
}

async function toggleTodo(tr, c) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("detail")) {
    next.remove();
    return;
  }
  const detail = el("tr", null, "detail");
  const td = el("td");
  td.colSpan = 7;
  detail.appendChild(td);
  tr.after(detail);
  const full = await api("/cases/" + c.id).catch((e) => showMessage(e.message));
  if (!full) return;
  const box = el("div", null, "detail-box");
  const text = el("div", null, "item-text");
  text.appendChild(el("h3", full.title));
  text.appendChild(el("p", full.body, "body-text"));
  if (full.proposer) text.appendChild(el("p", "提出人：" + full.proposer, "muted"));
  const side = el("div", null, "item-side");
  if ((todoReminders[c.id] || []).length) side.appendChild(remindersBox(c, tr));
  side.appendChild(replyForm(full));
  if (full.lead && (!me.unit || me.unit.id === full.lead.id)) side.appendChild(reassignForm(full));
  const prec = el("div", null, "precedents-box");
  side.appendChild(el("h4", "类案与以往答复"));
  side.appendChild(prec);
  box.append(text, side);
  td.replaceChildren(box);
  showPrecedents(prec, full.title + "\n" + full.body, full);
}

// 督查室的催办：内容、时间；主办单位确认已阅。
function remindersBox(c, tr) {
  const box = el("div", null, "reminders-box");
  box.appendChild(el("h4", "督办催办"));
  for (const r of todoReminders[c.id]) {
    const p = el("p", localStamp(r.sent_at) + " " + r.sent_by + "：" + r.note,
      r.acknowledged_at ? "muted" : "warn");
    if (!r.acknowledged_at && (!me.unit || (r.unit && me.unit.id === r.unit.id)) &&
        me.actions.includes("acknowledge_reminder")) {
      const b = el("button", "已阅", "ack");
      b.type = "button";
      b.addEventListener("click", () => busy(b, async () => {
        try {
          const done = await api("/reminders/" + r.id + "/acknowledge", { method: "POST" });
          Object.assign(r, done);
          p.className = "muted";
          b.remove();
          const left = todoReminders[c.id].filter((x) => !x.acknowledged_at).length;
          const badge = tr.querySelector(".reminded");
          if (badge && !left) badge.remove();
          else if (badge) badge.textContent = "督办催办 " + left;
        } catch (err) {
          showMessage(err.message);
        }
      }));
      p.appendChild(b);
    } else if (r.acknowledged_at) {
      p.appendChild(el("span", "（" + r.acknowledged_by + " 已阅）"));
    }
    box.appendChild(p);
  }
  return box;
}

function replyForm(c) {
  const form = el("form", null, "reply-form");
  form.appendChild(el("h4", "登记答复"));
  const reply = el("textarea");
  reply.rows = 6;
  reply.required = true;
  reply.placeholder = "答复正文";
  const cat = el("select");
  for (const x of me.reply_categories) cat.appendChild(new Option(x + " 类", x));
  const fb = el("select");
  for (const x of ["", "满意", "基本满意", "不满意"]) fb.appendChild(new Option(x || "（尚无反馈）", x));
  const closed = el("input");
  closed.type = "date";
  const save = el("button", "保存答复", "primary");
  save.type = "submit";
  const check = el("button", "核对答复（要点、类别、公开版本）", "check-reply");
  check.type = "button";
  const aidsBox = el("div", null, "reply-aids");
  check.addEventListener("click", () => busy(check, () =>
    showReplyAids(aidsBox, c, reply.value, cat.value, { canConfirm: me.actions.includes("record_outcome") })));
  const status = el("p", null, "ok");
  status.hidden = true;
  const l1 = el("label", "答复内容");
  l1.appendChild(reply);
  const l2 = el("label", "答复类别 ", "inline");
  l2.appendChild(cat);
  const l3 = el("label", "代表/委员反馈 ", "inline");
  l3.appendChild(fb);
  const l4 = el("label", "办结日期（填写即办结）", "inline");
  l4.appendChild(closed);
  form.append(l1, l2, l3, l4, save, check, status, aidsBox);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showMessage("");
    const body = { reply: reply.value.trim(), category: cat.value };
    if (fb.value) body.feedback = fb.value;
    if (closed.value) body.closed_on = closed.value;
    await busy(save, async () => {
      try {
        await api("/cases/" + c.id + "/outcome", { method: "POST", json: body });
        status.textContent = "已保存答复" + (closed.value ? "，该件已办结（" + closed.value + "）" : "（办理中）") + "。";
        status.hidden = false;
        if (closed.value) setTimeout(loadTodo, 800);
      } catch (err) {
        showMessage(err.message);
      }
    });
  });
  return form;
}

function reassignForm(c) {
  const form = el("form", null, "reassign-form");
  form.appendChild(el("h4", "申请退办（交办后 " + me.reassign_days + " 个工作日内）"));
  const reason = el("textarea");
  reason.rows = 2;
  reason.required = true;
  reason.placeholder = "为什么不属于本单位职责";
  const unit = unitPicker("", "建议改由哪个单位办理（可不填）");
  const send = el("button", "提交退办申请");
  send.type = "submit";
  const status = el("p", null, "ok");
  status.hidden = true;
  const l1 = el("label", "理由");
  l1.appendChild(reason);
  const l2 = el("label", "建议单位 ");
  l2.appendChild(unit.node);
  form.append(l1, l2, send, status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showMessage("");
    const body = { reason: reason.value.trim() };
    if (unit.value()) body.suggested_unit = unit.value();
    await busy(send, async () => {
      try {
        const r = await api("/cases/" + c.id + "/reassignment", { method: "POST", json: body });
        status.textContent = "已提交退办申请（第 " + r.id + " 号），等待交办部门审核。";
        status.hidden = false;
      } catch (err) {
        showMessage(err.message);
      }
    });
  });
  return form;
}

// ---- 类案检索 ----
async function runSearch(query, filters) {
  return api("/search", { method: "POST", json: Object.assign({ query, k: 10, full_reply: true }, filters) });
}

function precedentNode(p) {
  const div = el("div", null, "precedent");
  const terms = p.matched_terms || [];
  div.appendChild(el("strong")).appendChild(highlighted(p.title || "（无标题）", terms));
  const head = [p.year ? p.year + "年" : "", p.case_no, p.lead && p.lead.name ? "主办：" + p.lead.name : "",
    p.category ? p.category + "类答复" : "", p.feedback,
    p.similarity !== null && p.similarity !== undefined ? "语义相似度 " + pct(p.similarity) : ""].filter(Boolean).join(" · ");
  div.appendChild(el("p", head, "muted"));
  div.appendChild(el("p", null, "reason")).appendChild(highlighted(p.reply_excerpt || "", terms));
  const passage = p.passage;
  if (passage && passage.text) {
    const where = passage.field === "replies" ? "答复" : "正文";
    const line = el("p", null, "passage");
    line.appendChild(el("span", "匹配段落（" + where + "）：", "muted"));
    const text = (passage.start > 0 ? "……" : "") + passage.text + (passage.end < passage.length ? "……" : "");
    line.appendChild(highlighted(text, terms));
    div.appendChild(line);
  }
  if (terms.length) div.appendChild(el("p", "共同词语：" + terms.join("、"), "muted terms"));
  if (p.reply) {
    const more = el("details", null, "full-reply");
    more.appendChild(el("summary", "答复全文"));
    more.appendChild(el("p", null, "body-text")).appendChild(highlighted(p.reply, terms));
    div.appendChild(more);
  }
  return div;
}

async function showPrecedents(box, query, c) {
  box.textContent = "";
  try {
    const [all, promised] = await Promise.all([runSearch(query, {}), runSearch(query, { category: "B", k: 5 })]);
    if (!all.data.length) box.appendChild(el("p", "未找到相似的历史案件。", "muted"));
    for (const p of all.data.slice(0, 5)) box.appendChild(precedentNode(p));
    const b = promised.data.slice(0, 3);
    if (b.length) {
      box.appendChild(el("h4", "以往承诺（同类事项的 B 类答复：当时承诺正在办理或列入计划的，请核对是否兑现）"));
      for (const p of b) box.appendChild(precedentNode(p));
    }
  } catch (err) {
    box.appendChild(el("p", err.message, "errors"));
  }
}

$("search-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage("");
  const q = $("search-query").value.trim();
  if (!q) return;
  const filters = {};
  if ($("s-year").value) filters.year = Number($("s-year").value);
  if (searchDept && searchDept.value()) filters.department = searchDept.value();
  if ($("s-kind").value) filters.kind = $("s-kind").value;
  if ($("s-category").value) filters.category = $("s-category").value;
  if ($("s-feedback").value) filters.feedback = $("s-feedback").value;
  filters.target = searchTarget.value;
  const box = $("search-results");
  box.textContent = "";
  const button = ev.submitter || $("search-form").querySelector("button");
  await busy(button, async () => {
    try {
      const data = await runSearch(q, filters);
      const what = filters.target === "replies" ? "答复过类似问题的历史答复" : "相似的历史案件";
      box.appendChild(el("p", "找到 " + data.count + " 件" + what + "（共同词语已标出，每件附最匹配的段落）。", "muted"));
      for (const p of data.data) box.appendChild(precedentNode(p));
    } catch (err) {
      showMessage(err.message);
    }
  });
});
