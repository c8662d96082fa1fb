import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatJsonl,
  importClf,
  importHar,
  importJsonl,
  importRawHttp,
  type ImportReport,
} from "../../src/importers/mod.ts";
import { parseRecord, type RequestRecord } from "../../src/record/mod.ts";
import { fixture } from "./_helpers.ts";

/** Pieces every format reacts to, so that random texts reach deep into the scanners. */
const piece = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 3 }),
  fc.constantFrom(
    "GET",
    "POST /a?b=1",
    " ",
    "/",
    " HTTP/1.1",
    "HTTP/2",
    "\r\n",
    "\n",
    "\n\n",
    ":",
    "Host: a",
    "Content-Length: ",
    "Transfer-Encoding: chunked",
    "0",
    "5",
    "ffffffff",
    ";",
    '"',
    "\\",
    "\\x22",
    "\\xC3\\xA9",
    "[",
    "]",
    "[02/Mar/2026:10:00:00 +0000]",
    " 200 ",
    " - ",
    "{",
    "}",
    ",",
    '"method":"GET"',
    '"url":"/"',
    '"__proto__":',
    '{"log":{"entries":[',
    '{"request":{"method":"GET","url":"/","headers":[{"name":":authority","value":"a"}]}}',
    '"postData":{"text":"eA==","encoding":"base64"}',
    "\ufeff",
    "\ud800",
  ),
);
const noisyText = fc.array(piece, { maxLength: 60 }).map((p) => p.join(""));

/** A fixture cut, with noise spliced in: realistic texts broken in realistic places. */
function mutated(text: string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(text.length), fc.nat(text.length), noisyText).map(([a, b, noise]) =>
    text.slice(0, Math.min(a, b)) + noise + text.slice(Math.max(a, b))
  );
}

function checkReport(report: ImportReport): void {
  assert.equal(report.total, report.records.length + report.skipped.length);
  for (const record of report.records) {
    const again = parseRecord(record);
    assert.ok(again.ok, `an output record fails the schema: ${!again.ok && again.error}`);
    assert.deepEqual(again.record, record);
  }
  let last = -1;
  for (const s of report.skipped) {
    assert.ok(Number.isInteger(s.line) && s.line >= 0, `line ${s.line}`);
    assert.ok(s.line >= last, "skipped entries are in input order");
    assert.ok(typeof s.reason === "string" && s.reason.length > 0);
    last = s.line;
  }
}

/** HAR archives whose entries hold arbitrary JSON where requests, headers and bodies belong. */
const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ unit: "binary", maxLength: 20 }));
/** Mostly the expected shape, sometimes junk. */
const usually = <T>(shape: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: shape, weight: 6 }, { arbitrary: junk, weight: 1 });
const harHeader = fc.record({
  name: usually(fc.constantFrom(":authority", ":path", "cookie", "Host", "x-a", "__proto__", "a b")),
  value: usually(fc.string({ unit: "binary", maxLength: 20 })),
}, { requiredKeys: [] });
const harPostData = fc.record({
  text: usually(fc.constantFrom("eA==", "%%%", "a=1&b=2")),
  encoding: usually(fc.constantFrom("base64", "", "gzip")),
  params: usually(fc.array(fc.record({ name: usually(fc.string()), value: usually(fc.string()) }))),
}, { requiredKeys: [] });
const harRequest = fc.record({
  method: usually(fc.constantFrom("GET", "POST", "G T", "")),
  url: usually(fc.constantFrom("https://a.example/x?y=1", "/", "")),
  headers: usually(fc.array(usually(harHeader), { maxLength: 6 })),
  postData: usually(harPostData),
}, { requiredKeys: ["method", "url"] });
const harEntry = usually(fc.record({ request: usually(harRequest) }));
const harText = fc.array(harEntry, { maxLength: 8 }).map((entries) => JSON.stringify({ log: { entries } }));

const importers = [
  ["jsonl", importJsonl, fixture("../requests.jsonl")],
  ["har", importHar, fixture("chrome.har")],
  ["raw", importRawHttp, fixture("burp.txt")],
  ["clf", importClf, fixture("nginx.log") + fixture("apache.log")],
] as const;

for (const [name, importer, sample] of importers) {
  Deno.test(`property (${name}): no text makes the importer throw; every record passes the schema`, () => {
    fc.assert(
      fc.property(
        fc.oneof(noisyText, mutated(sample), fc.string({ unit: "binary", maxLength: 300 }), harText),
        (text) => {
          checkReport(importer(text, { label: 1 }));
        },
      ),
      { numRuns: 300 },
    );
  });
}

Deno.test("property (raw): skipped lines point inside the text", () => {
  fc.assert(
    fc.property(fc.oneof(noisyText, mutated(fixture("burp.txt"))), (text) => {
      const lines = text.split("\n").length;
      for (const s of importRawHttp(text).skipped) {
        assert.ok(s.line >= 1 && s.line <= lines, `${s.line} of ${lines}`);
      }
    }),
    { numRuns: 300 },
  );
});

const tchar = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
);
const token = (max: number) => fc.string({ unit: tchar, minLength: 1, maxLength: max });
const anyText = (max: number) =>
  fc.oneof(fc.string({ maxLength: max }), fc.string({ unit: "binary", maxLength: max }));

const validRecord: fc.Arbitrary<RequestRecord> = fc
  .record({
    method: fc.oneof(fc.constantFrom("GET", "POST", "PUT", "delete", "PROPFIND"), token(32)),
    url: fc.oneof(fc.webUrl({ withQueryParameters: true }), anyText(200).map((s) => "/" + s)),
    headers: fc.dictionary(token(20), anyText(60), { maxKeys: 8 }),
    body: anyText(400),
    label: fc.constantFrom(0 as const, 1 as const),
    family: anyText(20),
    tenant: anyText(20),
  }, { requiredKeys: ["method", "url"] })
  .map((r) => parseRecord(r))
  .filter((r) => r.ok)
  .map((r) => (r as { record: RequestRecord }).record);

Deno.test("property (jsonl): records → JSONL → records is the identity", () => {
  fc.assert(
    fc.property(fc.array(validRecord, { maxLength: 20 }), (records) => {
      const report = importJsonl(formatJsonl(records));
      assert.deepEqual(report.records, records);
      assert.deepEqual(report.skipped, []);
    }),
    { numRuns: 300 },
  );
});

Deno.test("property (jsonl): records → JSON array (pretty or not) → records is the identity", () => {
  fc.assert(
    fc.property(fc.array(validRecord, { maxLength: 20 }), fc.boolean(), (records, pretty) => {
      const report = importJsonl(JSON.stringify(records, null, pretty ? 2 : undefined));
      assert.deepEqual(report.records, records);
      assert.deepEqual(report.skipped, []);
    }),
    { numRuns: 300 },
  );
});
