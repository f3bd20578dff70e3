// 会次工作台：上传会议期间的表格 → 后台分析（进度条，可取消）→ 复核表（需复核的在前）→ 就地交办 → 下载。
"use strict";

const PAGE = 200; // 每次多显示的行数
const ws = { id: null, all: [], rows: [], shown: PAGE, cursor: -1, open: new Set(), polling: null };

const uploadButtons = () => [$("session-upload"), $("reupload-btn")];

onDepartments.push(() => {
  const select = $("f-dept");
  select.replaceChildren(select.options[0]);
  for (const d of departments) select.appendChild(new Option(d.name, d.id));
  if (me && me.actions.includes("decide")) loadSessions();
});

async function loadSessions(selectId) {
  try {
    const data = await api("/sessions?limit=200");
    const select = $("session-select");
    select.replaceChildren(new Option("（新建会次）", ""));
    for (const s of data.data) {
      select.appendChild(new Option(s.name + "（" + s.rows + " 条，已交办 " + s.decided + "）", s.id));
    }
    const id = selectId || ws.id;
    if (id) {
      select.value = String(id);
      await openSession(id);
    }
  } catch (err) {
    showMessage(err.message);
  }
}

$("session-select").addEventListener("change", () => {
  const id = $("session-select").value;
  if (id) openSession(Number(id));
  else {
    ws.id = null;
    $("session-view").hidden = true;
    $("job-box").hidden = true;
    $("new-session-form").hidden = false;
  }
});

// ---- 上传 ----
async function sendSheet(path, form) {
  showMessage("");
  await busy(uploadButtons(), async () => {
    try {
      const s = await api(path, { method: "POST", body: form });
      renderUploadSummary(s.upload);
      await loadSessions(s.id);
    } catch (err) {
      if (err.body && err.body.error && err.body.error.code === "same_sheet") {
        showMessage(err.message);
        await loadSessions(err.body.error.details.session_id);
      } else {
        showMessage(err.message);
      }
    }
  });
}

$("new-session-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = new FormData();
  form.append("file", $("session-file").files[0]);
  if ($("session-name").value.trim()) form.append("name", $("session-name").value.trim());
  if ($("session-date").value) form.append("held_on", $("session-date").value);
  sendSheet("/sessions", form);
});

$("reupload-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = new FormData();
  form.append("file", $("reupload-file").files[0]);
  sendSheet("/sessions/" + ws.id + "/upload", form);
});

function renderUploadSummary(u) {
  if (!u) return;
  $("upload-summary").textContent = "本次上传：读取 " + u.rows_read + " 行，新增 " + u.added + " 条，内容有改动 " +
    u.changed + " 条，与已有相同 " + u.unchanged + " 条" + (u.missing ? "，本会次已有而新表中没有 " + u.missing + " 条（保留）" : "") +
    (u.errors.length ? "；未能读取或登记 " + new Set(u.errors.map((e) => e.row)).size + " 行（见下方）" : "") + "。";
}

// ---- 会次与后台任务 ----
async function openSession(id) {
  ws.id = id;
  ws.open.clear();
  const s = await api("/sessions/" + id);
  $("new-session-form").hidden = true;
  $("session-view").hidden = false;
  renderSession(s);
  watchJob(s.job);
  await loadRows();
}

function renderSession(s) {
  $("session-title").textContent = s.name + (s.held_on ? "（" + s.held_on + "）" : "");
  const c = s.counts;
  const option = Array.from($("session-select").options).find((o) => o.value === String(s.id));
  if (option) option.textContent = s.name + "（" + c.rows + " 条，已交办 " + c.decided + "）";
  $("session-summary").textContent = "共 " + c.rows + " 条：已分析 " + c.routed + "，需人工复核 " + c.needs_review +
    "，已交办 " + c.decided + "，疑似并案 " + c.groups + " 组，往年重复 " + c.repeats + " 条" +
    (c.missing ? "；最新表格中没有的 " + c.missing + " 条已保留" : "") + "。";
  const box = $("row-errors-box");
  const list = $("row-errors");
  list.textContent = "";
  box.hidden = !s.errors.length;
  $("row-errors-title").textContent = "未能读取或登记的行：" + new Set(s.errors.map((e) => e.row)).size + " 行（其余各行已正常处理）";
  for (const e of s.errors) list.appendChild(el("li", "第 " + e.row + " 行，字段“" + e.field + "”：" + e.message));
}

