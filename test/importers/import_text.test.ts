import assert from "node:assert/strict";
import {
  detectFormat,
  importClf,
  type ImportFormat,
  importHar,
  importJsonl,
  importRawHttp,
  importText,
} from "../../src/importers/mod.ts";
import { fixture } from "./_helpers.ts";

Deno.test("detectFormat: each fixture is recognised from its first line", () => {
  assert.equal(detectFormat(fixture("chrome.har")), "har");
  assert.equal(detectFormat(fixture("firefox.har")), "har");
  assert.equal(detectFormat(fixture("burp.txt")), "raw");
  assert.equal(detectFormat(fixture("nginx.log")), "clf");
  assert.equal(detectFormat(fixture("apache.log")), "clf");
  assert.equal(
    detectFormat(Deno.readTextFileSync(new URL("../fixtures/requests.jsonl", import.meta.url))),
    "jsonl",
  );
});

Deno.test("detectFormat: BOM, leading blank lines, arrays, and texts it cannot place", () => {
  assert.equal(detectFormat('\ufeff\n  {\n "log": {"entries": []}}'), "har");
  assert.equal(detectFormat('[{"method":"GET","url":"/"}]'), "jsonl");
  assert.equal(detectFormat('{"method":"GET","url":"/"}\n'), "jsonl");
  assert.equal(detectFormat("\r\n\r\nPOST http://a/b HTTP/1.0\r\n"), "raw");
  assert.equal(detectFormat("hello world"), null);
  assert.equal(detectFormat(""), null);
  assert.equal(detectFormat("GET /no-version"), null);
  assert.equal(detectFormat("x".repeat(1_000_000)), null);
});

Deno.test("importText dispatches to the importer of each format", () => {
  const cases: [ImportFormat, string, typeof importJsonl][] = [
    ["har", fixture("chrome.har"), importHar],
    ["raw", fixture("burp.txt"), importRawHttp],
    ["clf", fixture("nginx.log"), importClf],
    ["jsonl", '{"method":"GET","url":"/"}', importJsonl],
  ];
  for (const [format, text, importer] of cases) {
    const report = importText(format, text, { label: 1 });
    assert.ok(report.records.length > 0, format);
    assert.deepEqual(report, importer(text, { label: 1 }), format);
  }
});

Deno.test("importText rejects an unknown format or a non-string text with a TypeError", () => {
  assert.throws(() => importText("xml" as ImportFormat, "<a/>"), {
    name: "TypeError",
    message: 'unknown format "xml": one of jsonl, har, raw, clf',
  });
  assert.throws(() => importText("toString" as ImportFormat, ""), TypeError);
  assert.throws(() => importText("jsonl", 42 as unknown as string), {
    name: "TypeError",
    message: "text must be a string",
  });
});
