import assert from "node:assert/strict";
import { importClf, importHar, importJsonl, importRawHttp } from "../../src/importers/mod.ts";
import { assertSkipped } from "./_helpers.ts";

const MB = 1 << 20;

Deno.test("limits: a flood of malformed requests stops at the skipped-entry limit", () => {
  const text = "GET / HTTP/1.1\nContent-Length: 999999999\n\n".repeat(50_000);
  const report = importRawHttp(text);
  assert.equal(report.records.length, 0);
  assert.equal(report.skipped.length, 1001);
  assert.deepEqual(report.skipped[0], {
    line: 1,
    reason: `Content-Length 999999999 but only ${text.length - 42} bytes follow`,
  });
  assert.deepEqual(report.skipped[1000], {
    line: 3001,
    reason: "skipped-entry limit (1000) reached: this and later entries not read",
  });
});

Deno.test("limits: deep nesting is an error in its line or entry, never a stack overflow", () => {
  const deep = "[".repeat(MB) + "]".repeat(MB);
  const array = importJsonl("[" + deep + "]");
  assertSkipped(array, [[1, `${2 * MB} bytes, over the 65536-byte record limit`]]);
  const har = importHar(`{"log":{"entries":[${deep}]}}`);
  assertSkipped(har, [[1, "entry has no request object"]]);
  const record = importJsonl(`{"method":"GET","url":"/","x":${"[".repeat(20_000)}${"]".repeat(20_000)}}`);
  assert.deepEqual(record.records, [{ method: "GET", url: "/" }]);
});

Deno.test("limits: a megabyte-long log line of escapes is rejected for its size", () => {
  const agent = '\\x41\\"'.repeat(MB / 6);
  const report = importClf(`1.2.3.4 - - [d] "GET / HTTP/1.1" 200 0 "-" "${agent}"`);
  assertSkipped(report, [[1, 'headers["user-agent"]: at most 16384 characters']]);
});
