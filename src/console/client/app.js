// The taugate console in the browser: sign in, load a file, score, label, adapt, roll back, explain, and
// see what learning mode learnt from live traffic and apply its proposed τ.
// No framework and no build step. The rows are attack strings, so every node is built with textContent
// (the page's Trusted Types policy makes any HTML sink throw). The token lives in this tab's
// sessionStorage and travels only as the API's bearer token.

const pageBody = document.body;
const API = pageBody.dataset.api;
const MAX_BYTES = Number(pageBody.dataset.maxBytes);
const SESSION_KEY = "taugate.console.session";
/** Rows per dry-run request, and bytes: well inside the API's limits (1,000 records, 8 MiB). */
const SCORE_BATCH = 250;
const SCORE_BATCH_BYTES = 4 * 1024 * 1024;
const SVG = "http://www.w3.org/2000/svg";
const DECISION_ORDER = { block: 2, tag: 1, allow: 0 };
const LABEL_NAMES = { 0: "benign", 1: "attack" };
const utf8 = new TextEncoder();

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes, never markup). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "className") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------------------------------------------
// State

/** `{ tenant, token }` while signed in. */
let session = null;
/** One per loaded request: `{ n, record, label, score, decision, flagged, before, selected }`. */
let rows = [];
/** What the last scoring used: `{ tau, head: { source, version }, mode }`. */
let scoring = null;
/** What the scores in the "Before" column came from (a sentence), or null. */
let beforeWhat = null;
let sort = { key: "n", dir: 1 };
let whyRow = null;
let whyRequest = 0;
/** The last `GET .../head` answer, or null when the tenant has no head of its own. */
let head = null;
/** The last `GET .../learning` answer, or null before it came. */
let learning = null;
let learningRequest = 0;

// ---------------------------------------------------------------------------------------------------
// Messages

function announce(text) {
  $("status").textContent = text;
}

function fail(text) {
  const alert = $("alert");
  alert.textContent = text;
  alert.classList.add("shown");
}

function clearAlert() {
  const alert = $("alert");
  alert.textContent = "";
  alert.classList.remove("shown");
}

/** An error answer of the API (or of the network). */
class ApiFailure extends Error {
  constructor(status, data) {
    super(typeof data?.reason === "string" ? data.reason : `the worker answered HTTP ${status}`);
    this.status = status;
    this.code = typeof data?.error === "string" ? data.error : "http_error";
    this.data = data ?? {};
  }
}

/** Runs an action with its button disabled and marked busy; shows the error if it fails. */
async function busy(button, action) {
  if (button.getAttribute("aria-busy") === "true") return;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  pageBody.classList.add("busy");
  clearAlert();
  try {
    await action();
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401 && session !== null) {
      signOut("Your token is no longer valid: sign in again.");
      return;
    }
    announce("");
    fail(
      err instanceof ApiFailure ? sentence(err.message) : err.name === "Error" // the console's own messages, already sentences
        ? err.message
        : `Something went wrong: ${err.message}`,
    );
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
    pageBody.classList.remove("busy");
    updateButtons();
  }
}

function sentence(text) {
  const t = String(text).trim();
  return t ? t[0].toUpperCase() + t.slice(1) + (/[.!?]\)?$/.test(t) ? "" : ".") : "";
}

// ---------------------------------------------------------------------------------------------------
// The API

/**
 * Calls a route of the tenant API for the signed-in tenant.
 *
 * @param {string} path After `/tenants/<tenant>`.
 * @param {{ method?: string, body?: string, type?: string, query?: Record<string, string> }} options
 * @returns {Promise<any>} The JSON answer.
 * @throws {ApiFailure} On an error answer or no answer.
 */
async function call(path, { method = "GET", body, type, query } = {}) {
  const qs = query ? `?${new URLSearchParams(query)}` : "";
  const url = `${API}/tenants/${encodeURIComponent(session.tenant)}${path}${qs}`;
  const headers = { authorization: `Bearer ${session.token}` };
  if (type) headers["content-type"] = type;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body,
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (err) {
    throw new ApiFailure(0, { error: "network", reason: `the worker could not be reached (${err.message})` });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch { /* not JSON: said below */ }
  if (!res.ok) throw new ApiFailure(res.status, data);
  if (data === null || typeof data !== "object") {
    throw new ApiFailure(res.status, { error: "bad_answer", reason: "the worker's answer was not JSON" });
  }
  return data;
}

/** What a row sends: the canonical record without label, family or tenant. */
function wire(record, label) {
  const out = { method: record.method, url: record.url };
  if (record.headers) out.headers = record.headers;
  if (record.body !== undefined) out.body = record.body;
  if (label === 0 || label === 1) out.label = label;
  return JSON.stringify(out);
}

/** Dry-run scores of rows, in batches within the API's limits; returns the last answer's scoring. */
async function scoreRows(list, onProgress) {
  let last = null;
  for (let i = 0; i < list.length;) {
    const batch = [];
    let bytes = 0;
    while (i < list.length && batch.length < SCORE_BATCH) {
      const line = wire(list[i].record);
      const size = utf8.encode(line).length + 1;
      if (batch.length > 0 && bytes + size > SCORE_BATCH_BYTES) break;
      batch.push({ row: list[i], line });
      bytes += size;
      i++;
    }
    const out = await call("/score", {
      method: "POST",
      body: batch.map((b) => b.line).join("\n"),
      type: "application/x-ndjson",
      query: { explain: "0" },
    });
    for (const r of out.results) {
      const row = batch[r.index - 1]?.row;
      if (!row) continue;
      row.score = r.score;
      row.decision = r.decision;
      row.flagged = r.flagged;
    }
    last = { tau: out.tau, head: out.head, mode: out.mode };
    onProgress?.(i, list.length);
  }
  return last;
}

/** Re-scores every row with the head active now; the previous scores go to the "Before" column. */
async function rescore(why) {
  if (rows.length === 0) return;
  for (const r of rows) r.before = { score: r.score, decision: r.decision };
  beforeWhat = scoringText();
  scoring = await scoreRows(rows) ?? scoring;
  whyRow = null;
  renderWhy();
  renderRows();
  renderHistogram();
  const labelled = rows.some((r) => r.label !== null);
  announce(
    `${why} ${rows.length} requests re-scored with ${scoringText()}.${
      labelled ? ` ${outcome("With it")}` : ""
    }`,
  );
}

function headName(h) {
  if (!h || h.source === "global") return "the global head";
  if (h.source === "stale") return "the global head (the tenant head is for another model)";
  return `tenant head v${h.version}`;
}

function scoringText() {
  return scoring ? `${headName(scoring.head)} (τ ${fmt(scoring.tau)}, mode ${scoring.mode})` : "";
}

// ---------------------------------------------------------------------------------------------------
// Sign in and out

function readSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    if (s && typeof s.tenant === "string" && typeof s.token === "string") return s;
  } catch { /* a damaged entry: sign in again */ }
  return null;
}

/** Checks a token by reading the tenant's head: 200 and "no head" (404) both prove it. */
async function openSession(candidate) {
  session = candidate;
  try {
    head = await call("/head");
  } catch (err) {
    if (!(err instanceof ApiFailure && err.status === 404 && err.code === "no_head")) {
      session = null;
      throw err;
    }
    head = null;
  }
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(candidate));
  } catch { /* storage refused (a private mode): the session lasts as long as the page */ }
  $("who-tenant").textContent = candidate.tenant;
  $("who-kind").textContent = isOperator() ? "(operator token)" : "(tenant token)";
  $("who").hidden = false;
  $("sign-out").hidden = false;
  $("signin").hidden = true;
  $("workspace").hidden = false;
  renderHistory();
  renderRows();
  renderHistogram();
  learning = null;
  renderLearning();
  // Off the sign-in path: the panel fills in when its answer comes (an error shows like any other).
  busy($("learning-refresh"), () => refreshLearning(false));
}

