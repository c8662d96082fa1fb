// Uploads: formats (JSONL, JSON array, HAR with a label), limits (413), bad records named (422), media
// types (415), query parameters (400). A refused upload never changes the stored head.
import assert from "node:assert/strict";
import { MAX_RECORD_BYTES, MAX_RECORDS, MAX_UPLOAD_BYTES } from "../../src/record/schema.ts";
import { errorSchema } from "../../src/api/schemas.ts";
import { labelled, testWorld } from "./_app.ts";
import { benignRecord } from "./_model.ts";

const post = (type: string | null, body: BodyInit | null, extra: Record<string, string> = {}) => ({
  method: "POST",
  headers: { ...(type === null ? {} : { "content-type": type }), ...extra },
  body,
});

/** A HAR archive of the given records. */
function har(records = [benignRecord(1), benignRecord(2), benignRecord(3)]): string {
  return JSON.stringify({
    log: {
      version: "1.2",
      creator: { name: "test", version: "1" },
      entries: records.map((r) => ({
        request: {
          method: r.method,
          url: `https://shop-a.test${r.url}`,
          headers: Object.entries(r.headers ?? {}).map(([name, value]) => ({ name, value })),
          ...(r.body ? { postData: { mimeType: r.headers?.["content-type"], text: r.body } } : {}),
        },
        response: { status: 403 },
      })),
    },
  });
}

async function expectError(res: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const body = errorSchema.parse(await res.json());
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error, error, JSON.stringify(body));
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  return body;
}

Deno.test("upload: JSONL, a JSON array, one JSON record and HAR (label from the query) all work", async () => {
  const w = testWorld();
  const recs = labelled([benignRecord(1), benignRecord(2), benignRecord(3)], 0);
  const path = "/tenants/shop-a.test/examples";
  const variants: [string, string, string][] = [
    ["application/x-ndjson", recs.map((r) => JSON.stringify(r)).join("\r\n") + "\n\n", ""],
    ["application/jsonl", recs.map((r) => JSON.stringify(r)).join("\n"), ""],
    ["application/json; charset=utf-8", JSON.stringify(recs, null, 2), ""],
    ["application/json", JSON.stringify(recs[0]), ""],
    ["application/json", har(), "?label=0"],
    ["application/har+json", har(), "?label=0"],
    ["application/json", har(), "?label=0&format=har"],
    ["application/x-ndjson", JSON.stringify(recs.map(({ label: _, ...r }) => r)), "?label=0"],
  ];
  for (const [type, body, query] of variants) {
    const res = await w.api(path + query, post(type, body));
    const out = await res.json();
    assert.equal(res.status, 201, `${type} ${query}: ${JSON.stringify(out)}`);
    assert.equal(out.counts.benign, body === JSON.stringify(recs[0]) ? 1 : 3, type);
  }
  const asAttacks = await w.api(path + "?label=1", post("application/json", har()));
  assert.equal((await asAttacks.json()).counts.attack, 3, "HAR entries take the query's label");
});

Deno.test("upload: bad query parameters are a 400", async () => {
  const w = testWorld();
  const body = JSON.stringify(labelled([benignRecord(1)], 0));
  const path = "/tenants/shop-a.test/examples";
  for (
    const q of [
      "?label=2",
      "?label=benign",
      "?lable=0",
      "?format=csv",
      "?tau=2",
      "?tau=x",
      "?force=yes",
      "?label=0&label=1",
    ]
  ) {
    await expectError(await w.api(path + q, post("application/json", body)), 400, "invalid_query");
  }
  const noLabel = await expectError(
    await w.api(path, post("application/har+json", har())),
    400,
    "invalid_query",
  );
  assert.match(String(noLabel.reason), /label/);
});

Deno.test("upload: unsupported or missing media types are a 415", async () => {
  const w = testWorld();
  const body = JSON.stringify(labelled([benignRecord(1)], 0));
  // A body without a content type (a stream: fetch adds none).
  const bare = () => new Blob([body]).stream();
  const cases: [string | null, BodyInit][] = [
    [null, bare()],
    ["text/html", body],
    ["application/x-www-form-urlencoded", body],
    ["multipart/form-data; boundary=x", body],
  ];
  for (const [type, b] of cases) {
    const err = await expectError(
      await w.api("/tenants/shop-a.test/examples", post(type, b)),
      415,
      "unsupported_media_type",
    );
    assert.ok(Array.isArray(err.accepted));
    assert.ok(err.accepted.includes("text/plain"), "access logs come as text/plain");
  }
  // Plain text is read for what it holds: here, records.
  const res = await w.api("/tenants/shop-a.test/examples", post("text/plain", body));
  assert.equal(res.status, 201, await res.clone().text());
});

