import assert from "node:assert/strict";
import fc from "fast-check";
import { DENSE_DIM, FEATURE_SPEC, featuresOfRecord, featuresOfRequest } from "../../src/features/mod.ts";
import { encodeVector } from "../../src/features/golden.ts";
import { RAW_TARGETS, viewFromRecord } from "../../src/features/view.ts";
import type { RequestRecord } from "../../src/record/record.ts";

const hexDigit = fc.constantFrom(..."0123456789abcdefABCDEFgz");
/** Text rich in what the decoder reacts to: escapes, entities, comments, controls, non-ASCII. */
const hostileText = fc.array(
  fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.string({ unit: "binary", maxLength: 4 }),
    fc.tuple(
      fc.constantFrom("%", "%u", "\\u", "\\x", "&#", "&#x", "\\u{"),
      fc.array(hexDigit, { maxLength: 6 }),
    )
      .map(([p, d]) => p + d.join("")),
    fc.constantFrom(
      "/*",
      "*/",
      "--",
      "+",
      "%00",
      "\u0000",
      "\t",
      "&lt;",
      "&amp",
      "＜",
      "ﬃ",
      "İ",
      "\ufffd",
      "\ud800",
    ),
  ),
  { maxLength: 40 },
).map((parts) => parts.join(""));

const record: fc.Arbitrary<RequestRecord> = fc.record({
  method: fc.oneof(fc.constantFrom("GET", "POST", "PUT", "delete", "PROPFIND"), fc.string({ maxLength: 40 })),
  url: fc.oneof(
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    hostileText.map((t) => "/" + t),
    hostileText.map((t) => "/p?" + t),
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.constant("http://[::1]:8080/x?y=1"),
  ),
  headers: fc.dictionary(
    fc.oneof(
      fc.constantFrom("cookie", "content-type", "user-agent", "referer", "accept", "Cookie"),
      fc.string({ maxLength: 12 }),
    ),
    fc.oneof(
      hostileText,
      fc.constantFrom("multipart/form-data; boundary=b", "application/json", "multipart/form-data"),
    ),
    { maxKeys: 8 },
  ),
  body: fc.option(
    fc.oneof(
      hostileText,
      fc.json({ depthSize: "large" }),
      hostileText.map((t) => `--b\r\nContent-Disposition: form-data; name="${t}"\r\n\r\n${t}\r\n--b--`),
      fc.string({ unit: "binary", maxLength: 3000 }),
    ),
    { nil: undefined },
  ),
}, { requiredKeys: ["method", "url"] });

Deno.test("property: on any record the extractor never throws and returns a well-formed vector", () => {
  fc.assert(
    fc.property(record, (rec) => {
      const fv = featuresOfRecord(rec);
      assert.ok(fv.indices.length > 0, "at least the method feature");
      assert.equal(fv.indices.length, fv.values.length);
      for (let i = 0; i < fv.indices.length; i++) {
        const b = fv.indices[i];
        assert.ok(Number.isInteger(b) && b >= 0 && b < FEATURE_SPEC.dim, `index ${b}`);
        if (i > 0) assert.ok(fv.indices[i - 1] < b, "sorted and unique");
        assert.ok(Number.isFinite(fv.values[i]) && fv.values[i] > 0, `value ${fv.values[i]}`);
      }
      assert.equal(fv.dense.length, DENSE_DIM);
      for (const v of fv.dense) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `dense ${v}`);
    }),
    { numRuns: 1500, seed: 42 },
  );
});

Deno.test("property: the extractor is deterministic, whatever ran before", () => {
  fc.assert(
    fc.property(record, record, (a, b) => {
      const first = encodeVector(featuresOfRecord(a));
      featuresOfRecord(b); // state left by another request must not leak
      assert.deepEqual(encodeVector(featuresOfRecord(a)), first);
    }),
    { numRuns: 500, seed: 7 },
  );
});

Deno.test("property: a Request built from a record gives the record's features", async () => {
  const printable = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));
  const buildable = fc.record({
    method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
    url: fc.oneof(
      fc.webUrl({ withQueryParameters: true }),
      hostileText.map((t) => "http://h.example/q?x=" + t),
    ),
    headers: fc.dictionary(
      fc.constantFrom("cookie", "user-agent", "x-a", "referer", "content-type"),
      printable,
      { maxKeys: 4 },
    ),
    body: hostileText,
  });
  await fc.assert(
    fc.asyncProperty(buildable, async (rec) => {
      const body = rec.method === "GET" ? undefined : rec.body;
      // Bytes, not a string: a string body would make Request add a content-type of its own.
      const bytes = body === undefined ? undefined : new TextEncoder().encode(body);
      const req = new Request(rec.url, { method: rec.method, headers: rec.headers, body: bytes });
      // `new Request` normalises the URL; a server hands the raw target over (the worker keeps it).
      const raw = viewFromRecord(rec, FEATURE_SPEC.caps.body).rawTarget;
      if (raw !== undefined) RAW_TARGETS.set(req, raw);
      const viaRecord = encodeVector(featuresOfRecord({ ...rec, body }));
      assert.deepEqual(encodeVector(await featuresOfRequest(req)), viaRecord);
    }),
    { numRuns: 300, seed: 11 },
  );
});
