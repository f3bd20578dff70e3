// 交办部门审核退办申请；督查室看台账、下载定期报告；管理员管理模型版本与密钥。
"use strict";

// ---- 退办申请（交办人员） ----
onSignIn.push(() => {
  if (me.actions.includes("decide")) loadRequests();
  if (me.actions.includes("read")) $("l-asof").value = localToday();
  $("report-box").hidden = !me.actions.includes("report");
  const today = localToday();
  $("rep-start").value = today.slice(0, 4) + "-01-01";
  $("rep-end").value = today;
  if (me.actions.includes("admin")) loadAdmin();
});
onTab.requests = () => loadRequests();
onTab.ledger = () => loadLedger();
onTab.admin = () => loadAdmin();
$("r-all").addEventListener("change", () => loadRequests());

async function loadRequests() {
  const box = $("requests-list");
  try {
    const [data, figures] = await Promise.all([api("/reassignments" + ($("r-all").checked ? "" : "?status=requested")),
      api("/reassignments/figures")]);
    box.textContent = "";
    if (!data.data.length) box.appendChild(el("p", "没有待审的退办申请。", "muted"));
    for (const r of data.data) box.appendChild(requestNode(r));
    const units = document.querySelector("#reassign-units tbody");
    units.textContent = "";
    for (const u of figures.units) {
      const tr = el("tr");
      for (const v of [u.unit ? u.unit.name : "", u.assigned, u.requested, u.approved, u.rate === null ? "–" : pct(u.rate)]) {
        tr.appendChild(el("td", String(v)));
      }
      units.appendChild(tr);
    }
    const models = document.querySelector("#reassign-models tbody");
    models.textContent = "";
    for (const m of figures.models) {
      const tr = el("tr");
      for (const v of [m.model_version, m.requested, m.approved]) tr.appendChild(el("td", String(v)));
      models.appendChild(tr);
    }
  } catch (err) {
    showMessage(err.message);
  }
}

const REQUEST_STATUS = { requested: "待审", approved: "已同意改办", refused: "不同意" };

function requestNode(r) {
  const div = el("div", null, "request");
  div.dataset.requestId = r.id;
  div.appendChild(el("strong", "第 " + r.id + " 号 · " + (r.case_no || "案件 " + r.case_id) + "《" + r.title + "》"));
  div.appendChild(el("p", (r.unit ? r.unit.name : "") + " 申请退办（" + r.requested_by + "，" +
    localStamp(r.requested_at) + "）：" + r.reason));
  if (r.suggested) div.appendChild(el("p", "建议改由：" + r.suggested.name, "muted"));
  div.appendChild(el("p", "状态：" + REQUEST_STATUS[r.status] + (r.answer ? "（" + r.answer + "）" : ""),
    r.status === "requested" ? "warn" : "muted"));
  if (r.status !== "requested") return div;
  const lead = unitPicker(r.suggested ? r.suggested.id : "", "改由哪个单位主办");
  lead.node.classList.add("approve-lead");
  const answer = el("input");
  answer.placeholder = "说明（不同意时必填）";
  answer.className = "answer";
  const yes = el("button", "同意改办", "primary approve");
  const no = el("button", "不同意", "refuse");
  yes.type = no.type = "button";
  const go = (approve) => busy([yes, no], async () => {
    showMessage("");
    const body = { answer: answer.value.trim() };
    if (approve && lead.value()) body.lead = lead.value();
    try {
      await api("/reassignments/" + r.id + (approve ? "/approve" : "/refuse"), { method: "POST", json: body });
      showNotice(approve ? "已同意改办，答复期限重新计算。" : "已答复不同意退办。");
      loadRequests();
    } catch (err) {
      showMessage(err.message);
    }
  });
  yes.addEventListener("click", () => go(true));
  no.addEventListener("click", () => go(false));
  const row = el("div", null, "toolbar");
  row.append(lead.node, answer, yes, no);
  div.appendChild(row);
  return div;
}

