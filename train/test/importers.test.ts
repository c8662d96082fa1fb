// The importers of the training data's formats: well-formed and malformed input for each, and the real
// files' row counts against the data README.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_DATA_DIR, loadSources } from "../src/data/sources.ts";
import {
  balanced,
  canonicalTarget,
  importParamsCsv,
  importPayloadList,
  importUrlList,
  joinQuery,
  splitLines,
} from "../src/importers/mod.ts";

const enc = new TextEncoder();

test("lines: LF and CRLF endings, a last line without newline, invalid UTF-8 read as Latin-1", () => {
  const { lines, unterminated } = splitLines(
    new Uint8Array([...enc.encode("a\r\nb\n"), 0x63, 0xe2, 0x27]),
  );
  assert.deepEqual(lines.map((l) => l.text), ["a", "b", "c\u00e2'"]);
  assert.deepEqual(lines.map((l) => l.latin1), [false, false, true]);
  assert.equal(unterminated, true);
  assert.equal(splitLines("x\ny\n").unterminated, false);
  assert.equal(splitLines("x\ny\n").lines.length, 2);
});

test("URL lists: well-formed lines become GET records in order, with label, family and tenant", () => {
  const { entries, report } = importUrlList("/a?x=1\n/b/c\n", {
    source: "t",
    label: 0,
    family: "benign",
    tenant: "s",
  });
  assert.deepEqual(entries.map((e) => e.record), [
    { method: "GET", url: "/a?x=1", label: 0, family: "benign", tenant: "s" },
    { method: "GET", url: "/b/c", label: 0, family: "benign", tenant: "s" },
  ]);
  assert.deepEqual(entries.map((e) => e.line), [1, 2]);
  assert.equal(report.items, 2);
  assert.ok(balanced(report));
});

test("URL lists: a literal '#' is encoded as %23 (sent, not a fragment), control characters too", () => {
  assert.equal(canonicalTarget("/p?q=a#b").url, "/p?q=a%23b");
  assert.equal(canonicalTarget("/#1 video/").url, "/%231 video/");
  assert.equal(canonicalTarget("/x?a=\tb").url, "/x?a=%09b");
  const u = new URL(canonicalTarget("/p?q=a#b").url!, "http://h");
  assert.equal(u.search, "?q=a%23b");
});

test("URL lists: targets that would parse as a host stay paths; bare payloads get a '/' (warned)", () => {
  assert.equal(
    canonicalTarget("//..%5c..%5cwin.ini").url,
    "http://localhost//..%5c..%5cwin.ini",
  );
  assert.equal(
    new URL(canonicalTarget("//etc/passwd").url!).pathname,
    "//etc/passwd",
  );
  assert.deepEqual(canonicalTarget("' or 1=1--"), {
    url: "/' or 1=1--",
    bare: true,
  });
  assert.equal(
    canonicalTarget("http://example.com/a?b").url,
    "http://example.com/a?b",
  );
  const { report } = importUrlList("<script>x</script>\n", {
    source: "t",
    label: 1,
    family: "scanner",
  });
  assert.equal(report.warnings.length, 1);
  assert.equal(report.warnings[0].line, 1);
});

test("URL lists (urldetect): a TAB or spaces between path and query become '?'", () => {
  assert.equal(
    joinQuery("/a.aspx\trecid=1' and '1'='1"),
    "/a.aspx?recid=1' and '1'='1",
  );
  assert.equal(joinQuery("/a.aspx   recid=1 or 1"), "/a.aspx?recid=1 or 1");
  assert.equal(joinQuery("/a b c/"), "/a b c/");
  assert.equal(joinQuery("/p?x=1 2"), "/p?x=1 2");
  assert.equal(joinQuery("/p\t"), "/p");
  const { entries } = importUrlList("/h.aspx\tid=1#x\n", {
    source: "t",
    label: 1,
    family: "sqli",
    whitespaceQuery: true,
  });
  assert.equal(entries[0].record.url, "/h.aspx?id=1%23x");
});

test("URL lists: malformed lines are skipped with their line numbers; blank lines counted; nothing lost", () => {
  const text = "/ok\n\n   \nhttp://[bad/x\n/also-ok\nhttp://<yourservername>/\n/last";
  const { entries, report } = importUrlList(text, {
    source: "t",
    label: 1,
    family: "scanner",
  });
  assert.deepEqual(entries.map((e) => e.record.url), [
    "/ok",
    "/also-ok",
    "/last",
  ]);
  assert.deepEqual(report.skipped.map((s) => s.line), [4, 6]);
  assert.equal(report.blank, 2);
  assert.equal(report.lines, 7);
  assert.equal(report.unterminatedLastLine, true);
  assert.ok(balanced(report));
});

test("parameter CSV: quoted fields, doubled quotes, commas and newlines inside quotes", () => {
  const csv =
    'payload,length,attack_type,label\n"a,""b""","6","sqli","anom"\n"x\ny","3","xss","anom"\nplain,5,cmdi,anom\n';
  const { payloads, report } = importParamsCsv(csv, "t");
  assert.deepEqual(payloads.map((p) => [p.payload, p.family, p.line]), [
    ['a,"b"', "sqli", 2],
    ["x\ny", "xss", 3],
    ["plain", "cmdi", 5],
  ]);
  assert.equal(report.comments, 1);
  // 'a,"b"' is 5 characters, its length column says 6: kept, with a warning.
  assert.deepEqual(report.warnings.map((w) => w.line), [2]);
  assert.ok(balanced(report));
});

