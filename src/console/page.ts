/**
 * The console's HTML: the whole layout, server-rendered once with `hono/html` (which escapes every value);
 * the client script fills it in. Nothing of a tenant's data is ever in this HTML.
 *
 * @module
 */
import { html } from "hono/html";
import { API_PREFIX } from "../api/openapi.ts";
import { MAX_RECORDS, MAX_UPLOAD_BYTES } from "../record/schema.ts";

/** Where the console lives. */
export const CONSOLE_PATH = `${API_PREFIX}/console`;

let rendered: string | undefined;

/**
 * The console page (rendered on first use, then reused).
 *
 * @returns The HTML document.
 * @example
 * ```ts
 * import { consolePage } from "./page.ts";
 * consolePage().startsWith("<!doctype html>"); // true
 * ```
 */
export function consolePage(): string {
  return rendered ??= String(page()).trimStart();
}

function page() {
  const sortable = (key: string, label: string) =>
    html`
      <th scope="col" data-sort="${key}"
        aria-sort="none"><button type="button" class="sort">${label}<span class="arrow" aria-hidden="true"></span></button></th>
    `;
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light">
        <title>taugate console</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="${CONSOLE_PATH}/app.css">
        <script type="module" src="${CONSOLE_PATH}/app.js"></script>
      </head>
      <body data-api="${API_PREFIX}" data-max-bytes="${MAX_UPLOAD_BYTES}">
        <a class="skip" href="#main">Skip to the console</a>
        <header class="bar">
          <h1
            class="brand"><span class="logo" aria-hidden="true">τ</span> taugate <span class="muted">console</span></h1>
          <p id="who" class="who"
            hidden>Signed in to <strong id="who-tenant"></strong> <span id="who-kind" class="muted"></span></p>
          <button id="sign-out" type="button" class="quiet" hidden>Sign out</button>
        </header>
        <div class="messages">
          <p id="status" class="status" role="status" aria-live="polite"></p>
          <p id="alert" class="alert" role="alert"></p>
        </div>
        <main id="main" tabindex="-1">
          <noscript><p class="alert">The console needs JavaScript: it is served by this worker, with no third-party code.</p></noscript>

          <section id="signin" class="card signin" aria-labelledby="signin-h">
            <h2 id="signin-h">Sign in</h2>
            <p>Use the tenant token your operator gave you (it starts with <code>tgt_</code>), or the operator's token.
      It stays in this browser tab only and is sent to the tenant API as a bearer token, never in a URL or a cookie.</p>
            <form id="signin-form" method="post" novalidate>
              <label for="tenant">Tenant: your site's host name</label>
              <input id="tenant" name="tenant" autocomplete="off" autocapitalize="off" spellcheck="false" required
                placeholder="shop.example">
              <label for="token">Token</label>
              <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
              <button id="signin-submit" type="submit" class="primary">Sign in</button>
            </form>
          </section>

          <div id="workspace" class="workspace" hidden>
            <div class="main-col">
              <section id="load" class="card" aria-labelledby="load-h">
                <h2 id="load-h" tabindex="-1">1. Load requests</h2>
                <div id="drop" class="drop">
                  <p>Drop a HAR file, a JSONL file or an access log here, or choose one.</p>
                  <div class="row">
                    <label for="file">File</label>
                    <input id="file" type="file" accept=".har,.json,.jsonl,.ndjson,.log,.txt,.http">
                    <label for="format">Format</label>
                    <select id="format">
                      <option value="auto" selected>detect</option>
                      <option value="har">HAR</option>
                      <option value="jsonl">JSONL / JSON</option>
                      <option value="clf">access log</option>
                      <option value="raw">raw HTTP</option>
                    </select>
                  </div>
                  <p
                    class="muted">At most ${MAX_RECORDS} requests. Each is scored by a dry run: nothing is stored until you adapt.</p>
                </div>
                <p id="load-summary" class="summary"></p>
                <details id="skipped" hidden>
                  <summary id="skipped-summary">Skipped entries</summary>
                  <ul id="skipped-list"></ul>
                </details>
              </section>

              <section id="review" class="card" aria-labelledby="review-h">
                <h2 id="review-h">2. Review and label</h2>
                <p id="scored-with" class="muted"></p>
                <div class="toolbar" role="group" aria-label="Filter and label">
                  <label for="filter-decision">Decision</label>
                  <select id="filter-decision">
                    <option value="all">all</option>
                    <option value="block">block</option>
                    <option value="tag">tag</option>
                    <option value="allow">allow</option>
                    <option value="flagged">flagged</option>
                  </select>
                  <label for="filter-label">Label</label>
                  <select id="filter-label">
                    <option value="all">all</option>
                    <option value="none">unlabelled</option>
                    <option value="0">benign</option>
                    <option value="1">attack</option>
                  </select>
                  <span class="spacer"></span>
                  <span id="selection" class="muted">0 selected</span>
                  <button id="mark-benign" type="button">Mark benign</button>
                  <button id="mark-attack" type="button">Mark attack</button>
                  <button id="mark-clear" type="button" class="quiet">Clear label</button>
                </div>
                <div class="table-wrap">
                  <table id="rows" class="rows">
                    <caption id="rows-caption">Loaded requests</caption>
                    <thead>
                      <tr>
              <th scope="col" class="check"><input id="select-all" type="checkbox" aria-label="Select every shown request"></th>
              ${sortable("n", "#")}${sortable("method", "Method")}${sortable("url", "Request")}${sortable(
                "score",
                "Score",
              )}${sortable("decision", "Decision")}<th scope="col">Label</th>${sortable(
                "before",
                "Before",
              )}<th scope="col"><span class="sr-only">Explanation</span></th>
            </tr>
                    </thead>
                    <tbody id="rows-body"></tbody>
                  </table>
                </div>
                <p id="rows-empty" class="empty">No requests yet: load a file above.</p>
              </section>

              <section id="distribution" class="card" aria-labelledby="hist-h">
                <h2 id="hist-h">Scores of the labelled requests</h2>
                <figure class="hist">
                  <svg id="hist" role="img" aria-labelledby="hist-title" viewBox="0 0 640 200"
                    preserveAspectRatio="xMidYMid meet">
                    <title id="hist-title">No labelled requests yet</title>
                  </svg>
                  <figcaption id="hist-caption"
                    class="muted">Label some requests to see where their scores fall against τ.</figcaption>
                </figure>
              </section>

              <section id="adapt-section" class="card" aria-labelledby="adapt-h">
                <h2 id="adapt-h">3. Adapt</h2>
                <p>Fits a head for your site from the labelled requests, checks it against the model's canary attacks,
        and makes it active for your next request. You can roll it back.</p>
                <div class="row">
                  <input id="include-unlabelled" type="checkbox">
                  <label
                    for="include-unlabelled">Also send the unlabelled requests, as ordinary traffic of the site</label>
                </div>
                <button id="adapt" type="button" class="primary">Adapt the head</button>
                <div id="adapt-result" class="result" hidden tabindex="-1"></div>
              </section>

              <section id="learning-section" class="card" aria-labelledby="learning-h">
                <h2 id="learning-h" tabindex="-1">Learning from live traffic</h2>
                <p>In learning mode the worker learns your site's ordinary requests as it serves them, and proposes a τ
        for a target rate of false positives. Applying one makes a new version of your head, checked by the same
        guard; you can roll it back.</p>
                <p id="learning-summary" class="summary">Not loaded yet.</p>
                <p id="learning-note" class="muted"></p>
                <div id="learning-empty" class="empty" hidden></div>
                <div id="learning-body" hidden>
                  <div class="row">
                    <label for="learning-progress">How settled the estimate is</label>
                    <progress id="learning-progress" max="1" value="0"
                      aria-describedby="learning-progress-text"></progress>
                    <span id="learning-progress-text"></span>
                  </div>
                  <figure class="hist">
                    <svg id="learning-hist" role="img" aria-labelledby="learning-hist-title" viewBox="0 0 640 230"
                      preserveAspectRatio="xMidYMid meet">
                      <title id="learning-hist-title">No learnt requests yet</title>
                    </svg>
                    <figcaption id="learning-hist-caption" class="muted"></figcaption>
                  </figure>
                  <p id="learning-served"></p>
                  <p id="learning-contamination"></p>
                  <div class="table-wrap">
                    <table id="learning-proposals" class="proposals">
                      <caption>τ proposed for each target rate of false positives</caption>
                      <thead>
                        <tr>
                          <th scope="col">Target false positives</th>
                          <th scope="col" class="num">Proposed τ</th>
                          <th scope="col" class="num">Expected block rate</th>
                          <th scope="col">Settled</th>
                          <th scope="col">Held at</th>
                          <th scope="col"><span class="sr-only">Apply</span></th>
                        </tr>
                      </thead>
                      <tbody id="learning-proposals-body"></tbody>
                    </table>
                  </div>
                  <p id="learning-profile" class="muted small"></p>
                </div>
                <div class="actions">
                  <button id="learning-refresh" type="button">Refresh</button>
                  <button id="learning-reset" type="button" class="danger" disabled>Start again</button>
                </div>
                <div id="learning-result" class="result" hidden tabindex="-1"></div>
              </section>
            </div>

            <aside class="side-col" aria-label="Explanation and history">
              <section id="why-section" class="card" aria-labelledby="why-h">
                <h2 id="why-h" tabindex="-1">Why this score</h2>
                <div id="why">
                  <p class="muted">Choose “Why” on a request to see the features that moved its score most.</p>
                </div>
              </section>
              <section id="history-section" class="card" aria-labelledby="history-h">
                <h2 id="history-h">History</h2>
                <p id="history-summary" class="muted"></p>
                <table id="history" class="history" hidden>
                  <caption class="sr-only">Versions kept, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Created</th>
                      <th scope="col">Examples</th>
                    </tr>
                  </thead>
                  <tbody id="history-body"></tbody>
                </table>
                <div class="actions">
                  <button id="rollback" type="button" disabled>Roll back</button>
                  <button id="reset" type="button" class="danger" disabled>Reset to the global head</button>
                </div>
              </section>
            </aside>
          </div>
        </main>

        <dialog id="confirm" aria-labelledby="confirm-h" aria-describedby="confirm-text">
          <h2 id="confirm-h">Are you sure?</h2>
          <p id="confirm-text"></p>
          <div class="actions">
            <button id="confirm-cancel" type="button" autofocus>Cancel</button>
            <button id="confirm-ok" type="button" class="danger">Confirm</button>
          </div>
        </dialog>
      </body>
    </html>
  `;
}
