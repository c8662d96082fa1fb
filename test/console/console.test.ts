// The console's routes through the standalone worker: the page, its script and style sheet, each with the
// strict CSP and hardening headers; HEAD, 404, 405, the trailing slash; never scored nor forwarded; absent
// when the tenant API is off; the page's markup (no inline code, every control labelled).
import assert from "node:assert/strict";
import { APP_CSS, APP_JS } from "../../src/console/assets.ts";
import {
  CONSOLE_CSP,
  CONSOLE_PATH,
  consolePage,
  isConsolePath,
  tenantConsole,
} from "../../src/console/mod.ts";
import { MAX_RECORDS, MAX_UPLOAD_BYTES } from "../../src/record/schema.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { fakeEngine } from "../middleware/_fake_engine.ts";
import { testWorld } from "../api/_app.ts";

const HOST = "http://shop.example";
const get = (path: string, init?: RequestInit) => Promise.resolve(testWorld().app.request(HOST + path, init));

function assertHardened(res: Response, what: string) {
  const h = res.headers;
  assert.equal(h.get("content-security-policy"), CONSOLE_CSP, what);
  assert.equal(h.get("x-content-type-options"), "nosniff", what);
  assert.equal(h.get("referrer-policy"), "no-referrer", what);
  assert.equal(h.get("cache-control"), "no-store", what);
  assert.equal(h.get("x-frame-options"), "DENY", what);
  assert.equal(h.get("x-taugate-decision"), null, `${what}: the console is never scored`);
}

Deno.test("console: the CSP allows the worker's own script, styles and API only, and no inline code", () => {
  const d = Object.fromEntries(
    CONSOLE_CSP.split("; ").map((p) => [p.split(" ")[0], p.slice(p.indexOf(" ") + 1)]),
  );
  assert.deepEqual(d, {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "require-trusted-types-for": "'script'",
    "trusted-types": "'none'",
  });
  assert.ok(!CONSOLE_CSP.includes("unsafe"), "no 'unsafe-inline' nor 'unsafe-eval'");
});

Deno.test("console: the page, with its headers, served by the worker when the tenant API is on", async () => {
  const res = await get(CONSOLE_PATH);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assertHardened(res, "page");
  const html = await res.text();
  assert.equal(html, consolePage());
  assert.match(html, /^<!doctype html>\s*<html lang="en">/);
  assert.match(html, /<script type="module" src="\/_taugate\/console\/app\.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="\/_taugate\/console\/app\.css">/);
  assert.match(html, new RegExp(`data-api="/_taugate" data-max-bytes="${MAX_UPLOAD_BYTES}"`));
  assert.match(html, new RegExp(`At most ${MAX_RECORDS} requests`));
});

Deno.test("console: the page has no inline script, style or handler, and every control has a label", () => {
  const html = consolePage();
  // Every <script> loads the worker's own file, and has no body.
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1], /src="\/_taugate\/console\/app\.js"/);
    assert.equal(m[2], "");
  }
  assert.doesNotMatch(html, /<style\b/);
  assert.doesNotMatch(html, /\sstyle=/);
  assert.doesNotMatch(html, /\son[a-z]+=/i, "no event handler attributes");
  assert.doesNotMatch(html, /https?:\/\//, "nothing from another origin");
  const labelled = new Set([...html.matchAll(/<label\s+for="([^"]+)"/g)].map((m) => m[1]));
  for (const m of html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
    const id = /\sid="([^"]+)"/.exec(m[2])?.[1];
    const ok = (id !== undefined && labelled.has(id)) || /\saria-label="[^"]+"/.test(m[2]);
    assert.ok(ok, `${m[0]} has a label`);
  }
  for (const m of html.matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/g)) {
    assert.ok(m[1].replace(/<[^>]*>/g, "").trim() !== "", `${m[0]} has a name`);
  }
  assert.match(html, /role="status" aria-live="polite"/, "a live region for status messages");
  assert.match(html, /<dialog id="confirm" aria-labelledby="confirm-h"/);
  const sortable = [...html.matchAll(/<th scope="col" data-sort="(\w+)"\s+aria-sort="none">/g)].map((m) =>
    m[1]
  );
  assert.deepEqual(sortable, ["n", "method", "url", "score", "decision", "before"]);
});

Deno.test("console: the script and the style sheet, with their types and the same headers", async () => {
  const js = await get(`${CONSOLE_PATH}/app.js`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assertHardened(js, "app.js");
  assert.equal(await js.text(), APP_JS);
  const css = await get(`${CONSOLE_PATH}/app.css`);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assertHardened(css, "app.css");
  assert.equal(await css.text(), APP_CSS);
});

Deno.test("console: HEAD, unknown paths, other methods and the trailing slash", async () => {
  const head = await get(CONSOLE_PATH, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  assertHardened(head, "HEAD");
  for (const path of [`${CONSOLE_PATH}/nope.js`, `${CONSOLE_PATH}/app.js/x`, `${CONSOLE_PATH}/index.html`]) {
    const res = await get(path);
    assert.equal(res.status, 404, path);
    assertHardened(res, path);
    await res.body?.cancel();
  }
  for (const method of ["POST", "PUT", "DELETE"]) {
    const res = await get(CONSOLE_PATH, { method, body: method === "DELETE" ? undefined : "x" });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    assertHardened(res, method);
    await res.body?.cancel();
  }
  const slash = await get(`${CONSOLE_PATH}/`);
  assert.equal(slash.status, 308);
  assert.equal(slash.headers.get("location"), CONSOLE_PATH);
});

Deno.test("console: a path under /_taugate that is not the console is still the API's", async () => {
  assert.ok(isConsolePath(CONSOLE_PATH) && isConsolePath(`${CONSOLE_PATH}/app.js`));
  assert.ok(!isConsolePath(`${CONSOLE_PATH}s`) && !isConsolePath("/_taugate/tenants/a/console"));
  const res = await get("/_taugate/consoles");
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, "not_found", "the API's 404");
  // The console's own answers stay out of the API's auth: the page is public, the data is not.
  const api = await get("/_taugate/tenants/shop.example/import", {
    method: "POST",
    body: "GET / HTTP/1.1\r\n\r\n",
  });
  assert.equal(api.status, 401);
  await api.body?.cancel();
});

Deno.test("console: without TAUGATE_ADMIN_TOKEN there is no console: /_taugate/console is scored as traffic", async () => {
  const app = createWorkerApp({
    config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_MODE: "tag" }),
    engine: fakeEngine(),
    logSink: () => {},
  });
  const res = await app.request(HOST + CONSOLE_PATH);
  assert.equal(res.headers.get("content-security-policy"), null, "not the console's answer");
  assert.ok(res.headers.get("x-taugate-decision"), "scored like any request");
  assert.doesNotMatch(await res.text(), /taugate console/);
});

Deno.test("console: tenantConsole() alone serves the same answers", async () => {
  const res = await tenantConsole().request(CONSOLE_PATH);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-security-policy"), CONSOLE_CSP);
  assert.equal(await res.text(), consolePage());
});