// ---- 台账（督查室） ----
$("l-refresh").addEventListener("click", () => loadLedger());

async function loadLedger() {
  const asOf = $("l-asof").value;
  const q = asOf ? "?as_of=" + asOf : "";
  try {
    const [sup, late, rem, sent] = await Promise.all([api("/ledger/supervision" + q), api("/ledger/overdue" + q),
      api("/reminders/figures"), api("/reminders")]);
    const canRemind = me.actions.includes("remind");
    document.querySelectorAll(".remind-col").forEach((th) => { th.hidden = !canRemind; });
    const remByUnit = Object.fromEntries(rem.data.map((f) => [f.department ? f.department.id : "", f]));
    remindedCases = {};
    for (const r of sent.data) (remindedCases[r.case_id] = remindedCases[r.case_id] || []).push(r);
    const tbody = document.querySelector("#ledger-table tbody");
    tbody.textContent = "";
    const rate = (x) => (x === null || x === undefined ? "–" : pct(x));
    for (const u of [...sup.data, Object.assign({ department: null }, sup.total)]) {
      const tr = el("tr", null, u.overdue ? "needs-review" : "");
      tr.appendChild(el("td", u.department ? u.department.name : "合计"));
      for (const f of ["assigned", "closed", "on_time", "closed_late", "open", "overdue", "due_soon"]) {
        tr.appendChild(figureCell(u, f, asOf));
      }
      tr.appendChild(el("td", rate(u.closure_rate)));
      tr.appendChild(el("td", rate(u.satisfaction_rate)));
      tr.appendChild(figureCell(u, "unsatisfied", asOf));
      tr.appendChild(figureCell(u, "reopened", asOf));
      tr.appendChild(el("td", rate(u.points_answered_rate), "points-answered"));
      const f = u.department ? remByUnit[u.department.id] : { reminders: rem.reminders };
      const title = f && f.items !== undefined ? f.items + " 件被催办，" + f.unacknowledged + " 次尚未确认已阅" : "";
      tr.appendChild(el("td", f ? String(f.reminders) : "0")).title = title;
      if (canRemind) {
        const td = el("td");
        if (u.department && u.overdue) td.appendChild(remindUnitButton(u, asOf));
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    const body = document.querySelector("#overdue-table tbody");
    body.textContent = "";
    for (const c of late.data) {
      const tr = el("tr");
      for (const v of [c.case_no || "#" + c.id, c.title, c.lead ? c.lead.name : "", c.due_on, -c.days_left]) {
        tr.appendChild(el("td", v));
      }
      tr.appendChild(remindCell(c.id, true));
      body.appendChild(tr);
    }
    if (!late.data.length) body.appendChild(el("tr")).appendChild(el("td", "没有逾期件。", "muted")).colSpan = 6;
  } catch (err) {
    showMessage(err.message);
  }
}

const FIGURE_NAMES = { assigned: "交办", closed: "已办结", on_time: "按时办结", closed_late: "逾期办结", open: "未办结",
  overdue: "超期未办结", due_soon: "14 天内到期", unsatisfied: "不满意", reopened: "重新办理" };

function figureCell(u, figure, asOf) {
  const td = el("td");
  const n = u[figure] || 0;
  if (!n) {
    td.textContent = "0";
    return td;
  }
  const a = el("a", String(n), "drill-link");
  a.href = "#";
  a.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({ figure });
    if (u.department) q.set("department", u.department.id);
    if (asOf) q.set("as_of", asOf);
    try {
      const data = await api("/ledger/supervision/items?" + q);
      $("drill").hidden = false;
      $("drill-title").textContent = (u.department ? u.department.name : "全部单位") + "：" + FIGURE_NAMES[figure] + " " +
        data.count + " 件";
      const body = document.querySelector("#drill-table tbody");
      body.textContent = "";
      for (const c of data.data) {
        const tr = el("tr");
        for (const v of [c.case_no || "#" + c.id, c.title, c.lead ? c.lead.name : "", c.assigned_on || "", c.due_on || "",
          c.closed_on || "", c.status]) tr.appendChild(el("td", v));
        tr.appendChild(remindCell(c.id, !c.closed_on));
        if (c.closed_on) tr.addEventListener("click", () => toggleCaseAids(tr, c.id)); // 复核办结件（答复辅助）
        body.appendChild(tr);
      }
      $("drill").scrollIntoView({ block: "nearest" });
    } catch (err) {
      showMessage(err.message);
    }
  });
  td.appendChild(a);
  return td;
}

