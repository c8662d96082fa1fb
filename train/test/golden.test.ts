// The feature extractor under Node gives byte-identical output to the golden vectors written under Deno.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { FEATURE_SPEC, featuresOfRecord, specId } from "@taugate/features/mod.ts";
import { encodeVector } from "@taugate/features/golden.ts";

const fixtures = readFileSync(new URL("../../test/fixtures/requests.jsonl", import.meta.url), "utf8")
  .split("\n").filter((l) => l).map((l) => JSON.parse(l));
const golden = JSON.parse(
  readFileSync(new URL("../../test/fixtures/features-golden.json", import.meta.url), "utf8"),
);

test("golden vectors: same spec id under Node", () => {
  assert.equal(golden.specId, specId(FEATURE_SPEC));
});

test("golden vectors: Node gives the pinned features for every fixture", () => {
  for (const [i, rec] of fixtures.entries()) {
    assert.deepEqual({ name: rec.name, ...encodeVector(featuresOfRecord(rec)) }, golden.vectors[i], rec.name);
  }
});
