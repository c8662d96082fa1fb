// The tenant console on real workerd (Miniflare), bundled from the free-plan entry (src/worker/workerd_ts.ts;
// the console is the same module in both builds): the page, its script and style sheet come from the bundle
// (no file system), with the console's CSP; the import route it calls works there too.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bundleForNode, bundleWorker, COMPATIBILITY_DATE, ROOT, startMiniflare } from "./_helpers.mjs";

const ADMIN = "workerd-console-token-0123456789abcdef";

let mf, dir, ref;

before(async () => {
  ref = await bundleForNode(`
    export { apiModelBytes } from "./test/api/_model.ts";
    export { APP_CSS, APP_JS } from "./src/console/assets.ts";
    export { CONSOLE_CSP, consolePage } from "./src/console/mod.ts";
  `);
  dir = mkdtempSync(join(tmpdir(), "taugate-workerd-console-"));
  const model = join(dir, "taugate.onnx");
  writeFileSync(model, ref.apiModelBytes());
  const { modules } = await bundleWorker({
    entry: join(ROOT, "src/worker/workerd_ts.ts"),
    files: { "taugate.onnx": model },
  });
  const worker = (name, routes, token) => ({
    name,
    modules,
    modulesRoot: ROOT,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      TAUGATE_MODE: "block",
      TAUGATE_LOG_SAMPLE: "0",
      TAUGATE_ADMIN_TOKEN: token,
      TAUGATE_EXPOSE: "on",
    },
    kvNamespaces: { TENANT_KV: `kv-${name}` },
    routes,
  });
  mf = await startMiniflare({
    modules: undefined,
    workers: [worker("on", ["*.on.test/*"], ADMIN), worker("off", ["*.off.test/*"], "")],
  });
});

after(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("workerd: /_taugate/console serves the page, script and style sheet with the console's CSP", async () => {
  const files = [
    ["/_taugate/console", "text/html; charset=utf-8", ref.consolePage()],
    ["/_taugate/console/app.js", "text/javascript; charset=utf-8", ref.APP_JS],
    ["/_taugate/console/app.css", "text/css; charset=utf-8", ref.APP_CSS],
  ];
  for (const [path, type, body] of files) {
    const res = await mf.dispatchFetch(`http://shop.on.test${path}`);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), type, path);
    assert.equal(res.headers.get("content-security-policy"), ref.CONSOLE_CSP, path);
    assert.match(res.headers.get("content-security-policy"), /^default-src 'none'; script-src 'self';/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(res.headers.get("cache-control"), "no-store", path);
    assert.equal(res.headers.get("x-taugate-decision"), null, `${path} is not scored`);
    assert.equal(await res.text(), body, path);
  }
});

test("workerd: the console's first call, the import of a HAR file, answers with its records", async () => {
  const minted = await mf.dispatchFetch("http://shop.on.test/_taugate/tenants/shop.on.test/tokens", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(minted.status, 201);
  const { token } = await minted.json();
  const res = await mf.dispatchFetch("http://shop.on.test/_taugate/tenants/shop.on.test/import", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "text/plain; charset=utf-8" },
    body: readFileSync(join(ROOT, "test/fixtures/console/shop.har"), "utf8"),
  });
  const out = await res.json();
  assert.equal(res.status, 200, JSON.stringify(out).slice(0, 300));
  assert.equal(out.format, "har");
  assert.equal(out.records.length, 22);
  assert.equal(out.skippedCount, 0);
});

test("workerd: without TAUGATE_ADMIN_TOKEN there is no console: the path is ordinary, scored traffic", async () => {
  const res = await mf.dispatchFetch("http://shop.off.test/_taugate/console");
  assert.equal(res.headers.get("content-security-policy"), null);
  assert.ok(res.headers.get("x-taugate-decision"));
  await res.arrayBuffer();
});
