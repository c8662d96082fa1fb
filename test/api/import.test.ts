// POST /tenants/:tenant/import: a file of traffic (HAR, JSONL, raw HTTP, access log) read into records for
// review, its format guessed or given; what was skipped and why; the upload's limits and auth; nothing stored.
import assert from "node:assert/strict";
import { SHOWN_SKIPPED } from "../../src/api/import.ts";
import { importResultSchema } from "../../src/api/schemas.ts";
import { MAX_RECORDS } from "../../src/record/schema.ts";
import { testWorld } from "./_app.ts";
import { attackRecord, benignRecord } from "./_model.ts";

const ROOT = new URL("../../", import.meta.url);
const fixture = (path: string) => Deno.readTextFileSync(new URL(`test/fixtures/${path}`, ROOT));
const TENANT = "shop-a.test";

function importFile(w: ReturnType<typeof testWorld>, body: string, query = "", token?: string | null) {
  return w.api(`/tenants/${TENANT}/import${query}`, {
    method: "POST",
    token,
    headers: { "content-type": "text/plain; charset=utf-8" },
    body,
  });
}

Deno.test("import: each format, guessed from the first line, read into records without storing anything", async () => {
  const w = testWorld();
  const token = await w.mint(TENANT);
  const cases: [string, string, number][] = [
    ["console/shop.har", "har", 22],
    ["importers/chrome.har", "har", 0],
    ["importers/nginx.log", "clf", 0],
    ["importers/apache.log", "clf", 0],
    ["importers/burp.txt", "raw", 0],
    ["console/mislabelled.jsonl", "jsonl", 40],
  ];
  for (const [file, format, count] of cases) {
    const res = await importFile(w, fixture(file), "", token);
    const body = await res.json();
    assert.equal(res.status, 200, `${file}: ${JSON.stringify(body).slice(0, 300)}`);
    const out = importResultSchema.parse(body);
    assert.equal(out.format, format, file);
    assert.equal(out.tenant, TENANT);
    assert.ok(out.records.length > 0, file);
    if (count) assert.equal(out.records.length, count, file);
    assert.equal(out.total, out.records.length + out.skippedCount, file);
    assert.equal(res.headers.get("cache-control"), "no-store");
  }
  assert.equal((await w.store.read(TENANT)).active, null, "nothing was stored");
  assert.equal(w.audit.length, 1, "only the token minting was audited");
});

Deno.test("import: HAR entries come without labels, JSONL records keep theirs; the format can be given", async () => {
  const w = testWorld();
  const har = importResultSchema.parse(await (await importFile(w, fixture("console/shop.har"))).json());
  assert.ok(har.records.every((r) => r.label === undefined), "HAR entries are unlabelled traffic");
  assert.equal(har.records[0].url, "https://shop.example/shop/shoes/1000?sort=price&page=0");
  assert.equal(har.records[0].headers?.host, "shop.example", ":authority became host");
  const payload = har.records.find((r) => r.url.includes("<script>"));
  assert.equal(payload?.url, "https://shop.example/search?q=<script>window.__pwned=1</script>", "as it was");
  const jsonl = [benignRecord(1), { ...attackRecord(2), label: 1 }].map((r) => JSON.stringify(r)).join("\n");
  const out = importResultSchema.parse(await (await importFile(w, jsonl, "?format=jsonl")).json());
  assert.deepEqual(out.records.map((r) => r.label), [undefined, 1]);
  // Told it is an access log, a JSONL file is read as one: every line skipped, with the reason.
  const wrong = await importFile(w, jsonl, "?format=clf");
  assert.equal(wrong.status, 422);
  const err = await wrong.json();
  assert.equal(err.error, "empty_upload");
  assert.equal(err.format, "clf");
  assert.match(err.reason, /^no request could be read: line 1: /);
  assert.equal(err.skippedCount, 2);
});

Deno.test("import: bad entries are listed with their line and reason; good ones are kept", async () => {
  const w = testWorld();
  const lines = [
    JSON.stringify(benignRecord(1)),
    "{not json",
    JSON.stringify({ method: "GET" }),
    JSON.stringify(benignRecord(2)),
  ];
  const out = importResultSchema.parse(await (await importFile(w, lines.join("\n"))).json());
  assert.equal(out.records.length, 2);
  assert.equal(out.skippedCount, 2);
  assert.deepEqual(out.skipped.map((s) => s.line), [2, 3]);
  assert.ok(out.skipped.every((s) => s.reason.length > 0));
  // Only the first few reasons are listed; the count says how many there were.
  const many = [JSON.stringify(benignRecord(1)), ...Array.from({ length: 50 }, () => "{}")].join("\n");
  const m = importResultSchema.parse(await (await importFile(w, many)).json());
  assert.equal(m.skipped.length, SHOWN_SKIPPED);
  assert.equal(m.skippedCount, 50);
});

Deno.test("import: not traffic, empty, too many records, too many bytes: clear answers", async () => {
  const w = testWorld();
  const notTraffic = await importFile(w, "shopping list\nboots, socks\n");
  assert.equal(notTraffic.status, 422);
  const e1 = await notTraffic.json();
  assert.equal(e1.error, "unknown_format");
  assert.match(e1.reason, /could not be recognised.*format=jsonl\|har\|raw\|clf/);
  const empty = await importFile(w, "", "?format=jsonl");
  assert.equal(empty.status, 422);
  assert.deepEqual(await empty.json(), {
    error: "empty_upload",
    reason: "the file holds no request",
    format: "jsonl",
    skipped: [],
    skippedCount: 0,
  });
  const notHar = await importFile(w, '{"log": {}}', "?format=har");
  assert.equal(notHar.status, 422);
  assert.equal((await notHar.json()).reason, "not a HAR file: no log.entries array");

  const lines = Array.from({ length: MAX_RECORDS + 5 }, (_, i) => JSON.stringify(benignRecord(i)));
  const big = importResultSchema.parse(await (await importFile(w, lines.join("\n"))).json());
  assert.equal(big.records.length, MAX_RECORDS, "the first 1,000");
  assert.equal(big.skippedCount, 1);
  assert.match(big.skipped[0].reason, /record limit \(1000\) reached/);
  assert.equal(big.skipped[0].line, MAX_RECORDS + 1);

  const huge = await w.api(`/tenants/${TENANT}/import`, {
    method: "POST",
    headers: { "content-length": String(9 * 1024 * 1024) },
    body: "x",
  });
  assert.equal(huge.status, 413);
  assert.equal((await huge.json()).error, "upload_too_large");
  const badQuery = await importFile(w, "GET / HTTP/1.1\r\n\r\n", "?format=xml");
  assert.equal(badQuery.status, 400);
  assert.equal((await badQuery.json()).error, "invalid_query");
});

Deno.test("import: a tenant token reads files for its own tenant only", async () => {
  const w = testWorld();
  const a = await w.mint(TENANT);
  const raw = "GET /a HTTP/1.1\r\nHost: shop-a.test\r\n\r\n";
  assert.equal((await importFile(w, raw, "", a)).status, 200);
  const other = await w.api("/tenants/shop-b.test/import", { method: "POST", token: a, body: raw });
  assert.equal(other.status, 403);
  assert.equal((await other.json()).error, "forbidden");
  const none = await importFile(w, raw, "", null);
  assert.equal(none.status, 401);
  await none.body?.cancel();
});
