/**
 * `sharedFields`: a form, JSON or multipart value is hashed in the query value's space, so a payload sent in
 * a body lights the buckets the same payload lights in a query string (where most training attacks are),
 * while each keeps its own group. And a spec that names a field it cannot share is refused.
 */
import assert from "node:assert/strict";
import {
  extractFeatures,
  FEATURE_SPEC,
  type FeatureSpec,
  type FeatureTrace,
  specId,
  validateSpec,
  viewFromRecord,
} from "../../src/features/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";

const PAYLOAD = "1' OR '1'='1 union select password from users--";

/** Buckets whose trace names start with one of `prefixes` (n-grams `qval:`/`bval:`, words `tok:`, symbols `sym:`). */
function buckets(rec: RequestRecord, spec: Readonly<FeatureSpec>, prefixes: string[]): Set<number> {
  const trace: FeatureTrace = new Map();
  extractFeatures(viewFromRecord(rec, spec.caps.body), spec, trace);
  const out = new Set<number>();
  for (const [bucket, names] of trace) {
    if ([...names].some((n) => prefixes.some((p) => n.startsWith(p)))) out.add(bucket);
  }
  return out;
}

const query: RequestRecord = { method: "GET", url: `https://shop.example/?c=${encodeURIComponent(PAYLOAD)}` };
const bodies: [string, RequestRecord][] = [
  ["form", {
    method: "POST",
    url: "https://shop.example/",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `c=${encodeURIComponent(PAYLOAD)}`,
  }],
  ["JSON", {
    method: "POST",
    url: "https://shop.example/",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ c: PAYLOAD }),
  }],
];

for (const [kind, rec] of bodies) {
  Deno.test(`a payload in a ${kind} value lights the n-gram buckets it lights in a query value`, () => {
    const q = buckets(query, FEATURE_SPEC, ["qval:"]), b = buckets(rec, FEATURE_SPEC, ["bval:"]);
    assert.ok(q.size > 40, `query value n-grams: ${q.size}`);
    assert.deepEqual([...b].sort((x, y) => x - y), [...q].sort((x, y) => x - y));
    // Without sharing, the two spaces are apart: at most hash collisions in common.
    const apart: FeatureSpec = { ...FEATURE_SPEC, sharedFields: [] };
    const qa = buckets(query, apart, ["qval:"]), ba = buckets(rec, apart, ["bval:"]);
    const common = [...ba].filter((x) => qa.has(x)).length;
    assert.ok(common < ba.size / 4, `${common} of ${ba.size} buckets in common without sharing`);
  });
}

Deno.test("sharing changes the spec id, and a spec that cannot share is refused", () => {
  assert.notEqual(specId({ ...FEATURE_SPEC, sharedFields: [] }), specId(FEATURE_SPEC));
  const bad: [string, [string, string][], RegExp][] = [
    ["unknown field", [["bvalue", "qval"]], /unknown sharedFields entry "bvalue"/],
    ["itself", [["qval", "qval"]], /not a space of its own/],
    ["a chain", [["bval", "qval"], ["qval", "path"]], /not a space of its own/],
    ["twice", [["bval", "qval"], ["bval", "path"]], /appears twice/],
  ];
  for (const [what, sharedFields, message] of bad) {
    assert.throws(() => validateSpec({ ...FEATURE_SPEC, sharedFields }), message, what);
  }
});