function toggleCaseAids(tr, caseId) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("detail")) return next.remove();
  const detail = el("tr", null, "detail");
  const td = el("td");
  td.colSpan = 8;
  detail.appendChild(td);
  tr.after(detail);
  showCaseAids(td, caseId);
}

// ---- 催办（督查室） ----
let remindedCases = {};

// How often an item was reminded (the latest note as a tooltip) and, for a supervisor and an open item, a button.
function remindCell(caseId, open) {
  const td = el("td", null, "remind");
  const list = remindedCases[caseId] || [];
  const count = el("span", list.length ? "已催办 " + list.length + " 次" : "", "muted");
  if (list.length) count.title = "最近：" + localStamp(list[0].sent_at) + " " + list[0].note;
  td.appendChild(count);
  if (open && me.actions.includes("remind")) {
    const b = el("button", "催办", "remind-one");
    b.type = "button";
    b.addEventListener("click", () => busy(b, async () => {
      const note = window.prompt("催办内容（将显示在承办单位的待办中）：", "已超过答复期限，请抓紧办理并答复代表委员。");
      if (note === null) return;
      try {
        const r = await api("/cases/" + caseId + "/reminders", { method: "POST", json: { note } });
        showNotice(r.unchanged ? "今天已用相同内容催办过该件，未重复发送。" : "已向 " + r.unit.name + " 催办。");
        (remindedCases[caseId] = remindedCases[caseId] || []).unshift(r);
        if (!r.unchanged) count.textContent = "已催办 " + remindedCases[caseId].length + " 次";
      } catch (err) {
        showMessage(err.message);
      }
    }));
    td.appendChild(b);
  }
  return td;
}

function remindUnitButton(u, asOf) {
  const b = el("button", "催办超期件（" + u.overdue + "）", "remind-unit");
  b.type = "button";
  b.addEventListener("click", () => busy(b, async () => {
    const note = window.prompt("向 " + u.department.name + " 的 " + u.overdue + " 件超期未办结件催办，内容：",
      "以下件已超过答复期限，请于五个工作日内办结并答复代表委员。");
    if (note === null) return;
    try {
      const r = await api("/reminders/batch", { method: "POST",
        json: { department: u.department.id, figure: "overdue", note, ...(asOf ? { as_of: asOf } : {}) } });
      showNotice("已向 " + u.department.name + " 催办 " + r.new + " 件" + (r.count > r.new ? "（" + (r.count - r.new) +
        " 件今天已催办过）" : "") + (r.skipped.length ? "；" + r.skipped.length + " 件已于统计日期后办结，未催办" : "") + "。");
      loadLedger();
    } catch (err) {
      showMessage(err.message);
    }
  }));
  return b;
}

function reportRange() {
  const q = new URLSearchParams();
  if ($("rep-start").value) q.set("start", $("rep-start").value);
  if ($("rep-end").value) q.set("end", $("rep-end").value);
  return q.toString();
}
$("rep-xlsx").addEventListener("click", () => busy($("rep-xlsx"), async () => {
  try {
    const name = await download("/reports/periodic.xlsx?" + reportRange(), "定期通报.xlsx");
    showNotice("已下载定期报告：" + name);
  } catch (err) {
    showMessage(err.message);
  }
}));
$("rep-html").addEventListener("click", () => busy($("rep-html"), async () => {
  try {
    const resp = await call("/reports/periodic.html?" + reportRange());
    const url = URL.createObjectURL(await resp.blob());
    window.open(url, "_blank");
  } catch (err) {
    showMessage(err.message);
  }
}));

