import assert from "node:assert/strict";
import { formatJsonl, importJsonl } from "../../src/importers/mod.ts";
import { assertSkipped } from "./_helpers.ts";

const get = { method: "GET", url: "/a?b=1" };
const post = {
  method: "POST",
  url: "/login",
  headers: { "content-type": "application/json" },
  body: '{"u":"a"}',
};

Deno.test("jsonl: lines of records, CRLF, blank lines and a BOM", () => {
  const text = "\ufeff" + JSON.stringify(get) + "\r\n\r\n  \n" + JSON.stringify({ ...post, label: 1 }) + "\n";
  const report = importJsonl(text);
  assert.deepEqual(report.records, [get, { ...post, label: 1 }]);
  assertSkipped(report, []);
});

Deno.test("jsonl: options fill in label, family and tenant only where a record has none", () => {
  const text = [JSON.stringify(get), JSON.stringify({ ...get, label: 1, family: "sqli", tenant: "t0" })].join(
    "\n",
  );
  const report = importJsonl(text, { label: 0, family: "benign", tenant: "shop-1" });
  assert.deepEqual(report.records, [
    { ...get, label: 0, family: "benign", tenant: "shop-1" },
    { ...get, label: 1, family: "sqli", tenant: "t0" },
  ]);
});

Deno.test("jsonl: each bad line is skipped with its number and reason, the good ones kept", () => {
  const lines = [
    JSON.stringify(get), // 1
    '{"method":"GET","url":"/trunc', // 2: truncated JSON
    '{"method":"GET","url":42}', // 3: wrong type
    '{"method":"GET","url":"/","label":"1"}', // 4: wrong label
    '{"method":"GET","url":"/","__proto__":{"isAdmin":true}}', // 5
    '{"method":"GET","url":"/","headers":{"__proto__":"x"}}', // 6
    JSON.stringify({ ...get, body: "x".repeat(70000) }), // 7: over the record limit
    "[1,2]", // 8: not an object
    JSON.stringify(post), // 9
    "", // blank: not an entry
  ];
  const report = importJsonl(lines.join("\n"));
  assert.deepEqual(report.records, [get, post]);
  assertSkipped(report, [
    [2, ["invalid JSON: "]],
    [3, "url: Invalid input: expected string, received number"],
    [4, "label: must be 0 or 1"],
    [5, 'forbidden key "__proto__" at "__proto__"'],
    [6, 'forbidden key "__proto__" at "headers.__proto__"'],
    [7, `${lines[6].length} bytes, over the 65536-byte record limit`],
    [8, "Invalid input: expected object, received array"],
  ]);
  assert.equal(report.total, 9);
  assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
});

Deno.test("jsonl: a JSON array, each element validated alone, reported at the line where it begins", () => {
  const text = `[
  ${JSON.stringify(get)},
  {"method": "GET", "url": ""},
  3, ${JSON.stringify({ ...post, body: "[,]{" })},
  {"method": "GET",
   "url": "/multi-line"}
]
`;
  const report = importJsonl(text, { tenant: "t1" });
  assert.deepEqual(report.records, [
    { ...get, tenant: "t1" },
    { ...post, body: "[,]{", tenant: "t1" },
    { method: "GET", url: "/multi-line", tenant: "t1" },
  ]);
  assertSkipped(report, [[3, "url: empty"], [4, "Invalid input: expected object, received number"]]);
});

Deno.test("jsonl: a truncated JSON array still yields its complete elements", () => {
  const cutInside = importJsonl(`[${JSON.stringify(get)},\n${JSON.stringify(post).slice(0, 20)}`);
  assert.deepEqual(cutInside.records, [get]);
  assertSkipped(cutInside, [[2, ["invalid JSON: "]]]);

  const cutBetween = importJsonl(`[${JSON.stringify(get)},\n${JSON.stringify(post)}\n`);
  assert.deepEqual(cutBetween.records, [get, post]);
  assertSkipped(cutBetween, [[3, "input ends before the closing ] of the array"]]);
});

Deno.test("jsonl: empty arrays, empty elements and text after the array", () => {
  assert.deepEqual(importJsonl("[]"), { records: [], skipped: [], total: 0 });
  assert.deepEqual(importJsonl(" [ \n ] \n"), { records: [], skipped: [], total: 0 });
  const report = importJsonl(`[${JSON.stringify(get)}, ,\n]\n{"x":1}`);
  assert.deepEqual(report.records, [get]);
  assertSkipped(report, [[1, "empty array element"], [2, "empty array element"], [
    3,
    "text after the closing ]",
  ]]);
});

Deno.test("jsonl: the record limit stops reading and says so", () => {
  const text = Array.from({ length: 5 }, (_, i) => JSON.stringify({ ...get, url: `/${i}` })).join("\n");
  const report = importJsonl(text, { maxRecords: 3 });
  assert.deepEqual(report.records.map((r) => r.url), ["/0", "/1", "/2"]);
  assertSkipped(report, [[4, "record limit (3) reached: this and later entries not read"]]);
});

Deno.test("jsonl: the skipped-entry limit stops reading and says so", () => {
  const report = importJsonl("x\ny\nz\n" + JSON.stringify(get), { maxSkipped: 2 });
  assert.deepEqual(report.records, []);
  assertSkipped(report, [
    [1, ["invalid JSON: "]],
    [2, ["invalid JSON: "]],
    [3, "skipped-entry limit (2) reached: this and later entries not read"],
  ]);
});

Deno.test("jsonl: an input over the byte limit is refused whole", () => {
  const text = JSON.stringify(get) + "\n" + JSON.stringify(post);
  const report = importJsonl(text, { maxBytes: 40 });
  assert.deepEqual(report.records, []);
  assertSkipped(report, [[0, "input is over the 40-byte limit"]]);
  const multiByte = importJsonl(`{"method":"GET","url":"/é"}`.padEnd(30, " "), { maxBytes: 30 });
  assertSkipped(multiByte, [[0, "input is over the 30-byte limit (31 bytes)"]]);
  assert.equal(importJsonl(text, { maxBytes: new TextEncoder().encode(text).length }).records.length, 2);
});

Deno.test("jsonl: bad options throw at once", () => {
  assert.throws(() => importJsonl("", { label: 2 as 0 }), TypeError);
  assert.throws(() => importJsonl("", { tenant: "t".repeat(129) }), TypeError);
  assert.throws(() => importJsonl("", { maxRecords: 0 }), TypeError);
  assert.throws(() => importJsonl("", { maxBytes: 1.5 }), TypeError);
});

Deno.test("jsonl: formatJsonl writes one record a line and reads back the same", () => {
  const records = [get, { ...post, label: 1 as const }];
  const text = formatJsonl(records);
  assert.equal(text, JSON.stringify(get) + "\n" + JSON.stringify({ ...post, label: 1 }) + "\n");
  assert.deepEqual(importJsonl(text).records, records);
  assert.equal(formatJsonl([]), "");
});
