// 交办助手网页：调用 /api/v1 接口。不依赖任何外部资源；所有数据以 textContent 写入页面。
"use strict";

const API = "/api/v1";
const KEY_NAME = "jiaoban_api_key";
let departments = [];
let lastRouted = null; // {title, body, kind, result}

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function pct(p) {
  return Math.round(p * 100) + "%";
}

function showMessage(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

// ---- API 密钥 ----
function getKey() {
  return sessionStorage.getItem(KEY_NAME);
}

function askKey() {
  $("key-panel").hidden = false;
  $("key-input").focus();
}

function updateKeyLabel() {
  $("key-label").textContent = getKey() ? "已设置密钥" : "未设置密钥";
}

$("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY_NAME, $("key-input").value.trim());
  $("key-input").value = "";
  $("key-panel").hidden = true;
  updateKeyLabel();
  showMessage("");
  loadDepartments();
});
$("key-change").addEventListener("click", askKey);

async function api(path, options = {}) {
  const key = getKey();
  if (!key) {
    askKey();
    throw new Error("请先输入 API 密钥");
  }
  const headers = Object.assign({ "X-API-Key": key }, options.headers || {});
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  const resp = await fetch(API + path, { method: options.method || "GET", headers, body: options.body });
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) {
    if (resp.status === 401) {
      sessionStorage.removeItem(KEY_NAME);
      updateKeyLabel();
      askKey();
    }
    const message = data && data.error ? data.error.message : "请求失败（HTTP " + resp.status + "）";
    throw new Error(message);
  }
  return data;
}

async function loadDepartments() {
  try {
    const data = await api("/departments?include_inactive=false");
    departments = data.data;
    fillDeptSelect($("override-lead"), false);
    fillDeptSelect($("override-co"), false);
  } catch (err) {
    showMessage(err.message);
  }
}

function fillDeptSelect(select, withEmpty) {
  select.textContent = "";
  if (withEmpty) select.appendChild(el("option", "改派给…")).value = "";
  for (const d of departments) {
    const opt = el("option", d.name);
    opt.value = d.id;
    select.appendChild(opt);
  }
}

// ---- 标签页 ----
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
    $("tab-single").hidden = tab.dataset.tab !== "single";
    $("tab-batch").hidden = tab.dataset.tab !== "batch";
  });
}

// ---- 单条 ----
$("route-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage("");
  const item = { title: $("title").value.trim(), body: $("body").value.trim(), kind: $("kind").value };
  try {
    const result = await api("/route", { method: "POST", json: item });
    lastRouted = Object.assign({ result }, item);
    renderSingle(result);
  } catch (err) {
    showMessage(err.message);
  }
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
    const track = el("span", null, "bar-track");
    const bar = el("span", null, "bar");
    bar.style.width = Math.max(1, Math.round(s.probability * 100)) + "%";
    track.appendChild(bar);
    li.appendChild(track);
    li.appendChild(el("span", pct(s.probability)));
    if (s.reason) li.appendChild(el("p", s.reason, "reason"));
    list.appendChild(li);
  }
  $("co-list").textContent = r.co_handlers.length ? r.co_handlers.map((c) => c.name).join("、") : "无";
  $("model-version").textContent = r.model_version;
  $("override-lead").value = r.lead[0].id;
  for (const opt of $("override-co").options) opt.selected = r.co_handlers.some((c) => c.id === opt.value);
  renderPrecedents(r);
}

function renderPrecedents(r) {
  const box = $("precedents");
  box.textContent = "";
  if (!r.precedents_available) {
    box.appendChild(el("p", "类案检索尚未启用（尚未建立历史案件索引）。", "muted"));
    return;
  }
  if (!r.precedents.length) {
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
    const reply = p.reply_excerpt || p.reply || "";
    if (reply) div.appendChild(el("p", "答复摘要：" + reply, "reason"));
    if (p.matched_terms && p.matched_terms.length) div.appendChild(el("p", "共同词语：" + p.matched_terms.join("、"), "muted"));
    box.appendChild(div);
  }
}

async function decide(caseId, lead, coHandlers) {
  const decidedBy = $("decided-by").value.trim();
  const body = { lead, co_handlers: coHandlers };
  if (decidedBy) body.decided_by = decidedBy;
  return api("/cases/" + caseId + "/decision", { method: "POST", json: body });
}

async function decideSingle(lead, coHandlers) {
  showMessage("");
  if (!lastRouted) return;
  try {
    const created = await api("/cases", {
      method: "POST",
      json: { title: lastRouted.title || lastRouted.body.slice(0, 30), body: lastRouted.body, kind: lastRouted.kind },
    });
    const d = await decide(created.id, lead, coHandlers);
    const box = $("decision-result");
    const co = d.co_handlers.map((c) => c.name).join("、") || "无";
    box.textContent = "已登记为案件 " + created.id + "，主办：" + d.lead.name + "，协办：" + co +
      (d.accepted ? "（采纳建议）" : "（改派）") + "，答复期限 " + d.due_on;
    box.hidden = false;
  } catch (err) {
    showMessage(err.message);
  }
}