function isOperator() {
  return session !== null && !session.token.startsWith("tgt_");
}

function signOut(message) {
  try {
    sessionStorage.removeItem(SESSION_KEY);
  } catch { /* nothing was stored */ }
  session = null;
  head = null;
  rows = [];
  scoring = null;
  beforeWhat = null;
  whyRow = null;
  $("workspace").hidden = true;
  $("who").hidden = true;
  $("sign-out").hidden = true;
  $("signin").hidden = false;
  $("token").value = "";
  $("file").value = "";
  $("load-summary").textContent = "";
  $("skipped").hidden = true;
  $("adapt-result").hidden = true;
  $("adapt-result").replaceChildren();
  learning = null;
  learningRequest++; // an answer still on its way is for the session that ended
  $("learning-result").hidden = true;
  $("learning-result").replaceChildren();
  renderLearning();
  renderWhy();
  clearAlert();
  if (message) fail(message);
  else announce("Signed out.");
  $("token").focus();
}

async function onSignIn(event) {
  event.preventDefault();
  const tenant = $("tenant").value.trim().toLowerCase();
  const token = $("token").value.trim();
  if (!tenant || !token) {
    fail("Give the tenant and the token.");
    (tenant ? $("token") : $("tenant")).focus();
    return;
  }
  const button = $("signin-submit");
  button.disabled = true;
  clearAlert();
  try {
    await openSession({ tenant, token });
    $("token").value = "";
    announce(
      `Signed in to ${tenant}. ${head ? `Its head is v${head.version}.` : "It uses the global head."}`,
    );
    $("load-h").focus();
  } catch (err) {
    const text = err instanceof ApiFailure && err.status === 401
      ? "That token is not valid."
      : err instanceof ApiFailure && err.status === 403
      ? `That token cannot act on ${tenant}: ${err.message}.`
      : sentence(err.message);
    fail(text);
    $("token").focus();
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Loading a file

async function loadFile(file) {
  if (!file) return;
  if (file.size > MAX_BYTES) {
    fail(
      `${file.name} is ${bytesText(file.size)}: the limit is ${
        bytesText(MAX_BYTES)
      }. Load a smaller part of it.`,
    );
    return;
  }
  const text = await file.text();
  announce(`Reading ${file.name}…`);
  let out;
  try {
    out = await call("/import", {
      method: "POST",
      body: text,
      type: "text/plain; charset=utf-8",
      query: { format: $("format").value },
    });
  } catch (err) {
    if (err instanceof ApiFailure && err.code === "unknown_format") {
      throw new Error(
        `${file.name} does not look like a HAR file, JSONL or an access log. If it is one, choose its format ` +
          "in the Format list and load it again.",
      );
    }
    if (err instanceof ApiFailure && err.code === "empty_upload") renderSkipped(err.data);
    throw err;
  }
  rows = out.records.map((record, i) => ({
    n: i + 1,
    record,
    label: record.label === 0 || record.label === 1 ? record.label : null,
    score: null,
    decision: null,
    flagged: false,
    before: null,
    selected: false,
  }));
  beforeWhat = null;
  whyRow = null;
  renderWhy();
  $("adapt-result").hidden = true; // it was about other rows
  const kinds = { har: "HAR", jsonl: "JSONL", clf: "access log", raw: "raw HTTP" };
  const skipped = out.skippedCount;
  $("load-summary").textContent =
    `${file.name} (${kinds[out.format] ?? out.format}): ${out.records.length} ` +
    `request${out.records.length === 1 ? "" : "s"}${
      skipped ? `, ${skipped} entr${skipped === 1 ? "y" : "ies"} skipped` : ""
    }.`;
  renderSkipped(out);
  renderRows();
  announce(`Scoring ${rows.length} requests…`);
  scoring = await scoreRows(rows, (done, all) => announce(`Scoring… ${done} of ${all}`));
  renderRows();
  renderHistogram();
  const flagged = rows.filter((r) => r.flagged).length;
  announce(`Loaded ${rows.length} requests from ${file.name}: ${flagged} flagged at τ ${fmt(scoring.tau)}.`);
}

function renderSkipped(out) {
  const details = $("skipped");
  if (!out.skippedCount) {
    details.hidden = true;
    return;
  }
  const where = out.format === "har" ? "entry" : "line";
  $("skipped-summary").textContent =
    `${out.skippedCount} skipped entr${out.skippedCount === 1 ? "y" : "ies"}` +
    (out.skippedCount > out.skipped.length ? ` (the first ${out.skipped.length} shown)` : "");
  $("skipped-list").replaceChildren(
    ...out.skipped.map((s) =>
      el("li", { text: s.line === 0 ? s.reason : `${where} ${s.line}: ${s.reason}` })
    ),
  );
  details.hidden = false;
}

// ---------------------------------------------------------------------------------------------------
// The table

function target(url) {
  // Absolute URLs (HAR) show as origin-form: the host is the tenant's anyway.
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  const rest = m ? url.slice(m[0].length) : url;
  return rest === "" ? "/" : rest;
}

/**
 * Text as a person reads it: percent-escapes decoded; control characters, and the bidirectional controls
 * that could make a payload read as something else, shown as escapes.
 */
function readable(text) {
  let s = text;
  try {
    s = decodeURIComponent(s);
  } catch { /* not valid percent-encoding: shown as it is */ }
  return s.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function shownRows() {
  const d = $("filter-decision").value, l = $("filter-label").value;
  const list = rows.filter((r) =>
    (d === "all" || (d === "flagged" ? r.flagged : r.decision === d)) &&
    (l === "all" || (l === "none" ? r.label === null : String(r.label) === l))
  );
  const key = sort.key;
  const value = (r) =>
    key === "score"
      ? r.score ?? -1
      : key === "before"
      ? r.before?.score ?? -1
      : key === "decision"
      ? DECISION_ORDER[r.decision] ?? -1
      : key === "method"
      ? r.record.method
      : key === "url"
      ? target(r.record.url)
      : r.n;
  return list.sort((a, b) => {
    const x = value(a), y = value(b);
    return (x < y ? -1 : x > y ? 1 : a.n - b.n) * sort.dir;
  });
}

function renderRows() {
  const list = shownRows();
  const shown = new Set(list);
  for (const r of rows) if (!shown.has(r)) r.selected = false;
  $("rows-body").replaceChildren(...list.map(rowElement));
  $("rows-empty").hidden = rows.length > 0;
  $("rows-empty").textContent = rows.length === 0 ? "No requests yet: load a file above." : "";
  $("rows").hidden = rows.length === 0;
  $("rows-caption").textContent = rows.length === 0
    ? "Loaded requests"
    : `Loaded requests: ${list.length} of ${rows.length} shown`;
  $("scored-with").textContent = scoring
    ? `Scores: ${scoringText()}.${beforeWhat ? ` Before: ${beforeWhat}.` : ""}`
    : "";
  for (const th of document.querySelectorAll("#rows th[data-sort]")) {
    const on = th.dataset.sort === sort.key;
    th.setAttribute("aria-sort", on ? (sort.dir === 1 ? "ascending" : "descending") : "none");
    th.querySelector(".arrow").textContent = on ? (sort.dir === 1 ? " ▲" : " ▼") : "";
  }
  const beforeShown = rows.some((r) => r.before !== null);
  document.querySelector('#rows th[data-sort="before"]').hidden = !beforeShown;
  for (const td of document.querySelectorAll("#rows td.before")) td.hidden = !beforeShown;
  updateSelection();
}

function decisionBadge(decision, flagged) {
  if (!decision) return el("span", { className: "badge", text: "…" });
  const text = decision === "allow" && flagged ? "allow (flagged)" : decision;
  return el("span", { className: `badge ${decision}${flagged ? " flagged" : ""}`, text });
}

function rowElement(r) {
  const url = target(r.record.url);
  const check = el("input", { type: "checkbox", "aria-label": `Select request ${r.n}` });
  check.checked = r.selected;
  check.addEventListener("change", () => {
    r.selected = check.checked;
    updateSelection();
  });
  const label = el(
    "select",
    { "aria-label": `Label of request ${r.n}`, className: "label-select" },
    el("option", { value: "", text: "—" }),
    el("option", { value: "0", text: "benign" }),
    el("option", { value: "1", text: "attack" }),
  );
  label.value = r.label === null ? "" : String(r.label);
  label.addEventListener("change", () => {
    r.label = label.value === "" ? null : Number(label.value);
    tr.dataset.label = label.value;
    renderHistogram();
    announce(`Request ${r.n} ${r.label === null ? "unlabelled" : `marked ${LABEL_NAMES[r.label]}`}.`);
  });
  const why = el("button", {
    type: "button",
    className: "quiet why",
    text: "Why",
    "aria-label": `Why request ${r.n} scored ${fmt(r.score)}`,
    "aria-pressed": whyRow === r ? "true" : "false",
  });
  why.addEventListener("click", () => showWhy(r));
  const delta = r.before && r.score !== null ? r.score - r.before.score : null;
  const tr = el(
    "tr",
    { "data-n": r.n, "data-label": r.label === null ? "" : String(r.label) },
    el("td", { className: "check" }, check),
    el("td", { className: "num", text: r.n }),
    el("td", { className: "method", text: r.record.method }),
    el(
      "td",
      { className: "url" },
      el("code", { text: readable(url), title: url }),
      r.record.body
        ? el("code", { className: "body", text: readable(r.record.body.slice(0, 300)), title: "body" })
        : null,
    ),
    el("td", { className: "num score", text: fmt(r.score) }),
    el("td", { className: "decision" }, decisionBadge(r.decision, r.flagged)),
    el("td", {}, label),
    el(
      "td",
      { className: "num before" },
      r.before ? el("span", { text: fmt(r.before.score) }) : null,
      delta !== null
        ? el("span", {
          className: `delta ${delta < -0.0005 ? "down" : delta > 0.0005 ? "up" : ""}`,
          text: ` ${delta < -0.0005 ? "↓" : delta > 0.0005 ? "↑" : "="} ${fmt(Math.abs(delta))}`,
          title: `${fmt(r.before.score)} → ${fmt(r.score)}`,
        })
        : null,
    ),
    el("td", {}, why),
  );
  if (whyRow === r) tr.classList.add("chosen");
  return tr;
}

function updateSelection() {
  const shown = [...document.querySelectorAll("#rows-body tr")].length;
  const selected = rows.filter((r) => r.selected).length;
  $("selection").textContent = `${selected} selected`;
  const all = $("select-all");
  all.checked = shown > 0 && selected === shown;
  all.indeterminate = selected > 0 && selected < shown;
  updateButtons();
}

function updateButtons() {
  const selected = rows.some((r) => r.selected);
  for (const id of ["mark-benign", "mark-attack", "mark-clear"]) {
    if ($(id).getAttribute("aria-busy") !== "true") $(id).disabled = !selected;
  }
  const older = head?.history?.some((h) => h.version < head.version) ?? false;
  if ($("rollback").getAttribute("aria-busy") !== "true") $("rollback").disabled = !older;
  if ($("reset").getAttribute("aria-busy") !== "true") $("reset").disabled = head === null;
  const learnt = learning !== null && (learning.requests > 0 || learning.seen > 0);
  if ($("learning-reset").getAttribute("aria-busy") !== "true") $("learning-reset").disabled = !learnt;
}

function markSelected(label) {
  const chosen = rows.filter((r) => r.selected);
  for (const r of chosen) {
    r.label = label;
    r.selected = false;
  }
  renderRows();
  renderHistogram();
  announce(
    `${chosen.length} request${chosen.length === 1 ? "" : "s"} ${
      label === null ? "unlabelled" : `marked ${LABEL_NAMES[label]}`
    }.`,
  );
}

// ---------------------------------------------------------------------------------------------------
// The histogram of labelled scores

function renderHistogram() {
  const box = $("hist");
  const labelled = rows.filter((r) => r.label !== null && r.score !== null);
  const W = 640, H = 200, left = 36, right = 12, top = 28, bottom = 30;
  const bins = 20;
  const counts = [new Array(bins).fill(0), new Array(bins).fill(0)];
  for (const r of labelled) counts[r.label][Math.min(bins - 1, Math.floor(r.score * bins))]++;
  const most = Math.max(1, ...counts[0], ...counts[1]);
  const x = (v) => left + v * (W - left - right);
  const y = (c) => H - bottom - (c / most) * (H - top - bottom);
  const benign = labelled.filter((r) => r.label === 0), attack = labelled.filter((r) => r.label === 1);
  const tau = scoring?.tau;
  const above = (list) => list.filter((r) => tau !== undefined && r.score >= tau).length;
  const summary = labelled.length === 0
    ? "No labelled requests yet"
    : `${benign.length} benign labelled, ${above(benign)} at or above τ; ${attack.length} attack labelled, ${
      above(attack)
    } at or above τ`;
  const nodes = [svg("title", { id: "hist-title" }, summary)];
  // Axes and ticks.
  nodes.push(svg("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "axis" }));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    nodes.push(svg("line", { x1: x(t), y1: H - bottom, x2: x(t), y2: H - bottom + 4, class: "axis" }));
    nodes.push(
      svg("text", { x: x(t), y: H - bottom + 16, class: "tick", "text-anchor": "middle" }, String(t)),
    );
  }
  nodes.push(svg("text", { x: left - 6, y: y(most) + 4, class: "tick", "text-anchor": "end" }, String(most)));
  nodes.push(svg("text", { x: left - 6, y: H - bottom, class: "tick", "text-anchor": "end" }, "0"));
  nodes.push(svg("text", { x: W - right, y: H - 2, class: "tick", "text-anchor": "end" }, "score"));
  // Bars: benign and attack side by side in each bin.
  const bw = (W - left - right) / bins;
  for (let b = 0; b < bins; b++) {
    for (const label of [0, 1]) {
      const c = counts[label][b];
      if (c === 0) continue;
      nodes.push(svg("rect", {
        x: x(b / bins) + 1 + label * (bw - 2) / 2,
        y: y(c),
        width: Math.max(1, (bw - 2) / 2),
        height: H - bottom - y(c),
        class: label === 0 ? "bar benign" : "bar attack",
      }, undefined));
      nodes.at(-1).append(
        svg(
          "title",
          {},
          `${c} ${LABEL_NAMES[label]} between ${fmt(b / bins, 2)} and ${fmt((b + 1) / bins, 2)}`,
        ),
      );
    }
  }
  if (tau !== undefined) {
    nodes.push(svg("line", { x1: x(tau), y1: top - 4, x2: x(tau), y2: H - bottom, class: "tau" }));
  }
  // Legend, above the plot: benign, attack, τ.
  nodes.push(svg("rect", { x: left, y: 4, width: 12, height: 12, class: "bar benign" }));
  nodes.push(svg("text", { x: left + 16, y: 14, class: "legend" }, `benign (${benign.length})`));
  nodes.push(svg("rect", { x: left + 110, y: 4, width: 12, height: 12, class: "bar attack" }));
  nodes.push(svg("text", { x: left + 126, y: 14, class: "legend" }, `attack (${attack.length})`));
  if (tau !== undefined) {
    nodes.push(svg("line", { x1: left + 220, y1: 10, x2: left + 240, y2: 10, class: "tau sample" }));
    nodes.push(svg("text", { x: left + 246, y: 14, class: "tau-label" }, `τ = ${fmt(tau)}`));
  }
  box.replaceChildren(...nodes);
  $("hist-caption").textContent = labelled.length === 0
    ? "Label some requests to see where their scores fall against τ."
    : `${summary}. Benign requests right of τ are false positives; attacks left of it are misses.`;
}

// ---------------------------------------------------------------------------------------------------
// "Why": the features that moved a row's score

async function showWhy(r) {
  whyRow = r;
  const ticket = ++whyRequest;
  for (const tr of document.querySelectorAll("#rows-body tr")) {
    const on = Number(tr.dataset.n) === r.n;
    tr.classList.toggle("chosen", on);
    tr.querySelector("button.why")?.setAttribute("aria-pressed", on ? "true" : "false");
  }
  renderWhy("loading");
  try {
    const out = await call("/score", {
      method: "POST",
      body: wire(r.record),
      type: "application/x-ndjson",
      query: { explain: "1", top: "10" },
    });
    if (ticket !== whyRequest) return;
    renderWhy(out);
    announce(`Explanation of request ${r.n} shown.`);
  } catch (err) {
    if (ticket !== whyRequest) return;
    renderWhy({ error: err.message });
  }
}

function renderWhy(out) {
  const box = $("why");
  const r = whyRow;
  if (!r) {
    box.replaceChildren(
      el("p", {
        className: "muted",
        text: "Choose “Why” on a request to see the features that moved its score most.",
      }),
    );
    return;
  }
  const parts = [
    el(
      "p",
      { className: "req" },
      el("code", { text: `${r.record.method} ${readable(target(r.record.url))}` }),
    ),
  ];
  if (r.record.body) {
    parts.push(el("p", { className: "req" }, el("code", { text: readable(r.record.body.slice(0, 300)) })));
  }
  if (out === "loading") {
    parts.push(el("p", { className: "muted", text: "Working out why…" }));
  } else if (out?.error) {
    parts.push(el("p", { className: "error", text: sentence(out.error) }));
  } else if (out) {
    const res = out.results[0];
    parts.push(
      el(
        "p",
        {},
        `Score ${fmt(res.score)} with ${headName(out.head)} (τ ${fmt(out.tau)}): `,
        decisionBadge(res.decision, res.flagged),
      ),
    );
    if (!out.explained || !res.why) {
      parts.push(el("p", { className: "muted", text: "This model cannot explain its scores here." }));
    } else {
      const most = Math.max(1e-9, ...res.why.map((w) => Math.abs(w.contribution)));
      const list = el("ol", { className: "why-list" });
      for (const w of res.why) {
        const toward = w.contribution >= 0 ? "attack" : "benign";
        const bar = el("span", { className: `why-bar ${toward}` });
        bar.style.width = `${Math.round((Math.abs(w.contribution) / most) * 100)}%`;
        list.append(
          el(
            "li",
            {},
            el("code", { className: "feature", text: w.feature }),
            el("span", { className: "why-track", "aria-hidden": "true" }, bar),
            el("span", {
              className: `why-value ${toward}`,
              text: `${w.contribution >= 0 ? "+" : "−"}${fmt(Math.abs(w.contribution))} toward ${toward}`,
            }),
          ),
        );
      }
      parts.push(list);
      parts.push(
        el("p", {
          className: "muted small",
          text: `Logit ${fmt(res.logit)}. Each value is the feature's first-order share of the logit.`,
        }),
      );
    }
  }
  box.replaceChildren(...parts);
}

// ---------------------------------------------------------------------------------------------------
// Adapt

async function adapt(force) {
  const labelled = rows.filter((r) => r.label !== null);
  if (labelled.length === 0) {
    fail("Label at least one request first: mark the false positives benign and the misses attack.");
    return;
  }
  const send = $("include-unlabelled").checked ? rows : labelled;
  announce(`Adapting from ${labelled.length} labelled requests…`);
  const box = $("adapt-result");
  let out;
  try {
    out = await call("/examples", {
      method: "POST",
      body: send.map((r) => wire(r.record, r.label)).join("\n"),
      type: "application/x-ndjson",
      query: force ? { force: "1" } : undefined,
    });
  } catch (err) {
    if (err instanceof ApiFailure && err.code === "guard_refused") {
      renderAdaptResult(err.data, err.message);
      box.hidden = false;
      box.focus();
      announce("The guard refused the new head: the active head is unchanged.");
      return;
    }
    throw err;
  }
  renderAdaptResult(out, null);
  box.hidden = false;
  await refreshHistory();
  await rescore(`Version ${out.version} is active.`);
  box.append(el("p", { id: "adapt-outcome", className: "outcome", text: outcome("With the new head") }));
  box.focus();
}

/** How the labelled rows fare with the scores shown now, naming the ones still wrong. */
function outcome(lead) {
  const wrong = (label) => rows.filter((r) => r.label === label && r.flagged === (label === 0));
  const count = (label) => rows.filter((r) => r.label === label).length;
  const list = (rs) => rs.slice(0, 8).map((r) => `#${r.n}`).join(", ") + (rs.length > 8 ? ", …" : "");
  const fp = wrong(0), miss = wrong(1);
  const parts = [];
  if (count(0)) {
    parts.push(
      `${count(0) - fp.length} of ${count(0)} benign requests pass` +
        (fp.length ? ` (still flagged: ${list(fp)})` : ""),
    );
  }
  if (count(1)) {
    parts.push(
      `${count(1) - miss.length} of ${count(1)} attacks are flagged` +
        (miss.length ? ` (missed: ${list(miss)})` : ""),
    );
  }
  return `${lead}: ${parts.join("; ")}.`;
}

function pct(x) {
  return `${(x * 100).toFixed(1)}%`;
}

function renderAdaptResult(out, refusal) {
  const box = $("adapt-result");
  const c = out.counts ?? {};
  const g = out.guard;
  const items = [];
  const dl = el("dl", { className: "facts" });
  const fact = (k, v) => dl.append(el("dt", { text: k }), el("dd", {}, v));
  if (!refusal) {
    fact("Version", el("strong", { id: "adapt-version", text: `v${out.version}` }));
    fact("Replaces", out.previousVersion ? `v${out.previousVersion}` : "the global head");
  }
  fact("Examples", `${c.benign ?? 0} benign, ${c.attack ?? 0} attack, ${c.unlabeled ?? 0} unlabelled`);
  fact(
    "τ",
    `${fmt(out.tau)} (${out.tauSource === "canaries" ? "matched on the canary attacks" : out.tauSource})`,
  );
  if (out.fit) {
    fact(
      "Fit",
      `${out.fit.method}, ${out.fit.steps} steps, loss ${fmt(out.fit.loss)}, ${out.fit.ms?.total ?? "?"} ms`,
    );
    if (typeof out.fit.endpoints === "number") {
      // A correction: it reaches the uploaded requests' endpoints only.
      fact(
        "Applies to",
        `${out.fit.endpoints} endpoint${
          out.fit.endpoints === 1 ? "" : "s"
        } of the upload (method and path); ` +
          "other requests keep the global score" +
          (out.fit.gate && typeof out.fit.gate.from === "number"
            ? `; there, in full to requests made of the upload's words (≥ ${
              pct(out.fit.gate.to)
            } of them), ` +
              `not at all below ${pct(out.fit.gate.from)}` +
              (Array.isArray(out.fit.bounds) && out.fit.bounds.length > 0
                ? ", nor to one with more parameters, escapes or keywords than the upload's"
                : "") +
              (typeof out.fit.shape === "number"
                ? ", nor to one with a parameter name or value characters the upload never sent there"
                : "") +
              ": upload near duplicates with new words too"
            : ""),
      );
    }
  }
  if (g) {
    const verdict = g.forced ? "forced past the guard" : g.passed ? "passed" : "refused";
    fact("Guard", el("span", { className: `verdict ${g.passed ? "ok" : "bad"}`, text: verdict }));
    fact(
      "Canary attacks",
      `${pct(g.canaries.tenant)} of ${g.canaries.count} caught (global head ${pct(g.canaries.global)})`,
    );
    fact(
      "Benign flagged",
      g.benign.count > 0
        ? `${pct(g.benign.tenant)} of ${g.benign.count} (global head ${pct(g.benign.global)})`
        : "not checked (fewer than two benign examples)",
    );
  }
  items.push(
    el("h3", {
      text: refusal ? "Not adapted: the guard refused the new head" : `Adapted: v${out.version} is active`,
    }),
  );
  if (refusal) items.push(el("p", { className: "error", id: "refusal", text: sentence(refusal) }));
  items.push(dl);
  if (refusal && isOperator()) {
    const force = el("button", {
      type: "button",
      className: "danger",
      id: "force",
      text: "Store it anyway (operator override)",
    });
    force.addEventListener("click", () => busy(force, () => adapt(true)));
    items.push(
      el(
        "p",
        { className: "warn" },
        "As the operator you may store this head despite the guard. It may let attacks through.",
      ),
      force,
    );
  }
  box.className = `result ${refusal ? "refused" : "adapted"}`;
  box.replaceChildren(...items);
}

// ---------------------------------------------------------------------------------------------------
// History, rollback, reset

async function refreshHistory() {
  try {
    head = await call("/head");
  } catch (err) {
    if (!(err instanceof ApiFailure && err.status === 404 && err.code === "no_head")) throw err;
    head = null;
  }
  renderHistory();
}

function renderHistory() {
  const table = $("history");
  if (head === null) {
    $("history-summary").textContent = "No head of your own: the global head scores your requests.";
    table.hidden = true;
    $("history-body").replaceChildren();
    updateButtons();
    return;
  }
  $("history-summary").textContent = `Active: v${head.version}, τ ${fmt(head.tau)}${
    head.stale ? " (fitted for another model: the global head is used)" : ""
  }.`;
  const list = [...head.history].sort((a, b) => b.version - a.version);
  $("history-body").replaceChildren(
    ...list.map((h) => {
      const c = h.counts ?? {};
      return el(
        "tr",
        { className: h.active ? "active" : "" },
        el(
          "td",
          {},
          el("code", { text: `v${h.version}` }),
          h.active ? el("div", {}, el("span", { className: "badge allow", text: "active" })) : null,
        ),
        el("td", { text: new Date(h.createdAt).toLocaleString() }),
        el("td", {
          text: typeof c.learnt === "number"
            ? `τ learnt from ${count(c.learnt)} requests`
            : `${c.benign ?? 0} benign, ${c.attack ?? 0} attack, ${c.unlabeled ?? 0} unlabelled`,
        }),
      );
    }),
  );
  table.hidden = false;
  updateButtons();
}

/** A confirmation in a modal dialog; resolves `true` when confirmed. */
function confirmDialog(title, text, ok) {
  const dialog = $("confirm");
  $("confirm-h").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  return new Promise((resolve) => {
    const done = (value) => {
      $("confirm-ok").removeEventListener("click", yes);
      $("confirm-cancel").removeEventListener("click", no);
      dialog.removeEventListener("close", closed);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const yes = () => done(true);
    const no = () => done(false);
    const closed = () => done(false); // Escape
    $("confirm-ok").addEventListener("click", yes);
    $("confirm-cancel").addEventListener("click", no);
    dialog.addEventListener("close", closed);
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

async function rollback() {
  const older = head.history.filter((h) => h.version < head.version).sort((a, b) => b.version - a.version)[0];
  const ok = await confirmDialog(
    "Roll back?",
    `v${older.version} becomes active again and v${head.version} is dropped from the history. ` +
      "Your site's next request uses it.",
    "Roll back",
  );
  if (!ok) return announce("Nothing was rolled back.");
  const out = await call("/head/rollback", { method: "POST" });
  $("adapt-result").hidden = true; // it described a version that is no longer active
  await refreshHistory();
  await rescore(`Rolled back from v${out.rolledBackFrom} to v${out.version}.`);
}

async function reset() {
  const ok = await confirmDialog(
    "Reset to the global head?",
    `Your head and its ${head.history.length} kept version${head.history.length === 1 ? "" : "s"} are ` +
      "deleted, and the global head scores your site's requests again. This cannot be undone.",
    "Delete my head",
  );
  if (!ok) return announce("Nothing was reset.");
  await call("/head", { method: "DELETE" });
  $("adapt-result").hidden = true; // it described a version that is no longer active
  await refreshHistory();
  await rescore("Back to the global head.");
}

// ---------------------------------------------------------------------------------------------------
// Learning from live traffic

/** The target that `progress` and `settled` of `GET .../learning` are about. */
const LEARNING_TARGET = 0.001;

/** What is wrong with a `GET .../learning` answer for this panel, or null. */
function learningProblem(L) {
  const num = (x) => typeof x === "number" && Number.isFinite(x);
  if (!num(L.requests) || L.requests < 0) return "it has no count of requests learnt";
  if (!Array.isArray(L.proposals) || !L.proposals.every((p) => num(p?.fpr) && num(p?.tau))) {
    return "its proposals are not a list of target rates and τ";
  }
  const h = L.histogram;
  if (!h || !num(h.lo) || !num(h.step) || h.step <= 0 || !Array.isArray(h.counts) || !h.counts.every(num)) {
    return "its histogram is not one of logit buckets";
  }
  return null;
}

/** Reads the tenant's learning and shows it; with `tell`, says so in the status line. */
async function refreshLearning(tell) {
  const ticket = ++learningRequest;
  let out;
  try {
    out = await call("/learning");
  } catch (err) {
    if (ticket === learningRequest && session !== null) unreadable();
    throw err;
  }
  if (ticket !== learningRequest || session === null) return; // a newer read, or signed out meanwhile
  const problem = learningProblem(out);
  if (problem) {
    unreadable();
    throw new Error(`The worker's learning answer cannot be shown: ${problem}.`);
  }
  learning = out;
  renderLearning();
  if (tell) {
    announce(
      out.requests === 0
        ? "Learning refreshed: nothing learnt yet."
        : `Learning refreshed: ${count(out.requests)} requests learnt.`,
    );
  }
}

/** No figures shown that the last read did not confirm. */
function unreadable() {
  learning = null;
  renderLearning();
  $("learning-summary").textContent = "Learning could not be read.";
}

function timeEl(iso) {
  if (typeof iso !== "string") return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "–" : el("time", { datetime: iso, text: d.toLocaleString() });
}

/** "1 in 1,000" for 0.001; a percentage when the rate is not one in a round number. */
function fprText(f) {
  const n = 1 / f;
  const r = Math.round(n);
  return r >= 2 && Math.abs(n - r) < 1e-6 * n ? `1 in ${count(r)}` : share(f);
}

function limitText(limit) {
  return limit === "canaries"
    ? "the canaries' limit"
    : limit === "floor"
    ? "the floor"
    : limit
    ? String(limit)
    : "not held";
}

function durationText(ms) {
  if (ms >= 60000 && ms % 60000 === 0) return `${ms / 60000} minute${ms === 60000 ? "" : "s"}`;
  const s = Math.round(ms / 1000);
  return `${s} second${s === 1 ? "" : "s"}`;
}

function learntUnder(L) {
  return L.head?.source === "tenant" ? `your head v${L.head.version}` : "the global head";
}

function renderLearning() {
  const L = learning;
  const body = $("learning-body");
  const empty = $("learning-empty");
  updateButtons();
  if (L === null) {
    $("learning-summary").textContent = session === null ? "Not loaded yet." : "Reading what was learnt…";
    $("learning-note").textContent = "";
    empty.hidden = true;
    body.hidden = true;
    $("learning-proposals-body").replaceChildren();
    return;
  }
  const tenant = session?.tenant ?? L.tenant;
  const on = typeof L.flushMs === "number";
  // What was learnt, when, from which worker.
  const note = [`Learning under ${learntUnder(L)}: it starts afresh with each new version of your head.`];
  note.push(
    on
      ? `What this worker learns shows at once; other isolates' learning arrives within ${
        durationText(L.flushMs)
      }, their flush interval.`
      : "The worker that answered does not learn (TAUGATE_LEARN is off there): only what other isolates " +
        "stored is shown.",
  );
  if (L.clients?.capped > 0) {
    note.push(
      `${count(L.clients.capped)} more requests were seen but not learnt: their client had already given ` +
        "its share (so that no one client can move τ).",
    );
  }
  if (L.shards?.stale > 0) {
    note.push(`${count(L.shards.stale)} stored shards learnt under another head are left out.`);
  }
  $("learning-note").textContent = note.join(" ");
  if (L.requests === 0) {
    $("learning-summary").replaceChildren(
      "Nothing learnt yet",
      ...(L.epochSince ? [" since learning started again on ", timeEl(L.epochSince)] : []),
      ".",
    );
    const env = (text) => el("code", { text });
    empty.replaceChildren(
      on
        ? el(
          "p",
          {},
          "Learning mode is on in this worker (",
          env("TAUGATE_LEARN=on"),
          `), but no request of ${tenant} has been learnt under ${learntUnder(L)} yet. Let your site serve ` +
            "its ordinary traffic, then choose Refresh. To onboard a site without blocking anything, run the " +
            "worker with ",
          env("TAUGATE_MODE=log"),
          " too: every request is learnt and none is blocked.",
        )
        : el(
          "p",
          {},
          "Learning mode must be on for the worker to learn your site's traffic: start it with ",
          env("TAUGATE_LEARN=on"),
          ", and to onboard a site with ",
          env("TAUGATE_MODE=log"),
          " as well (nothing is blocked, everything is learnt). Nothing was learnt yet.",
        ),
    );
    empty.hidden = false;
    body.hidden = true;
    $("learning-proposals-body").replaceChildren();
    return;
  }
  empty.hidden = true;
  $("learning-summary").replaceChildren(
    `${count(L.requests)} request${L.requests === 1 ? "" : "s"} of ${tenant} learnt since `,
    timeEl(L.since),
    "; last updated ",
    timeEl(L.updated),
    ".",
  );
  // How settled the estimate for the target is.
  const target = L.proposals.find((p) => p.fpr === LEARNING_TARGET) ?? null;
  const progress = typeof L.progress === "number" ? Math.min(1, Math.max(0, L.progress)) : 0;
  $("learning-progress").value = progress;
  const goal = `${fprText(target?.fpr ?? LEARNING_TARGET)} false positives`;
  $("learning-progress-text").textContent = L.settled
    ? `Settled for ${goal}.`
    : `${Math.round(progress * 100)}% settled for ${goal}` +
      (target && target.needed > 0 ? `: about ${count(target.needed)} more ordinary requests to go.` : ".");
  renderLearningHistogram(L);
  const served = L.served;
  $("learning-served").textContent = served && typeof served.tau === "number"
    ? `At the current τ ${fmt(served.tau)} (${learntUnder(L)}), ${
      share(served.flaggedRate)
    } of the learnt requests were flagged.`
    : "";
  $("learning-contamination").textContent = typeof L.contamination === "number"
    ? `Contamination: ${share(L.contamination)} of the learnt requests score like attacks (at or above τ ${
      fmt(L.tauMax, 4)
    }, where the canary attacks begin). They never raise τ: no proposal goes above ${fmt(L.tauMax, 4)}.`
    : "";
  $("learning-proposals-body").replaceChildren(...L.proposals.map(proposalRow));
  const p = L.profile;
  $("learning-profile").textContent = p
    ? `Site profile learnt: ${count(p.tokens)} structure token${
      p.tokens === 1 ? "" : "s"
    } seen at least ${p.minCount} times${
      Object.entries(p.byKind ?? {}).some(([, n]) => n > 0)
        ? ` (${Object.entries(p.byKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ")})`
        : ""
    }. Applying adds it to the head.`
    : "Proposed for the head as it serves now, without a site profile.";
  body.hidden = false;
}

function proposalRow(p) {
  const apply = el("button", {
    type: "button",
    className: "apply",
    text: "Apply",
    "aria-label": `Apply τ ${fmt(p.tau, 4)} for ${fprText(p.fpr)} false positives`,
  });
  apply.addEventListener("click", () => busy(apply, () => applyLearning(p.fpr)));
  return el(
    "tr",
    { "data-fpr": String(p.fpr), className: p.settled ? "settled" : "unsettled" },
    el("th", { scope: "row", text: fprText(p.fpr) }),
    el("td", { className: "num tau", text: fmt(p.tau, 4) }),
    el("td", { className: "num rate", text: share(p.expected_block_rate) }),
    el(
      "td",
      { className: "settled" },
      p.settled
        ? el("span", { className: "badge allow", text: "settled" })
        : el("span", { className: "badge tag", text: `not yet: ${count(p.needed)} more` }),
    ),
    el("td", { className: "limit", text: limitText(p.limit) }),
    el("td", {}, apply),
  );
}

/** The learnt score histogram on the logit axis, with each proposed τ and the current τ marked. */
function renderLearningHistogram(L) {
  const box = $("learning-hist");
  const h = L.histogram;
  const counts = h.counts;
  const W = 640, H = 230, left = 44, right = 14, top = 58, bottom = 36;
  const logitOf = (s) => Math.log(s / (1 - s));
  const score = (z) => 1 / (1 + Math.exp(-z));
  const inside = (s) => typeof s === "number" && s > 0 && s < 1;
  const end = h.lo + counts.length * h.step;
  // The axis spans the buckets with requests and every τ marked, with a little room.
  const first = counts.findIndex((c) => c > 0);
  const last = counts.findLastIndex((c) => c > 0);
  let lo = first < 0 ? -4 : h.lo + first * h.step;
  let hi = last < 0 ? 4 : h.lo + (last + 1) * h.step;
  const marked = [...L.proposals.map((p) => p.tau), L.served?.tau, L.tauMax].filter(inside).map(logitOf);
  for (const z of marked) {
    lo = Math.min(lo, z);
    hi = Math.max(hi, z);
  }
  const pad = Math.max(0.5, (hi - lo) * 0.04);
  lo = Math.max(h.lo, lo - pad);
  hi = Math.min(end, hi + pad);
  const x = (z) => left + ((Math.min(hi, Math.max(lo, z)) - lo) / (hi - lo)) * (W - left - right);
  const most = Math.max(1, ...counts);
  const y = (c) => H - bottom - (Math.log1p(c) / Math.log1p(most)) * (H - top - bottom);
  const n = counts.reduce((a, b) => a + b, 0);
  const groups = new Map(); // τ (as shown) → the targets proposing it
  for (const p of L.proposals) {
    const key = fmt(p.tau, 4);
    if (!groups.has(key)) groups.set(key, { tau: p.tau, fprs: [] });
    groups.get(key).fprs.push(p.fpr);
  }
  const proposed = [...groups.values()].map((g) =>
    `τ ${fmt(g.tau, 4)} for ${g.fprs.map(fprText).join(", ")}`
  );
  const nodes = [
    svg(
      "title",
      { id: "learning-hist-title" },
      `Scores of ${count(n)} learnt requests, on a logit scale: proposed ${proposed.join("; ")}; current τ ${
        fmt(L.served?.tau)
      }`,
    ),
  ];
  // Where the canaries say attacks begin: shaded.
  if (inside(L.tauMax)) {
    const zx = x(logitOf(L.tauMax));
    const zone = svg("rect", {
      x: zx,
      y: top - 4,
      width: Math.max(0, W - right - zx),
      height: H - bottom - top + 4,
      class: "zone",
    });
    zone.append(svg("title", {}, `At or above τ ${fmt(L.tauMax, 4)}: scored like the canary attacks`));
    nodes.push(zone);
  }
  // Axes: score ticks at round scores (placed by their logits), counts on a log scale.
  nodes.push(svg("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "axis" }));
  nodes.push(svg("line", { x1: left, y1: top - 4, x2: left, y2: H - bottom, class: "axis" }));
  let lastTick = -Infinity;
  for (const s of [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999]) {
    const z = logitOf(s);
    if (z < lo || z > hi) continue;
    const tx = x(z);
    if (tx - lastTick < 40) continue;
    lastTick = tx;
    nodes.push(svg("line", { x1: tx, y1: H - bottom, x2: tx, y2: H - bottom + 4, class: "axis" }));
    nodes.push(svg("text", { x: tx, y: H - bottom + 16, class: "tick", "text-anchor": "middle" }, String(s)));
  }
  nodes.push(
    svg("text", { x: W - right, y: H - 4, class: "tick", "text-anchor": "end" }, "score (logit scale)"),
  );
  nodes.push(svg("text", { x: left - 6, y: top + 4, class: "tick", "text-anchor": "end" }, count(most)));
  nodes.push(svg("text", { x: left - 6, y: H - bottom, class: "tick", "text-anchor": "end" }, "0"));
  nodes.push(svg("text", { x: 4, y: H - 4, class: "tick" }, "requests (log scale)"));
  // Bars: one per bucket with requests; those at or above τ_max in the attack colour.
  const zMax = inside(L.tauMax) ? logitOf(L.tauMax) : Infinity;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c <= 0) continue;
    const a = h.lo + i * h.step, b = a + h.step;
    const x0 = x(a), x1 = x(b);
    const bar = svg("rect", {
      x: x0,
      y: y(c),
      width: Math.max(1, x1 - x0 - 0.5),
      height: H - bottom - y(c),
      class: b > zMax ? "bar attack" : "bar learnt",
    });
    const from = i === 0 ? "0" : fmt(score(a), 4), to = i === counts.length - 1 ? "1" : fmt(score(b), 4);
    bar.append(svg("title", {}, `${count(c)} request${c === 1 ? "" : "s"} scoring ${from} to ${to}`));
    nodes.push(bar);
  }
  // Markers: the current τ, solid; each proposed τ, dashed, labelled with its targets. Labels that would
  // overlap go on another line.
  const labels = [];
  if (inside(L.served?.tau)) {
    const mx = x(logitOf(L.served.tau));
    nodes.push(svg("line", { x1: mx, y1: top - 4, x2: mx, y2: H - bottom, class: "tau current" }));
    labels.push({ x: mx, text: `now ${fmt(L.served.tau)}`, cls: "tau-label current" });
  }
  for (const g of groups.values()) {
    if (!inside(g.tau)) continue;
    const mx = x(logitOf(g.tau));
    nodes.push(svg("line", { x1: mx, y1: top - 4, x2: mx, y2: H - bottom, class: "tau proposal" }));
    labels.push({ x: mx, text: g.fprs.map(fprText).join(", "), cls: "tau-label proposal" });
  }
  const rows = [top - 8, top - 22, top - 36];
  const used = rows.map(() => []);
  for (const l of labels.sort((a, b) => a.x - b.x)) {
    const width = l.text.length * 6.2;
    let r = used.findIndex((spans) => spans.every((s) => Math.abs(s.x - l.x) > (s.width + width) / 2 + 4));
    if (r < 0) r = rows.length - 1;
    used[r].push({ x: l.x, width });
    const lx = Math.min(W - right - width / 2, Math.max(left + width / 2, l.x));
    nodes.push(svg("text", { x: lx, y: rows[r], class: l.cls, "text-anchor": "middle" }, l.text));
  }
  // Legend.
  nodes.push(svg("rect", { x: left, y: 2, width: 12, height: 10, class: "bar learnt key" }));
  nodes.push(svg("text", { x: left + 16, y: 11, class: "legend" }, "learnt requests"));
  nodes.push(svg("rect", { x: left + 120, y: 2, width: 12, height: 10, class: "bar attack key" }));
  nodes.push(svg("text", { x: left + 136, y: 11, class: "legend" }, "scoring like attacks"));
  nodes.push(svg("line", { x1: left + 270, y1: 7, x2: left + 290, y2: 7, class: "tau proposal key" }));
  nodes.push(svg("text", { x: left + 294, y: 11, class: "legend" }, "proposed τ (target)"));
  nodes.push(svg("line", { x1: left + 420, y1: 7, x2: left + 440, y2: 7, class: "tau current key" }));
  nodes.push(svg("text", { x: left + 444, y: 11, class: "legend" }, "current τ"));
  box.replaceChildren(...nodes);
  $("learning-hist-caption").textContent = L.basis === "profile"
    ? `Scores of ${count(L.histogramRequests ?? n)} of the ${
      count(L.requests)
    } requests learnt, as your head ` +
      "with the learnt site profile would score them (the first requests start the profile). The score " +
      "axis is stretched at both ends (logit scale), where τ sits; counts are on a log scale."
    : `Scores of ${count(L.histogramRequests ?? n)} requests learnt, as ${learntUnder(L)} scored them. The ` +
      "score axis is stretched at both ends (logit scale), where τ sits; counts are on a log scale.";
}

/** Applies the proposal for a target rate: a new head version with the learnt profile and τ. */
async function applyLearning(fpr) {
  announce(`Applying the τ proposed for ${fprText(fpr)} false positives…`);
  const box = $("learning-result");
  let out;
  try {
    out = await call("/learning/apply", {
      method: "POST",
      body: JSON.stringify({ fpr }),
      type: "application/json",
    });
  } catch (err) {
    if (err instanceof ApiFailure && (err.code === "guard_refused" || err.code === "not_enough_traffic")) {
      renderLearningResult(err.data, err);
      box.hidden = false;
      box.focus();
      announce(
        err.code === "guard_refused"
          ? "The guard refused the learnt τ: the active head is unchanged."
          : "Not enough traffic learnt yet to apply: the active head is unchanged.",
      );
      return;
    }
    throw err;
  }
  renderLearningResult(out, null);
  box.hidden = false;
  $("adapt-result").hidden = true; // it described a version that is no longer active
  await refreshHistory();
  await refreshLearning(false); // learning starts afresh under the new head
  const what = `Version ${out.version} is active, with the learnt τ ${fmt(out.tau, 4)}.`;
  if (rows.length > 0) await rescore(what);
  else announce(what);
  box.focus();
}

function renderLearningResult(out, failure) {
  const box = $("learning-result");
  const items = [];
  const dl = el("dl", { className: "facts" });
  const fact = (k, ...v) => dl.append(el("dt", { text: k }), el("dd", {}, ...v));
  if (!failure) {
    items.push(el("h3", { text: `Applied: v${out.version} is active` }));
    fact("Version", el("strong", { id: "learning-version", text: `v${out.version}` }));
    fact("Replaces", out.previousVersion ? `v${out.previousVersion}` : "the global head");
    fact(
      "τ",
      el("strong", { id: "learning-tau", text: fmt(out.tau, 4) }),
      ` for ${fprText(out.fpr)} false positives${out.limit ? `, held at ${limitText(out.limit)}` : ""}`,
    );
    fact("Expected block rate", share(out.expected_block_rate));
    fact(
      "Learnt from",
      `${count(out.requests)} requests` +
        (out.profile ? `, with a site profile of ${count(out.profile.tokens)} structure tokens` : ""),
    );
  } else {
    items.push(
      el("h3", {
        text: failure.code === "guard_refused"
          ? "Not applied: the guard refused the learnt τ"
          : "Not applied: not enough traffic learnt yet",
      }),
      el("p", { className: "error", id: "learning-refusal", text: sentence(failure.message) }),
    );
    if (typeof out.tau === "number") fact("Proposed τ", fmt(out.tau, 4));
  }
  const g = out.guard;
  if (g && typeof g === "object") {
    const verdict = g.forced ? "forced past the guard" : g.passed ? "passed" : "refused";
    fact(
      "Guard",
      el("span", { id: "learning-verdict", className: `verdict ${g.passed ? "ok" : "bad"}`, text: verdict }),
    );
    const c = g.canaries;
    if (c && typeof c.count === "number") {
      fact(
        "Canaries before",
        `${pct(c.global)} of ${c.count} caught by the global head at τ ${fmt(c.globalTau)}`,
      );
      fact(
        "Canaries after",
        `${pct(c.tenant)} caught at τ ${fmt(c.tau, 4)}` +
          (c.drop > 0 ? ` (a fall of ${pct(c.drop)}; the guard allows ${pct(g.margin)})` : ""),
      );
    }
  }
  if (dl.childNodes.length > 0) items.push(dl);
  if (!failure && out.settled === false) {
    items.push(
      el("p", {
        className: "warn",
        text:
          `Not settled yet: about ${count(out.needed)} more ordinary requests would make this τ sure of ` +
          `${fprText(out.fpr)} false positives. Learning goes on under the new head; apply again later.`,
      }),
    );
  }
  box.className = `result ${failure ? "refused" : "adapted"}`;
  box.replaceChildren(...items);
}

/** Forgets what was learnt (after a confirmation): learning starts again from now. */
async function restartLearning() {
  const n = learning?.requests ?? 0;
  const ok = await confirmDialog(
    "Start learning again?",
    `The ${count(n)} request${n === 1 ? "" : "s"} learnt so far and the proposals made from them are ` +
      "forgotten, and learning starts again from now. Your head and its τ stay as they are. This cannot " +
      "be undone.",
    "Forget what was learnt",
  );
  if (!ok) return announce("Nothing was forgotten.");
  const out = await call("/learning", { method: "DELETE" });
  $("learning-result").hidden = true;
  await refreshLearning(false);
  announce(`Learning starts again: ${count(out.shards)} stored shard${out.shards === 1 ? "" : "s"} deleted.`);
}

// ---------------------------------------------------------------------------------------------------
// Formatting

function fmt(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

/** A count as people read it: 1,220. */
function count(n) {
  return typeof n === "number" && Number.isFinite(n) ? n.toLocaleString("en") : "–";
}

/** A small share, with the digits it needs: 2.0%, 0.35%, 0.012%. */
function share(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  const p = x * 100;
  return `${p.toFixed(p === 0 || p >= 1 ? 1 : p >= 0.1 ? 2 : 3)}%`;
}

function bytesText(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

// ---------------------------------------------------------------------------------------------------
// Wiring

$("signin-form").addEventListener("submit", onSignIn);
$("sign-out").addEventListener("click", () => signOut(null));
// Choosing the same file again (say, after picking its format) must load it again: a picker that opens on
// an empty input always reports a change.
$("file").addEventListener("click", () => {
  $("file").value = "";
});
$("file").addEventListener("change", () => {
  const file = $("file").files?.[0];
  if (file) busy($("file"), () => loadFile(file));
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files?.[0];
  if (!file) return;
  $("file").value = ""; // it would name the file chosen before
  busy($("file"), () => loadFile(file));
});
// A file dropped beside the drop zone would make the browser open it in place of the console (and lose the
// rows): only the zone takes drops.
for (const type of ["dragover", "drop"]) {
  addEventListener(type, (e) => {
    if (drop.contains(e.target)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "none";
  });
}
for (const id of ["filter-decision", "filter-label"]) $(id).addEventListener("change", () => renderRows());
for (const th of document.querySelectorAll("#rows th[data-sort]")) {
  th.querySelector("button").addEventListener("click", () => {
    const key = th.dataset.sort;
    sort = { key, dir: sort.key === key ? -sort.dir : key === "score" || key === "before" ? -1 : 1 };
    renderRows();
  });
}
$("select-all").addEventListener("change", () => {
  const on = $("select-all").checked;
  const shown = new Set([...document.querySelectorAll("#rows-body tr")].map((tr) => Number(tr.dataset.n)));
  for (const r of rows) r.selected = on && shown.has(r.n);
  for (const c of document.querySelectorAll("#rows-body td.check input")) c.checked = on;
  updateSelection();
});
$("mark-benign").addEventListener("click", () => markSelected(0));
$("mark-attack").addEventListener("click", () => markSelected(1));
$("mark-clear").addEventListener("click", () => markSelected(null));
$("adapt").addEventListener("click", () => busy($("adapt"), () => adapt(false)));
$("rollback").addEventListener("click", () => busy($("rollback"), rollback));
$("reset").addEventListener("click", () => busy($("reset"), reset));
$("learning-refresh").addEventListener(
  "click",
  () => busy($("learning-refresh"), () => refreshLearning(true)),
);
$("learning-reset").addEventListener("click", () => busy($("learning-reset"), restartLearning));

// The host name is usually the tenant: the worker keys heads by it.
$("tenant").value = location.hostname.toLowerCase();
const saved = readSession();
if (saved) {
  openSession(saved).then(
    () => announce(`Signed in to ${saved.tenant}.`),
    () => signOut("Your saved session has ended: sign in again."),
  );
} else {
  $("tenant").focus();
}