test("parameter CSV: malformed rows are skipped with their line numbers and parsing resumes", () => {
  const csv = [
    "payload,length,attack_type,label",
    '"ok","2","sqli","anom"',
    '"stray"x,"1","sqli","anom"',
    '"two","3"',
    '"","0","sqli","anom"',
    '"lbl","3","sqli","weird"',
    '"never closed,"3","xss","anom"',
    '"after","5","path-traversal","anom"',
  ].join("\n");
  const { payloads, report } = importParamsCsv(csv, "t");
  assert.deepEqual(payloads.map((p) => [p.payload, p.family]), [
    ["ok", "sqli"],
    ["after", "traversal"],
  ]);
  assert.deepEqual(report.skipped.map((s) => s.line), [3, 4, 5, 6, 7]);
  assert.ok(balanced(report));
});

test("payload lists: one payload a line, '# ' comments and blanks counted, '#{7*7}' kept", () => {
  const { payloads, report } = importPayloadList(
    "# a comment\n#{7*7}\n\n' or 1=1\n#\tanother\n",
    "t",
    "ssti",
  );
  assert.deepEqual(payloads.map((p) => [p.payload, p.line, p.family]), [[
    "#{7*7}",
    2,
    "ssti",
  ], ["' or 1=1", 4, "ssti"]]);
  assert.equal(report.comments, 2);
  assert.equal(report.blank, 1);
  assert.ok(balanced(report));
});

test("payload lists: a NUL byte skips the line with its number; invalid UTF-8 is kept and warned", () => {
  const bytes = new Uint8Array([
    ...enc.encode("good\nba"),
    0,
    ...enc.encode("d\nlat"),
    0xe2,
    ...enc.encode("'\n"),
  ]);
  const { payloads, report } = importPayloadList(bytes, "t", "sqli");
  assert.deepEqual(payloads.map((p) => p.payload), ["good", "lat\u00e2'"]);
  assert.deepEqual(report.skipped.map((s) => s.line), [2]);
  assert.deepEqual(report.warnings.map((s) => s.line), [3]);
  assert.ok(balanced(report));
});

/** The data README's table: folder/file → rows. */
function readmeRows(dataDir: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (
    const line of readFileSync(join(dataDir, "README.md"), "utf8").split("\n")
  ) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4) continue;
    const n = Number(cells[3].replace(/[,~k]/g, ""));
    if (Number.isFinite(n) && n > 0) rows.set(cells[1], n);
  }
  return rows;
}

test(
  "real data: every file imports without loss; row counts match the data README",
  { skip: !existsSync(DEFAULT_DATA_DIR) },
  () => {
    const s = loadSources(DEFAULT_DATA_DIR);
    for (const r of s.reports) {
      assert.ok(
        balanced(r),
        `${r.source} does not add up`,
      );
    }
    const rows = readmeRows(DEFAULT_DATA_DIR);
    const report = (src: string) => s.reports.find((r) => r.source === src)!;
    // The README counts newline characters (`wc -l`): a last line without one is a row it does not count.
    const lines = (src: string) => report(src).lines - (report(src).unterminatedLastLine ? 1 : 0);
    assert.equal(
      lines("fwaf/badqueries.txt"),
      rows.get("`fwaf/badqueries.txt`"),
    );
    assert.equal(
      lines("fwaf/goodqueries_subset.txt"),
      rows.get("`fwaf/goodqueries_subset.txt`"),
    );
    assert.equal(
      lines("urldetect/bad_fromE.txt"),
      rows.get("`urldetect/bad_fromE.txt`"),
    );
    assert.equal(
      report("httpparams/attacks.csv").items,
      rows.get("`httpparams/attacks.csv`"),
    );
    // "21,925 + 5,826" for the two urldetect benign files.
    assert.equal(lines("urldetect/good_fromE2.txt"), 21925);
    assert.equal(lines("urldetect/goodfromE.txt"), 5826);
    // CSV families as the README gives them.
    const fam = (f: string) => s.params.filter((p) => p.family === f).length;
    assert.deepEqual([fam("sqli"), fam("xss"), fam("traversal"), fam("cmdi")], [
      10852,
      532,
      290,
      89,
    ]);
    // Payload lists: "~36k" and "~10k" lines.
    const listLines = (prefix: string) =>
      s.reports.filter((r) => r.source.startsWith(prefix)).reduce(
        (a, r) => a + r.lines,
        0,
      );
    assert.ok(
      Math.abs(listLines("payloads/payloadsallthethings/") - 36000) < 1500,
    );
    assert.ok(Math.abs(listLines("payloads/fuzzdb/") - 10000) < 1500);
    // Every data file matches SHA256SUMS.
    for (const c of s.checksums) {
      assert.notEqual(
        c.ok,
        false,
        `${c.path} checksum differs`,
      );
    }
  },
);
