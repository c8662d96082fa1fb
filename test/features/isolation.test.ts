/**
 * The extractor's state belongs to the objects that use it: two extractors (one per spec object) and two
 * decoders share nothing, so using them alternately gives exactly what using one gives.
 */
import assert from "node:assert/strict";
import {
  extractFeatures,
  extractFeaturesInto,
  FEATURE_SPEC,
  type FeatureSpec,
  type FeatureTrace,
  newFeatureBuffer,
  viewFromRecord,
} from "../../src/features/mod.ts";
import { FieldDecoder, newEvidence } from "../../src/features/decode.ts";
import { encodeVector } from "../../src/features/golden.ts";
import type { RequestRecord } from "../../src/record/record.ts";

type Fixture = RequestRecord & { name: string };
const fixtures: Fixture[] = Deno.readTextFileSync(new URL("../fixtures/requests.jsonl", import.meta.url))
  .split("\n").filter((l) => l).map((l) => JSON.parse(l));
const views = fixtures.map((rec) => viewFromRecord(rec, FEATURE_SPEC.caps.body));

Deno.test("two extractors used alternately give what one gives, vectors and traces alike", () => {
  // Extractors are kept per spec object: an equal copy of the spec gets an extractor of its own.
  const other: Readonly<FeatureSpec> = { ...FEATURE_SPEC };
  const alone = views.map((v) => {
    const trace: FeatureTrace = new Map();
    return { fv: encodeVector(extractFeatures(v, FEATURE_SPEC, trace)), trace: [...trace] };
  });
  // Alternate the two in an order that leaves each one's last request different from the next one's.
  for (const [i, v] of views.entries()) {
    const j = views.length - 1 - i;
    const ta: FeatureTrace = new Map(), tb: FeatureTrace = new Map();
    const a = encodeVector(extractFeatures(v, FEATURE_SPEC, ta));
    const b = encodeVector(extractFeatures(views[j], other, tb));
    assert.deepEqual(a, alone[i].fv, fixtures[i].name);
    assert.deepEqual([...ta], alone[i].trace, fixtures[i].name);
    assert.deepEqual(b, alone[j].fv, fixtures[j].name);
    assert.deepEqual([...tb], alone[j].trace, fixtures[j].name);
  }
});

Deno.test("the hot path's buffer API agrees with extractFeatures when extractors alternate", () => {
  const other: Readonly<FeatureSpec> = { ...FEATURE_SPEC };
  const bufA = newFeatureBuffer(FEATURE_SPEC), bufB = newFeatureBuffer(other);
  for (const [i, v] of views.entries()) {
    const want = extractFeatures(v, FEATURE_SPEC);
    extractFeaturesInto(views[views.length - 1 - i], bufB, other);
    extractFeaturesInto(v, bufA, FEATURE_SPEC);
    assert.deepEqual(bufA.indices.subarray(0, bufA.nnz), want.indices, fixtures[i].name);
    assert.deepEqual(bufA.values.subarray(0, bufA.nnz), want.values, fixtures[i].name);
    assert.deepEqual(bufA.dense, want.dense, fixtures[i].name);
    assert.deepEqual(bufA.structure.subarray(0, bufA.nStructure), want.structure, fixtures[i].name);
  }
});

/** Fields that exercise every pass of the decoder, and one long enough to grow its buffer. */
const FIELDS: [string, boolean][] = [
  ["%2527%20or%201%3D1--", true],
  ["a+b%u0041%E2%82%AC%C3%28%zz", true],
  ["\\u003cscript\\u{1F600}\\x3e&lt;&#x3C;&#60;&colon;&bogus;", false],
  ["ＳＥＬＥＣＴ ﬃ İ", false],
  ["%".repeat(3) + "%41".repeat(6000) + "&amp;".repeat(2000), true],
  ["plain", false],
];

Deno.test("decoders own their buffers: alternating two gives what a fresh one gives", () => {
  const fresh = FIELDS.map(([s, plus]) => {
    const ev = newEvidence();
    return { out: new FieldDecoder().decodeField(s, plus, 3, 1 << 16, ev), ev };
  });
  const a = new FieldDecoder(), b = new FieldDecoder();
  for (let round = 0; round < 2; round++) {
    for (const [i, [s, plus]] of FIELDS.entries()) {
      const j = FIELDS.length - 1 - i;
      const evA = newEvidence(), evB = newEvidence();
      assert.equal(a.decodeField(s, plus, 3, 1 << 16, evA), fresh[i].out);
      assert.equal(b.decodeField(FIELDS[j][0], FIELDS[j][1], 3, 1 << 16, evB), fresh[j].out);
      assert.deepEqual(evA, fresh[i].ev);
      assert.deepEqual(evB, fresh[j].ev);
    }
  }
});

Deno.test("the feature modules keep no mutable state at module level", async () => {
  for (const file of ["decode.ts", "extract.ts", "chars.ts", "hash.ts", "lexicon.ts", "view.ts", "spec.ts"]) {
    const src = await Deno.readTextFile(new URL(`../../src/features/${file}`, import.meta.url));
    assert.equal(src.match(/^(export )?(let|var) /m), null, `${file}: a module-level let or var`);
  }
  // The decoder's scratch buffers live in FieldDecoder, not in the module.
  const decode = await Deno.readTextFile(new URL("../../src/features/decode.ts", import.meta.url));
  assert.equal(decode.match(/^(export )?const \w+ = new (Uint|Int|Float)\w*Array/m), null);
});
