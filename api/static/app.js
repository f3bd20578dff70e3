// 交办助手网页（公共部分）：密钥、接口调用、单位名录与单位选择器、标签页、文字高亮。
// 不依赖任何外部资源；所有数据以 textContent 写入页面，从不拼接 HTML。
"use strict";

const API = "/api/v1";
const KEY_NAME = "jiaoban_api_key";
let departments = [];
const onDepartments = []; // 名录载入后要做的事

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

// ---- 时间：按办公地时区（JIAOBAN_TIMEZONE，默认北京时间）显示，不按浏览器或服务器所在时区 ----
let timeZone = "Asia/Shanghai";
const ZONED = /(Z|[+-]\d\d:?\d\d)$/;

function zoned(parts) {
  // sv-SE 的格式就是 2026-12-02 08:30；hourCycle h23 避免“24:00”。
  return new Intl.DateTimeFormat("sv-SE", Object.assign({ timeZone, hourCycle: "h23" }, parts));
}

// 服务器给出的时间（UTC，ISO 8601）→ 办公地的“年-月-日 时:分”；不是时间的文字原样返回。
function localStamp(iso) {
  if (!iso) return "";
  const d = new Date(ZONED.test(iso) ? iso : iso + "Z");
  if (isNaN(d)) return iso;
  return zoned({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(d);
}

// 办公地的今天，YYYY-MM-DD（北京时间 0–8 点，UTC 的日期还是昨天）。
function localToday() {
  return zoned({ year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

function pct(p) {
  return Math.round(p * 100) + "%";
}

function showMessage(text) {
  showNotice("");
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

function showNotice(text) {
  const box = $("notice");
  box.textContent = text || "";
  box.hidden = !text;
}

function newRequestId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "r" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
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
  signIn();
});

// 登录后按角色显示导航：只显示本角色能用的视图。
const ROLE_NAMES = { admin: "管理", assigner: "交办", drafter: "答复起草", supervisor: "督查" };
let me = null;
const onSignIn = [];

async function signIn() {
  try {
    me = await api("/keys/me");
    if (me.timezone) timeZone = me.timezone;
  } catch (err) {
    showMessage(err.message);
    return;
  }
  $("role-label").textContent = ROLE_NAMES[me.role] + (me.unit ? " · " + me.unit.name : "") + " · " + me.name;
  let first = null;
  for (const tab of document.querySelectorAll("#nav .tab")) {
    const ok = me.actions.includes(tab.dataset.action);
    tab.hidden = !ok;
    if (ok && !first) first = tab.dataset.tab;
  }
  showTab(first);
  for (const f of onSignIn) f();
  loadDepartments();
}
$("key-change").addEventListener("click", askKey);

async function call(path, options = {}) {
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
  if (!resp.ok) {
    const data = await resp.json().catch(() => null);
    if (resp.status === 401) {
      sessionStorage.removeItem(KEY_NAME);
      updateKeyLabel();
      askKey();
    }
    const err = new Error(data && data.error ? data.error.message : "请求失败（HTTP " + resp.status + "）");
    err.status = resp.status;
    err.body = data;
    throw err;
  }
  return resp;
}

async function api(path, options = {}) {
  const resp = await call(path, options);
  return resp.status === 204 ? null : resp.json();
}

// 带密钥下载文件（普通链接无法附带密钥）。
async function download(path, fallbackName) {
  const resp = await call(path);
  const disposition = resp.headers.get("Content-Disposition") || "";
  const m = /filename\*=UTF-8''([^;]+)/.exec(disposition);
  const name = m ? decodeURIComponent(m[1]) : fallbackName;
  const url = URL.createObjectURL(await resp.blob());
  const a = el("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return name;
}

// 按钮在请求进行中不可再点（防止连击重复提交）。
async function busy(buttons, work) {
  const list = Array.isArray(buttons) ? buttons : [buttons];
  for (const b of list) b.disabled = true;
  try {
    return await work();
  } finally {
    for (const b of list) b.disabled = false;
  }
}

async function loadDepartments() {
  try {
    const data = await api("/departments?include_inactive=false");
    departments = data.data;
    for (const f of onDepartments) f();
  } catch (err) {
    showMessage(err.message);
  }
}

function deptById(id) {
  return departments.find((d) => d.id === id);
}

function deptMatches(d, q) {
  if (!q) return true;
  return [d.name, d.short_name, ...(d.aliases || [])].some((n) => n && n.includes(q));
}

// 单位选择器：输入全称、简称或别名中的任意文字筛选，点击或回车选定。
function unitPicker(initialId, placeholder) {
  const wrap = el("span", null, "picker");
  const input = el("input");
  input.type = "search";
  input.placeholder = placeholder || "输入单位名称、简称或别名";
  input.setAttribute("aria-label", input.placeholder);
  const list = el("ul", null, "picker-list");
  list.hidden = true;
  wrap.append(input, list);
  let value = initialId || "";
  const show = () => {
    const d = deptById(value);
    input.value = d ? d.name : "";
  };
  const fill = () => {
    list.textContent = "";
    const q = input.value.trim();
    const found = departments.filter((d) => deptMatches(d, q)).slice(0, 12);
    for (const d of found) {
      const li = el("li", d.name + (d.short_name ? "（" + d.short_name + "）" : ""));
      li.dataset.id = d.id;
      li.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        pick(d.id);
      });
      list.appendChild(li);
    }
    if (!found.length) list.appendChild(el("li", "没有匹配的单位", "muted"));
    list.hidden = false;
  };
  const pick = (id) => {
    value = id;
    show();
    list.hidden = true;
    wrap.dispatchEvent(new CustomEvent("picked", { detail: id }));
  };
  input.addEventListener("focus", () => {
    input.select();
    fill();
  });
  input.addEventListener("input", fill);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      const first = list.querySelector("li[data-id]");
      if (first) pick(first.dataset.id);
    } else if (ev.key === "Escape") {
      list.hidden = true;
      show();
    }
  });
  input.addEventListener("blur", () => {
    list.hidden = true;
    show();
  });
  show();
  return { node: wrap, input, value: () => value, set: (id) => { value = id; show(); } };
}