// ---- 管理 ----
let keyUnit = null;
onDepartments.push(() => {
  keyUnit = unitPicker("", "不限（可不填）");
  $("k-unit").replaceChildren(keyUnit.node);
});

async function loadAdmin() {
  try {
    const [models, keys] = await Promise.all([api("/models"), api("/keys")]);
    const tbody = document.querySelector("#models-table tbody");
    tbody.textContent = "";
    for (const m of models.data) {
      const tr = el("tr", null, m.active ? "decided" : "");
      const top1 = m.metrics && (m.metrics.top1 || (m.metrics.backtest || {}).top1);
      for (const v of [m.version, localStamp(m.created_at), m.rows || "",
        top1 !== undefined && top1 !== null ? "top-1 " + pct(top1) : "", m.active ? "在用" : ""]) {
        tr.appendChild(el("td", v));
      }
      const td = el("td");
      const rep = el("button", "评估报告");
      rep.type = "button";
      rep.addEventListener("click", () => busy(rep, async () => {
        try {
          const resp = await call("/models/" + encodeURIComponent(m.version) + "/report");
          window.open(URL.createObjectURL(await resp.blob()), "_blank");
        } catch (err) {
          showMessage(err.message);
        }
      }));
      td.appendChild(rep);
      if (!m.active) {
        const b = el("button", "上线此版本", "promote");
        b.type = "button";
        b.addEventListener("click", () => busy(b, async () => {
          const why = window.prompt("上线理由（记入版本历史）：", "年度重新训练，评估不劣于在用模型");
          if (why === null) return;
          try {
            await api("/models/" + encodeURIComponent(m.version) + "/promote?why=" + encodeURIComponent(why),
              { method: "POST" });
            showNotice("已上线模型 " + m.version + "，服务已切换。");
            loadAdmin();
          } catch (err) {
            showMessage(err.message);
          }
        }));
        td.appendChild(b);
      }
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    const hb = document.querySelector("#history-table tbody");
    hb.textContent = "";
    const ACTIONS = { promote: "上线", rollback: "回退", "rollback-undone": "回退失败，恢复原版本",
      "promote (train)": "训练后上线", "promote (train --force)": "训练后强制上线", "promote (re-indexed)": "重建索引后上线",
      "promote (index repaired)": "修复索引后上线" };
    for (const h of models.history.slice().reverse()) {
      const tr = el("tr");
      for (const v of [localStamp(h.at), ACTIONS[h.action] || h.action, h.version,
        h.previous || "", h.by || "", h.why || ""]) tr.appendChild(el("td", v));
      hb.appendChild(tr);
    }
    $("history-count").textContent = "上线与回退记录（" + models.history.length + " 条）";
    const kb = document.querySelector("#keys-table tbody");
    kb.textContent = "";
    for (const k of keys.data) {
      const tr = el("tr", null, k.revoked_at ? "muted" : "");
      for (const v of [k.name, ROLE_NAMES[k.role] || k.role, k.unit ? k.unit.name : "", k.prefix + "…",
        localStamp(k.created_at).slice(0, 10), k.revoked_at ? "已停用" : "有效"]) tr.appendChild(el("td", v));
      const td = el("td");
      if (!k.revoked_at) {
        const b = el("button", "停用");
        b.type = "button";
        b.addEventListener("click", () => busy(b, async () => {
          try {
            await api("/keys/" + k.id, { method: "DELETE" });
            loadAdmin();
          } catch (err) {
            showMessage(err.message);
          }
        }));
        td.appendChild(b);
      }
      tr.appendChild(td);
      kb.appendChild(tr);
    }
  } catch (err) {
    showMessage(err.message);
  }
}

$("model-rollback").addEventListener("click", () => busy($("model-rollback"), async () => {
  const why = window.prompt("回退理由（记入版本历史）：", "");
  if (why === null) return;
  try {
    const m = await api("/models/rollback?why=" + encodeURIComponent(why), { method: "POST" });
    showNotice("已回退到模型 " + m.version + "。");
    loadAdmin();
  } catch (err) {
    showMessage(err.message);
  }
}));

$("key-create-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage("");
  const body = { name: $("k-name").value.trim(), role: $("k-role").value };
  if (keyUnit && keyUnit.value()) body.unit = keyUnit.value();
  try {
    const k = await api("/keys", { method: "POST", json: body });
    const box = $("k-created");
    box.textContent = "已创建密钥（只显示这一次，请立即复制交给使用者）：" + k.key;
    box.hidden = false;
    loadAdmin();
  } catch (err) {
    showMessage(err.message);
  }
});