Deno.test("upload: an invalid record is a 422 naming its line (JSONL) or entry (HAR); nothing is stored", async () => {
  const w = testWorld();
  const path = "/tenants/shop-a.test/examples";
  const good = JSON.stringify({ ...benignRecord(1), label: 0 });
  const lines = [good, good, JSON.stringify({ method: "GET", url: "", label: 0 }), good, "{not json", good];
  const err = await expectError(
    await w.api(path, post("application/x-ndjson", lines.join("\n"))),
    422,
    "invalid_record",
  );
  assert.equal(err.line, 3);
  assert.match(String(err.reason), /^line 3: url/);
  assert.equal(err.invalid, 2);
  assert.deepEqual((err.skipped as { line: number }[]).map((s) => s.line), [3, 5]);

  const big = JSON.stringify({ ...benignRecord(1), label: 0, body: "x".repeat(MAX_RECORD_BYTES) });
  const tooBig = await expectError(
    await w.api(path, post("application/x-ndjson", `${good}\n${big}`)),
    422,
    "invalid_record",
  );
  assert.equal(tooBig.line, 2);
  assert.match(String(tooBig.reason), /65536-byte/);

  const badLabel = await expectError(
    await w.api(path, post("application/json", JSON.stringify([{ ...benignRecord(1), label: 2 }]))),
    422,
    "invalid_record",
  );
  assert.match(String(badLabel.reason), /^line 1: label/);

  const proto = await expectError(
    await w.api(
      path,
      post("application/x-ndjson", `${good}\n{"method":"GET","url":"/","__proto__":{"x":1}}`),
    ),
    422,
    "invalid_record",
  );
  assert.equal(proto.line, 2);

  const harText = JSON.parse(har());
  harText.log.entries[1].request.method = 42;
  const harErr = await expectError(
    await w.api(path + "?label=0", post("application/json", JSON.stringify(harText))),
    422,
    "invalid_record",
  );
  assert.equal(harErr.entry, 2);
  assert.match(String(harErr.reason), /^entry 2: /);

  await expectError(
    await w.api(path + "?label=0", post("application/har+json", '{"log":{}}')),
    422,
    "invalid_upload",
  );
  await expectError(await w.api(path, post("application/x-ndjson", "\n\n")), 422, "empty_upload");
  await expectError(await w.api(path, post("application/json", "[]")), 422, "empty_upload");
  await expectError(
    await w.api(path, post("application/x-ndjson", new Uint8Array([0x7b, 0xff, 0x7d]))),
    422,
    "invalid_upload",
  );
  assert.equal((await w.store.read("shop-a.test")).active, null);
});

Deno.test("upload: over 1,000 records or over 8 MiB is a 413, with a declared length or without", async () => {
  const w = testWorld();
  const path = "/tenants/shop-a.test/examples";
  const line = JSON.stringify({ method: "GET", url: "/a", label: 0 });
  const atLimit = Array.from({ length: MAX_RECORDS }, () => line).join("\n");
  const ok = await w.api(path, post("application/x-ndjson", atLimit));
  assert.equal(ok.status, 201, "exactly 1,000 records are fine");
  assert.equal((await ok.json()).counts.benign, MAX_RECORDS);
  const over = await expectError(
    await w.api(path, post("application/x-ndjson", atLimit + "\n" + line)),
    413,
    "too_many_records",
  );
  assert.equal(over.limit, MAX_RECORDS);

  const huge = new Uint8Array(MAX_UPLOAD_BYTES + 1).fill(0x20);
  await expectError(await w.api(path, post("application/x-ndjson", huge)), 413, "upload_too_large");
  // Streamed without a content-length: cut at the limit, not read to the end.
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled += 65536;
      c.enqueue(new Uint8Array(65536).fill(0x20));
      if (pulled > 64 * 1024 * 1024) c.close();
    },
  });
  const req = new Request("http://api.test/_taugate/tenants/shop-a.test/examples", {
    method: "POST",
    headers: {
      "content-type": "application/x-ndjson",
      authorization: "Bearer operator-token-0123456789abcdef0123456789",
    },
    body: stream,
  });
  await expectError(await w.app.fetch(req), 413, "upload_too_large");
  assert.ok(pulled < MAX_UPLOAD_BYTES + 4 * 65536, `read ${pulled} bytes of a 64 MiB stream`);
  const lied = await w.api(
    path,
    post("application/x-ndjson", "x".repeat(16), { "content-length": String(MAX_UPLOAD_BYTES + 1) }),
  );
  assert.equal(lied.status, 413, "a declared length over the limit is refused before reading");
});