function watchJob(job) {
  clearTimeout(ws.polling);
  const box = $("job-box");
  if (!job) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const active = job.status === "queued" || job.status === "running";
  $("job-bar").max = Math.max(1, job.total);
  $("job-bar").value = job.done;
  let text = "分析进度：" + job.done + " / " + job.total + " 行（" + job.status_text + "）";
  if (job.eta_seconds !== null && active) text += "，预计还需 " + Math.ceil(job.eta_seconds) + " 秒";
  if (job.status === "failed") text += "：" + job.error;
  $("job-text").textContent = text;
  $("job-cancel").hidden = !active;
  $("job-resume").hidden = active || job.done >= job.total;
  for (const b of uploadButtons()) b.disabled = active;
  $("accept-all").disabled = active;
  if (active) {
    ws.polling = setTimeout(async () => {
      try {
        const next = await api("/jobs/" + job.id);
        if (next.status !== "queued" && next.status !== "running") {
          await openSession(ws.id);
          return;
        }
        watchJob(next);
      } catch (err) {
        showMessage(err.message);
      }
    }, 1000);
  }
}

$("job-cancel").addEventListener("click", async () => {
  const job = await api("/sessions/" + ws.id).then((s) => s.job);
  if (job) await api("/jobs/" + job.id + "/cancel", { method: "POST" }).catch((e) => showMessage(e.message));
});
$("job-resume").addEventListener("click", async () => {
  const s = await api("/sessions/" + ws.id + "/route", { method: "POST" }).catch((e) => showMessage(e.message));
  if (s) watchJob(s.job);
});

// ---- 复核表 ----
function filters() {
  const q = new URLSearchParams();
  if ($("f-review").checked) q.set("needs_review", "true");
  if ($("f-undecided").checked) q.set("undecided", "true");
  if ($("f-admissibility").checked) q.set("admissibility", "true");
  if ($("f-grouped").checked) q.set("grouped", "true");
  if ($("f-dept").value) q.set("department", $("f-dept").value);
  return q.toString();
}

let textTimer = null; // the search box's pause before it filters (applyText)

async function loadRows() {
  const table = $("session-table");
  table.dataset.state = "loading";
  const data = await api("/sessions/" + ws.id + "/rows?" + filters());
  table.dataset.state = "ready";
  ws.all = data.data;
  ws.shown = Math.max(PAGE, ws.shown);
  // applyText reads the search box as it is now: a search still waiting out its pause would only draw the table
  // again later, closing a row staff have opened meanwhile.
  clearTimeout(textTimer);
  applyText();
}

// 查找：按行号、编号或标题文字筛选已载入的行（不再请求服务器）。
function applyText() {
  const q = $("f-text").value.trim();
  ws.rows = !q ? ws.all : ws.all.filter((r) => String(r.row) === q || (r.case_no || "").includes(q) || r.title.includes(q));
  renderRows();
}

$("f-text").addEventListener("input", () => {
  clearTimeout(textTimer);
  textTimer = setTimeout(() => {
    ws.cursor = -1;
    applyText();
  }, 200);
});

for (const id of ["f-review", "f-undecided", "f-grouped", "f-dept", "f-admissibility"]) {
  $(id).addEventListener("change", () => {
    ws.shown = PAGE;
    ws.cursor = -1;
    loadRows().catch((e) => showMessage(e.message));
  });
}