// 多个单位（协办）：已选的以标签显示，可删除；下方选择器添加。
function unitsPicker(initialIds, placeholder) {
  const wrap = el("span", null, "units-picker");
  const chips = el("span", null, "chips");
  let ids = (initialIds || []).filter((id) => deptById(id));
  const picker = unitPicker("", placeholder || "添加协办单位");
  const draw = () => {
    chips.textContent = "";
    for (const id of ids) {
      const chip = el("span", (deptById(id) || { name: id }).name, "chip");
      const x = el("button", "×", "chip-x");
      x.type = "button";
      x.title = "移除";
      x.addEventListener("click", () => {
        ids = ids.filter((i) => i !== id);
        draw();
      });
      chip.appendChild(x);
      chips.appendChild(chip);
    }
  };
  picker.node.addEventListener("picked", (ev) => {
    if (ev.detail && !ids.includes(ev.detail)) ids.push(ev.detail);
    picker.set("");
    draw();
  });
  wrap.append(chips, picker.node);
  draw();
  return { node: wrap, input: picker.input, value: () => ids.slice(), set: (list) => { ids = list.slice(); draw(); } };
}

// 把 terms 在文字中标出（<mark>），用于显示决定建议的词语。
function highlighted(text, terms) {
  const node = el("span");
  const words = (terms || []).filter((t) => t && t.length > 0).sort((a, b) => b.length - a.length);
  if (!words.length) {
    node.textContent = text;
    return node;
  }
  let i = 0;
  while (i < text.length) {
    let hit = null;
    let at = text.length;
    for (const w of words) {
      const j = text.indexOf(w, i);
      if (j >= 0 && (j < at || (j === at && hit && w.length > hit.length))) {
        at = j;
        hit = w;
      }
    }
    if (!hit) {
      node.appendChild(document.createTextNode(text.slice(i)));
      break;
    }
    if (at > i) node.appendChild(document.createTextNode(text.slice(i, at)));
    node.appendChild(el("mark", hit));
    i = at + hit.length;
  }
  return node;
}

function bar(probability) {
  const track = el("span", null, "bar-track");
  const b = el("span", null, "bar");
  b.style.width = Math.max(1, Math.round(probability * 100)) + "%";
  track.appendChild(b);
  return track;
}

// ---- 标签页 ----
function showTab(name) {
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.dataset.tab === name);
  for (const panel of document.querySelectorAll("main > .panel")) panel.hidden = panel.id !== "tab-" + name;
}
const onTab = {}; // 切换到某个视图时要做的事（如刷新列表）
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    showTab(tab.dataset.tab);
    if (onTab[tab.dataset.tab]) onTab[tab.dataset.tab]();
  });
}

window.addEventListener("DOMContentLoaded", () => {
  updateKeyLabel();
  for (const tab of document.querySelectorAll("#nav .tab")) tab.hidden = true;
  if (getKey()) signIn();
  else askKey();
});