$("accept-btn").addEventListener("click", () => {
  const r = lastRouted.result;
  decideSingle(r.lead[0].id, r.co_handlers.map((c) => c.id));
});
$("override-btn").addEventListener("click", () => {
  const co = Array.from($("override-co").selectedOptions).map((o) => o.value);
  decideSingle($("override-lead").value, co);
});

// ---- 批量 ----
$("upload-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage("");
  const form = new FormData();
  form.append("file", $("file").files[0]);
  form.append("create", $("create-cases").checked ? "true" : "false");
  try {
    const data = await api("/route/upload", { method: "POST", body: form });
    renderBatch(data);
  } catch (err) {
    showMessage(err.message);
  }
});

$("only-review").addEventListener("change", () => {
  for (const tr of document.querySelectorAll("#batch-table tbody tr")) {
    tr.hidden = $("only-review").checked && !tr.classList.contains("needs-review");
  }
});

function renderBatch(data) {
  $("batch-result").hidden = false;
  $("batch-summary").textContent = "共 " + data.count + " 条，需人工复核 " + data.needs_review_count + " 条" +
    (data.created ? "，已登记案件 " + data.created + " 条" : "") +
    (data.errors.length ? "；有 " + data.errors.length + " 处问题未能处理（见下方）" : "");
  const errors = $("batch-errors");
  errors.textContent = "";
  for (const e of data.errors) errors.appendChild(el("li", "第 " + e.row + " 行，字段“" + e.field + "”：" + e.message));
  const tbody = document.querySelector("#batch-table tbody");
  tbody.textContent = "";
  // 并案：duplicate_groups name the sheet's own row numbers.
  const groupOf = new Map();
  for (const g of data.duplicate_groups || []) for (const row of g) groupOf.set(row, g.filter((x) => x !== row));
  for (const r of data.data) tbody.appendChild(batchRow(r, groupOf.get(r.row) || []));
  $("only-review").dispatchEvent(new Event("change"));
}

function batchNotes(r, sameMatter) {
  const td = el("td", null, "notes");
  if (r.lead[0].reason) td.appendChild(el("p", r.lead[0].reason, "reason"));
  if (r.needs_review) td.appendChild(el("p", r.review_reason, "warn"));
  if (sameMatter.length) td.appendChild(el("p", "与第 " + sameMatter.join("、") + " 行疑似同一事项，可考虑并案", "warn"));
  if (r.repeat_of) {
    td.appendChild(el("p", "可能与 " + r.repeat_of.year + " 年 " + r.repeat_of.case_no + "《" + r.repeat_of.title +
      "》是同一事项（相似度 " + pct(r.repeat_of.similarity) + "）", "warn"));
  }
  if (r.precedents && r.precedents.length) {
    const p = r.precedents[0];
    td.appendChild(el("p", "相似历史案件：" + p.year + " 年 " + p.case_no + "《" + p.title + "》", "muted"));
  }
  return td;
}

function batchRow(r, sameMatter) {
  const tr = el("tr", null, r.needs_review ? "needs-review" : "");
  const top = r.lead[0];
  for (const text of [r.row, r.case_no, r.title, top.name + "（" + pct(top.probability) + "）",
    r.lead.slice(1, 3).map((s) => s.name + "（" + pct(s.probability) + "）").join("；"),
    r.co_handlers.map((c) => c.name).join("、"), r.needs_review ? "需复核" : ""]) {
    tr.appendChild(el("td", text));
  }
  tr.appendChild(batchNotes(r, sameMatter));
  const td = el("td");
  if (r.case_id === null) {
    td.appendChild(el("span", "未登记为案件", "muted"));
  } else {
    const accept = el("button", "采纳");
    const select = el("select");
    fillDeptSelect(select, true);
    const change = el("button", "改派");
    const status = el("span", "", "muted");
    accept.type = change.type = "button";
    accept.addEventListener("click", () => batchDecide(r.case_id, top.id, r.co_handlers.map((c) => c.id), status));
    change.addEventListener("click", () => {
      if (select.value) batchDecide(r.case_id, select.value, [], status);
    });
    td.append(accept, select, change, status);
  }
  tr.appendChild(td);
  return tr;
}

async function batchDecide(caseId, lead, coHandlers, status) {
  showMessage("");
  try {
    const d = await decide(caseId, lead, coHandlers);
    status.textContent = " 已交办：" + d.lead.name;
  } catch (err) {
    showMessage(err.message);
  }
}

updateKeyLabel();
if (getKey()) loadDepartments();
else askKey();