// ---- 单位名录 ----
let reorgOld = null;
let reorgInto = null;
let splitExisting = null;
onDepartments.push(() => {
  reorgOld = unitPicker("", "要更名、撤并或拆分的单位");
  reorgInto = unitPicker("", "并入哪个单位");
  splitExisting = unitsPicker([], "添加现有单位（可不选）");
  $("reorg-old").replaceChildren(reorgOld.node);
  $("reorg-into").replaceChildren(reorgInto.node);
  $("split-existing").replaceChildren(splitExisting.node);
  if (me && me.actions.includes("admin")) loadDepartmentTable();
});
$("reorg-mode").addEventListener("change", () => {
  $("reorg-rename").hidden = $("reorg-mode").value !== "rename";
  $("reorg-into").hidden = $("reorg-mode").value !== "merge";
  $("reorg-split").hidden = $("reorg-mode").value !== "split";
});

async function loadDepartmentTable() {
  try {
    const data = await api("/departments");
    $("dept-count").textContent = "全部单位（" + data.count + " 个，含已撤并的）";
    const tbody = document.querySelector("#depts-table tbody");
    tbody.textContent = "";
    for (const d of data.data) {
      const tr = el("tr", null, d.active ? "" : "muted");
      const now = d.split_into.length ? "拆分为" + d.split_into.map((p) => p.name).join("、") + "（主承继：" +
        d.current.name + "）" : d.current.id === d.id ? "" : d.current.name;
      for (const v of [d.id, d.name, d.short_name, d.aliases.join("、"), (d.since || "") + " – " + (d.until || ""),
        now, d.duties]) tr.appendChild(el("td", v));
      tbody.appendChild(tr);
    }
  } catch (err) {
    showMessage(err.message);
  }
}

$("reorg-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage("");
  const old = reorgOld.value();
  if (!old) {
    showMessage("请先选择原单位");
    return;
  }
  const on = $("reorg-on").value;
  if ($("reorg-mode").value === "split") {
    await splitUnit(old, on);
    return;
  }
  const body = { old_ids: [old], on };
  if ($("reorg-mode").value === "merge") {
    if (!reorgInto.value()) {
      showMessage("请选择并入的单位");
      return;
    }
    body.into_id = reorgInto.value();
  } else {
    const name = $("reorg-name").value.trim();
    if (!name) {
      showMessage("请填写新全称");
      return;
    }
    const prev = deptById(old);
    body.new = { id: old + on.slice(0, 4), name, short_name: $("reorg-short").value.trim(), since: on,
      kind: prev ? prev.kind : "department" };
  }
  try {
    const d = await api("/departments/reorganise", { method: "POST", json: body });
    showNotice("已登记机构改革：自 " + on + " 起由 " + d.name + " 承担原单位职责；历年案件随之归入新单位。");
    await loadDepartments();
  } catch (err) {
    showMessage(err.message);
  }
});

