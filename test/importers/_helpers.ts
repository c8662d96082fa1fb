import assert from "node:assert/strict";
import type { ImportReport } from "../../src/importers/mod.ts";

/** Reads a fixture of `test/fixtures/importers/`. */
export function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(`../fixtures/importers/${name}`, import.meta.url));
}

/**
 * Asserts the skipped entries exactly: each line number, and each reason as a string (exact) or a
 * `[prefix]` (for messages the JavaScript engine writes, such as `JSON.parse`'s).
 */
export function assertSkipped(report: ImportReport, expected: [number, string | [string]][]): void {
  assert.deepEqual(report.skipped.map((s) => s.line), expected.map(([line]) => line), "skipped lines");
  for (const [i, [, reason]] of expected.entries()) {
    const got = report.skipped[i].reason;
    if (typeof reason === "string") assert.equal(got, reason, `reason of skipped entry ${i}`);
    else assert.ok(got.startsWith(reason[0]), `reason of skipped entry ${i}: ${JSON.stringify(got)}`);
  }
  assert.equal(report.total, report.records.length + report.skipped.length, "total");
}