function renderRows() {
  const tbody = document.querySelector("#session-table tbody");
  tbody.textContent = "";
  const n = Math.min(ws.shown, ws.rows.length);
  for (let i = 0; i < n; i++) {
    tbody.appendChild(rowNode(ws.rows[i], i));
    if (ws.open.has(ws.rows[i].row_id)) toggleDetail(i, true);
  }
  if (!ws.rows.length) {
    const tr = el("tr");
    const td = el("td", "没有符合条件的条目。", "muted");
    td.colSpan = 7;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
  const more = $("more-rows");
  more.hidden = ws.rows.length <= n;
  more.textContent = "显示更多（还有 " + (ws.rows.length - n) + " 条）";
  markCursor();
}

$("more-rows").addEventListener("click", () => {
  ws.shown += PAGE;
  renderRows();
});

function rowNode(r, i) {
  const tr = el("tr", null, "row" + (r.needs_review ? " needs-review" : "") + (r.decision ? " decided" : ""));
  tr.dataset.index = i;
  tr.dataset.rowId = r.row_id;
  tr.tabIndex = -1;
  const s = r.suggestion;
  tr.appendChild(el("td", r.row));
  tr.appendChild(el("td", r.case_no || ""));
  const title = el("td", null, "title-cell");
  title.appendChild(el("span", r.title));
  if (r.group) title.appendChild(el("span", "并案组 " + r.group.no + "（行 " + r.group.rows.join("、") + "）", "badge group"));
  if (s && s.repeat_of) title.appendChild(el("span", "往年重复：" + s.repeat_of.year + "年 " + s.repeat_of.case_no, "badge repeat"));
  tr.appendChild(title);
  const lead = el("td");
  if (s) {
    const top = s.lead[0];
    lead.append(el("span", top.name), bar(top.probability), el("span", pct(top.probability)));
  } else {
    lead.appendChild(el("span", "分析中…", "muted"));
  }
  tr.appendChild(lead);
  tr.appendChild(el("td", s ? s.co_handlers.map((c) => c.name).join("、") : ""));
  const review = el("td", r.needs_review ? "需复核" : "", "review-cell" + (r.needs_review ? " warn" : ""));
  if (r.admissibility.length) { // 受理提示：一件多事、疑似不予立案（只提示，不退回）
    const b = review.appendChild(el("span", "受理提示", "badge admissibility"));
    b.title = ((s && s.admissibility) || []).map((f) => f.reason).join("\n");
  }
  tr.appendChild(review);
  const act = el("td", null, "act");
  if (r.decision) {
    const co = r.decision.co_handlers.filter(Boolean).map((c) => c.name).join("、");
    act.appendChild(el("span", "已交办：" + r.decision.lead.name + (co ? "；协办：" + co : ""), "done"));
  }
  if (s) {
    const accept = el("button", r.decision ? "按建议" : "采纳", "accept");
    accept.type = "button";
    accept.addEventListener("click", (ev) => {
      ev.stopPropagation();
      acceptRow(i, accept);
    });
    const change = el("button", "改派…", "change");
    change.type = "button";
    change.addEventListener("click", (ev) => {
      ev.stopPropagation();
      toggleDetail(i, true, true);
    });
    act.append(accept, change);
  }
  tr.appendChild(act);
  tr.addEventListener("click", () => {
    ws.cursor = i;
    markCursor();
    toggleDetail(i);
  });
  return tr;
}

function rowTr(i) {
  return document.querySelector('#session-table tr.row[data-index="' + i + '"]');
}

async function decideRow(i, lead, co, buttons) {
  const r = ws.rows[i];
  showMessage("");
  return busy(buttons, async () => {
    try {
      const d = await api("/cases/" + r.case_id + "/decision", { method: "POST", json: { lead, co_handlers: co } });
      r.decision = { lead: d.lead, co_handlers: d.co_handlers, assigned_on: d.assigned_on, due_on: d.due_on,
        decided_by: d.decided_by, decided_at: d.decided_at };
      r.status = "assigned";
      const old = rowTr(i);
      const wasOpen = ws.open.has(r.row_id);
      const next = old.nextElementSibling;
      if (next && next.classList.contains("detail")) next.remove();
      old.replaceWith(rowNode(r, i));
      ws.open.delete(r.row_id);
      if (wasOpen) await toggleDetail(i, true);
      markCursor();
    } catch (err) {
      showMessage(err.message);
    }
  });
}

function acceptRow(i, button) {
  const s = ws.rows[i].suggestion;
  if (!s) return;
  const lead = s.lead[0].id;
  return decideRow(i, lead, s.co_handlers.map((c) => c.id).filter((id) => id !== lead), button ? [button] : []);
}

$("accept-all").addEventListener("click", async () => {
  showMessage("");
  await busy($("accept-all"), async () => {
    try {
      const out = await api("/sessions/" + ws.id + "/accept-confident", { method: "POST" });
      await openSession(ws.id);
      showNotice("已按建议交办 " + out.accepted + " 条高置信度条目" +
        (out.skipped ? "；" + out.skipped + " 条的建议单位已不在名录中，未交办" : "") + "。");
    } catch (err) {
      showMessage(err.message);
    }
  });
});

async function downloadBook(button, path, name, what) {
  showMessage("");
  await busy(button, async () => {
    try {
      const saved = await download("/sessions/" + ws.id + path, name);
      showNotice("已下载" + what + "：" + saved);
    } catch (err) {
      showMessage(err.message);
    }
  });
}
$("dl-session").addEventListener("click", () =>
  downloadBook($("dl-session"), "/export.xlsx", "会次交办建议.xlsx", "会次表（交办建议与决定、并案组、未能读取的行）"));
$("dl-handout").addEventListener("click", () =>
  downloadBook($("dl-handout"), "/handout.xlsx", "交办清单.xlsx", "交办清单（每个主办单位一张表）"));

// ---- 展开的一行 ----
async function toggleDetail(i, open, focusPicker) {
  const r = ws.rows[i];
  const tr = rowTr(i);
  if (!tr) return;
  const next = tr.nextElementSibling;
  const isOpen = next && next.classList.contains("detail");
  if (isOpen && open !== true) {
    next.remove();
    ws.open.delete(r.row_id);
    return;
  }
  if (isOpen) {
    if (focusPicker) next.querySelector(".lead-picker input").focus();
    return;
  }
  ws.open.add(r.row_id);
  const detail = el("tr", null, "detail");
  const td = el("td");
  td.colSpan = 7;
  td.appendChild(el("p", "载入中…", "muted"));
  detail.appendChild(td);
  tr.after(detail);
  try {
    const full = await api("/sessions/" + ws.id + "/rows/" + r.row_id);
    td.replaceChildren(detailNode(full, i));
    if (focusPicker) td.querySelector(".lead-picker input").focus();
  } catch (err) {
    td.replaceChildren(el("p", err.message, "errors"));
  }
}

function detailNode(full, i) {
  const box = el("div", null, "detail-box");
  const s = full.suggestion;
  const terms = s ? s.lead[0].terms : [];
  const text = el("div", null, "item-text");
  text.appendChild(el("h3", null)).appendChild(highlighted(full.title, terms));
  text.appendChild(el("p", null, "body-text")).appendChild(highlighted(full.body || "", terms));
  if (full.proposer) text.appendChild(el("p", "提出人：" + full.proposer, "muted"));
  box.appendChild(text);

  const side = el("div", null, "item-side");
  if (s) {
    side.appendChild(el("h4", "建议的主办单位"));
    if (s.needs_review) side.appendChild(el("p", "需人工复核：" + s.review_reason, "review"));
    for (const f of s.admissibility || []) { // 受理提示：可忽略（留记录），不自动退回
      const p = side.appendChild(el("p", "受理提示（" + f.name + "）", "warn admissibility-flag"));
      if (full.case_id) p.appendChild(dismissButton(full.case_id, "admissibility", f.code, "不予采纳此提示（忽略）"));
    }
    const ol = el("ol", null, "lead-list");
    for (const u of s.lead) {
      const li = el("li");
      li.append(el("strong", u.name), bar(u.probability), el("span", pct(u.probability)));
      if (u.reason) li.appendChild(el("p", u.reason, "reason"));
      ol.appendChild(li);
    }
    side.appendChild(ol);
    side.appendChild(el("p", "建议协办：" + (s.co_handlers.map((c) => c.name + "（" + pct(c.probability) + "）").join("、") || "无")));
  }
  side.appendChild(decisionEditor(full, i));
  side.appendChild(groupNode(full));
  if (full.repeat_case) {
    const rc = full.repeat_case;
    const div = el("div", null, "repeat");
    div.appendChild(el("h4", "往年重复：" + (rc.year || "") + "年 " + (rc.case_no || "") + "《" + (rc.title || "") + "》" +
      "（相似度 " + pct(s.repeat_of.similarity) + "）"));
    div.appendChild(el("p", (rc.category ? rc.category + "类答复" : "") + (rc.feedback ? " · " + rc.feedback : ""), "muted"));
    if (rc.reply) div.appendChild(el("p", "原答复：" + rc.reply, "reason"));
    side.appendChild(div);
  }
  if (full.history.length) {
    side.appendChild(el("h4", "交办记录"));
    const ul = el("ul", null, "history");
    for (const h of full.history) {
      ul.appendChild(el("li", localStamp(h.decided_at) + " " + h.decided_by + "：" +
        (h.from ? "由 " + h.from.name + " 改为 " : "交 ") + h.to.name + (h.note ? "（" + h.note + "）" : "")));
    }
    side.appendChild(ul);
  }
  if (s) {
    side.appendChild(el("h4", "相似历史案件及其答复"));
    const prec = el("div");
    renderPrecedents(prec, s);
    side.appendChild(prec);
  }
  box.appendChild(side);
  return box;
}

function decisionEditor(full, i) {
  const wrap = el("div", null, "decision-editor");
  wrap.appendChild(el("h4", full.decision ? "修改交办决定" : "交办决定"));
  const s = full.suggestion;
  const leadId = full.decision ? full.decision.lead.id : s ? s.lead[0].id : "";
  const coIds = full.decision ? full.decision.co_handlers.filter(Boolean).map((c) => c.id) :
    s ? s.co_handlers.map((c) => c.id) : [];
  const lead = unitPicker(leadId, "主办单位");
  lead.node.classList.add("lead-picker");
  const co = unitsPicker(coIds);
  co.node.classList.add("co-picker");
  const save = el("button", "确定交办", "primary save-decision");
  save.type = "button";
  save.addEventListener("click", () => {
    if (!lead.value()) {
      showMessage("请选择主办单位");
      return;
    }
    decideRow(i, lead.value(), co.value().filter((id) => id !== lead.value()), [save]);
  });
  const l1 = el("label", "主办 ");
  l1.appendChild(lead.node);
  const l2 = el("label", "协办 ");
  l2.appendChild(co.node);
  wrap.append(l1, l2, save);
  return wrap;
}

function groupNode(full) {
  const div = el("div", null, "group-box");
  if (full.group) {
    const others = full.group.rows.filter((x) => x !== full.row);
    div.appendChild(el("p", "疑似同一事项，可并案：与第 " + others.join("、") + " 行" +
      (full.group.similarity !== null ? "（相似度 " + pct(full.group.similarity) + "）" : "（人工并案）"), "warn"));
    const split = el("button", "移出并案组");
    split.type = "button";
    split.addEventListener("click", () => regroup("split", [full.row_id], split));
    div.appendChild(split);
  }
  const input = el("input");
  input.placeholder = "与第几行并案，如 12、15";
  input.className = "merge-rows";
  const merge = el("button", "并案");
  merge.type = "button";
  merge.addEventListener("click", () => {
    const wanted = input.value.split(/[^0-9]+/).filter(Boolean).map(Number);
    const ids = ws.rows.filter((r) => wanted.includes(r.row)).map((r) => r.row_id);
    if (ids.length !== wanted.length) {
      showMessage("行号 " + wanted.filter((w) => !ws.rows.some((r) => r.row === w)).join("、") + " 不在当前列表中（请取消筛选后再试）");
      return;
    }
    regroup("merge", [full.row_id, ...ids], merge);
  });
  div.append(input, merge);
  return div;
}

async function regroup(action, rows, button) {
  await busy(button, async () => {
    try {
      await api("/sessions/" + ws.id + "/groups/" + action, { method: "POST", json: { rows } });
      await openSession(ws.id);
    } catch (err) {
      showMessage(err.message);
    }
  });
}

// ---- 键盘 ----
function markCursor() {
  for (const tr of document.querySelectorAll("#session-table tr.cursor")) tr.classList.remove("cursor");
  const tr = rowTr(ws.cursor);
  if (tr) {
    tr.classList.add("cursor");
    tr.scrollIntoView({ block: "nearest" });
  }
}

document.addEventListener("keydown", (ev) => {
  if ($("tab-session").hidden || $("session-view").hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const tag = (ev.target.tagName || "").toLowerCase();
  if (["input", "textarea", "select"].includes(tag) || (tag === "button" && ev.key === "Enter")) return;
  const n = Math.min(ws.shown, ws.rows.length);
  if (ev.key === "j" || ev.key === "ArrowDown") {
    ws.cursor = Math.min(n - 1, ws.cursor + 1);
  } else if (ev.key === "k" || ev.key === "ArrowUp") {
    ws.cursor = Math.max(0, ws.cursor - 1);
  } else if (ev.key === "Enter" && ws.cursor >= 0) {
    toggleDetail(ws.cursor);
  } else if (ev.key === "a" && ws.cursor >= 0) {
    acceptRow(ws.cursor);
  } else if (ev.key === "c" && ws.cursor >= 0) {
    toggleDetail(ws.cursor, true, true);
  } else {
    return;
  }
  ev.preventDefault();
  markCursor();
});