// 拆分：new units get an id made from the old one; each part's duties decide where old closed cases train.
async function splitUnit(old, on) {
  const prev = deptById(old);
  const news = [0, 1].map((i) => ({ name: $("split-name-" + i).value.trim(), duties: $("split-duties-" + i).value.trim() }))
    .filter((p) => p.name)
    .map((p, i) => ({ id: old + on.slice(0, 4) + "s" + (i + 1), name: p.name, duties: p.duties, since: on,
      kind: prev ? prev.kind : "department" }));
  const existing = splitExisting.value();
  if (news.length + existing.length < 2) {
    showMessage("拆分至少要有两个承继单位：请填写新设单位全称，或选择承接职责的现有单位");
    return;
  }
  const main = news.length ? news[0].id : existing[0];
  try {
    const d = await api("/departments/split", { method: "POST",
      json: { old_id: old, on, new: news, into_ids: existing, main_id: main } });
    showNotice("已登记拆分：自 " + on + " 起原单位职责分由 " + d.name + " 等单位承担；原单位名称和未办结案件归 " +
      d.name + "，历年案件按各单位职能归属用于训练。");
    await loadDepartments();
  } catch (err) {
    showMessage(err.message);
  }
}

$("dept-add-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage("");
  const aliases = $("d-aliases").value.split(/[、,，\s]+/).map((x) => x.trim()).filter(Boolean);
  const body = { id: $("d-id").value.trim(), name: $("d-name").value.trim(), short_name: $("d-short").value.trim(), aliases };
  try {
    const d = await api("/departments", { method: "POST", json: body });
    showNotice("已新增单位：" + d.name);
    await loadDepartments();
  } catch (err) {
    showMessage(err.message);
  }
});

// ---- 重新训练、重建类案检索索引（后台任务） ----
// Each kind has its button, box (progress bar, status line, the command's last lines) and its job endpoint.
const JOB_VIEWS = {
  train: { path: "/training/jobs/", name: "训练任务", steps: (j) => "第 " + j.done + " / " + j.total + " 步" },
  reindex: { path: "/reindex/jobs/", name: "重建索引任务", steps: (j) => "已编码 " + j.done + " / " + j.total + " 件" },
};

$("train-start").addEventListener("click", () => busy($("train-start"), async () => {
  showMessage("");
  try {
    const job = await api("/training/jobs", { method: "POST", json: { promote: $("train-promote").checked,
      knn_blend: $("train-knn").checked ? null : false, why: "网页发起的年度重新训练" } });
    watchChildJob("train", job.id);
  } catch (err) {
    showMessage(err.message);
  }
}));

$("reindex-start").addEventListener("click", () => busy($("reindex-start"), async () => {
  showMessage("");
  try {
    const job = await api("/reindex/jobs", { method: "POST", json: { why: "网页发起的重建类案检索索引" } });
    watchChildJob("reindex", job.id);
  } catch (err) {
    showMessage(err.message);
  }
}));

async function watchChildJob(kind, id) {
  const view = JOB_VIEWS[kind];
  try {
    const job = await api(view.path + id);
    const running = job.status === "queued" || job.status === "running";
    $(kind + "-box").hidden = false;
    $(kind + "-bar").max = Math.max(1, job.total);
    $(kind + "-bar").value = job.done;
    $(kind + "-text").textContent = view.name + " " + job.id + "：" + job.status_text + "（" + view.steps(job) + "）" +
      (job.error ? "：" + job.error : "");
    $(kind + "-log").textContent = (job.log || []).slice(-8).join("\n");
    $(kind + "-start").disabled = running;
    $(kind + "-cancel").hidden = !running;
    $(kind + "-cancel").onclick = () => busy($(kind + "-cancel"), async () => {
      try {
        await api("/jobs/" + id + "/cancel", { method: "POST" });
      } catch (err) {
        showMessage(err.message);
      }
    });
    if (running) setTimeout(() => watchChildJob(kind, id), 2000);
    else loadAdmin();
  } catch (err) {
    showMessage(err.message);
  }
}
