// The taugate console in the browser: sign in, load a file, score, label, adapt, roll back, explain.
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
          text: `${c.benign ?? 0} benign, ${c.attack ?? 0} attack, ${c.unlabeled ?? 0} unlabelled`,
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
// Formatting

function fmt(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
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
