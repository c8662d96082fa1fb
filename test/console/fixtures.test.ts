// The browser test's story, through the tenant API without a browser: the HAR fixture's shop requests that
// the test model's global head blocks (the false positives the user marks benign), and the guard refusing
// the mislabelled JSONL fixture with its reason, which the console shows. So the fixtures keep meaning what
// test/e2e/console.test.mjs says they mean, and the refusal path is covered wherever Chromium is missing.
import assert from "node:assert/strict";
import { importResultSchema } from "../../src/api/schemas.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import { testWorld } from "../api/_app.ts";

const ROOT = new URL("../../", import.meta.url);
const fixture = (path: string) => Deno.readTextFileSync(new URL(`test/fixtures/console/${path}`, ROOT));
const TENANT = "shop.example";
/** As in the browser test: the shop's form posts and images. */
const FALSE_POSITIVE = /^\/static\/img\/|^\/cart\s*item=(socks|belts|coats)&qty=\d&action=update$/;
/** The browser test's adaptation settings: strong enough for mislabelled examples to bend the head. */
const PLIABLE = { method: "gd", steps: 50, lr: 3, prox: 0 };

/** What the console sends for a row: the record without label, family or tenant. */
function wire(r: RequestRecord, label?: 0 | 1): string {
  return JSON.stringify({ method: r.method, url: r.url, headers: r.headers, body: r.body, label });
}

/** The request as the console's table shows it: origin-form target, then the body. */
const shown = (r: RequestRecord) => r.url.replace(/^https?:\/\/[^/]*/, "") + (r.body ?? "");

async function importFixture(w: ReturnType<typeof testWorld>, file: string, token: string) {
  const res = await w.api(`/tenants/${TENANT}/import`, {
    method: "POST",
    token,
    headers: { "content-type": "text/plain; charset=utf-8" },
    body: fixture(file),
  });
  assert.equal(res.status, 200, file);
  return importResultSchema.parse(await res.json()).records;
}

Deno.test("console fixtures: the global head blocks shop.har's 7 form posts and images, and its attacks", async () => {
  const w = testWorld({ modelMeta: { adapt: PLIABLE } });
  const token = await w.mint(TENANT);
  const records = await importFixture(w, "shop.har", token);
  assert.equal(records.length, 22);
  const res = await w.api(`/tenants/${TENANT}/score?explain=0`, {
    method: "POST",
    token,
    headers: { "content-type": "application/x-ndjson" },
    body: records.map((r) => wire(r)).join("\n"),
  });
  assert.equal(res.status, 200);
  const out = await res.json();
  assert.equal(out.tau, 0.5);
  const blocked = out.results.filter((x: { decision: string }) => x.decision === "block")
    .map((x: { index: number }) => shown(records[x.index - 1]));
  const fps = records.map(shown).filter((s) => FALSE_POSITIVE.test(s));
  assert.equal(fps.length, 7);
  for (const s of fps) assert.ok(blocked.includes(s), `${s} is blocked by the global head`);
  assert.ok(blocked.length > fps.length, "and attacks besides");
});

Deno.test("console fixtures: the guard refuses mislabelled.jsonl from a tenant token, saying why", async () => {
  const w = testWorld({ modelMeta: { adapt: PLIABLE } });
  const token = await w.mint(TENANT);
  const records = await importFixture(w, "mislabelled.jsonl", token);
  assert.equal(records.length, 40);
  assert.ok(records.every((r) => r.label === 0), "all labelled benign");
  const res = await w.api(`/tenants/${TENANT}/examples`, {
    method: "POST",
    token,
    headers: { "content-type": "application/x-ndjson" },
    body: records.map((r) => wire(r, 0)).join("\n"),
  });
  const body = await res.json();
  assert.equal(res.status, 422, JSON.stringify(body).slice(0, 300));
  assert.equal(body.error, "guard_refused");
  assert.match(body.reason, /^the new head is refused: it would flag .* benign requests \(out of fold\)/);
  assert.equal(body.guard.passed, false);
  assert.equal(body.guard.forced, false);
  assert.deepEqual(body.counts, { benign: 40, attack: 0, unlabeled: 0 });
  assert.equal((await w.store.read(TENANT)).active, null, "nothing was stored");
  // A tenant token cannot force it.
  const forced = await w.api(`/tenants/${TENANT}/examples?force=1`, {
    method: "POST",
    token,
    headers: { "content-type": "application/x-ndjson" },
    body: records.map((r) => wire(r, 0)).join("\n"),
  });
  assert.equal(forced.status, 403);
  assert.match((await forced.json()).reason, /only the operator's token may force/);
  assert.equal((await w.store.read(TENANT)).active, null);
});
