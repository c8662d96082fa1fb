// Hard benign values: deterministic, varied, every kind present, and never an actual injection.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as hb from "../src/synth/hard_benign.ts";
import { Rng } from "../src/util/rng.ts";

const draw = (seed: number, n: number, kind?: string) => {
  const rng = new Rng(seed, "hard-benign");
  return Array.from({ length: n }, () => hb.hardBenignValue(rng, kind));
};
function distinct(vals: hb.HardBenignValue[]): number {
  return new Set(vals.map((v) => v.value)).size;
}

test("hard benign: equal seeds give equal values, other seeds differ", () => {
  assert.deepEqual(draw(7, 300), draw(7, 300));
  assert.notDeepEqual(draw(7, 50), draw(8, 50));
});

test("hard benign: every kind produces non-empty, varied values", () => {
  for (const kind of hb.HARD_BENIGN_KINDS) {
    const vals = draw(11, 100, kind);
    for (const v of vals) {
      assert.equal(v.kind, kind);
      assert.ok(v.value.length > 0, `${kind} gave an empty value`);
    }
    assert.ok(distinct(vals) >= 20, `${kind} values are too repetitive`);
  }
  assert.throws(() => hb.hardBenignValue(new Rng(1), "nope"), RangeError);
});

test("hard benign: a mixed draw covers all kinds with many distinct values", () => {
  const vals = draw(3, 1000);
  const kinds = new Set(vals.map((v) => v.kind));
  assert.deepEqual(kinds, new Set(hb.HARD_BENIGN_KINDS));
  assert.ok(distinct(vals) >= 500);
  const lengths = vals.map((v) => v.value.length);
  assert.ok(Math.min(...lengths) <= 12, "some values are short");
  assert.ok(Math.max(...lengths) >= 200, "some values are long");
});

// Substrings that would make a value an actual injection probe.
const MARKERS = [
  "<script",
  "../",
  "' or '",
  "{{",
  "${",
  "; cat ",
  "sleep(",
  "union select",
  "/etc/passwd",
];

test("hard benign: no value carries an obvious attack marker", () => {
  for (const seed of [1, 2, 3]) {
    for (const { kind, value } of draw(seed, 3000)) {
      const low = value.toLowerCase();
      for (const m of MARKERS) {
        assert.ok(!low.includes(m), `${kind} has ${m}: ${value}`);
      }
      assert.doesNotMatch(low, /union\s+(all\s+)?select/, value);
      assert.doesNotMatch(low, /\bor\s+\d+\s*=\s*\d+/, value);
    }
  }
});

test("hard benign: latin1 values are accented and Latin-1 encodable", () => {
  for (const { value } of draw(5, 200, "latin1")) {
    assert.match(value, /[\u00c0-\u00ff]/);
    assert.notEqual(hb.latin1PercentEncode(value), null, value);
  }
});

test("latin1PercentEncode: ISO-8859-1 bytes, null outside Latin-1", () => {
  assert.equal(hb.latin1PercentEncode("café"), "caf%E9");
  assert.equal(hb.latin1PercentEncode("Größe 42"), "Gr%F6%DFe%2042");
  assert.equal(hb.latin1PercentEncode("a-b_c.d~"), "a-b_c.d~");
  assert.equal(hb.latin1PercentEncode("日本"), null);
  assert.equal(hb.latin1PercentEncode("€"), null);
});

test("hard benign: separators are runs of four or more of one punctuation character", () => {
  const vals = draw(9, 300, "separators");
  for (const { value } of vals) assert.match(value, /([-=*_~#.])\1{3,}/, value);
  // Dash runs, which a SQL comment counter once read as dozens of `--`, are among them.
  assert.ok(vals.filter((v) => /-{4,}/.test(v.value)).length >= 60);
});

test("hard benign: e-mail addresses and links sometimes use the documentation domains (example.com and its kin)", () => {
  const mails = draw(13, 400, "email").map((v) => v.value);
  const urls = draw(14, 400, "url").map((v) => v.value);
  const example = (xs: string[]) => xs.filter((x) => /[@/.]example\.(com|net|org)\b/.test(x)).length;
  assert.ok(example(mails) >= 40 && example(mails) <= 160, `${example(mails)} of 400 addresses`);
  assert.ok(example(urls) >= 25 && example(urls) <= 120, `${example(urls)} of 400 links`);
  // The rest keep faker's own providers and domains.
  assert.ok(new Set(mails.map((m) => m.split("@")[1])).size >= 10);
});
