/**
 * Writes the golden feature vectors of the fixture requests: `deno run -A scripts/golden.ts`. Run it only
 * when the feature spec changes on purpose (its id changes too); the golden tests then pin the new output.
 */
import { FEATURE_SPEC, featuresOfRecord, specId } from "../src/features/mod.ts";
import { encodeVector, goldenDigest } from "../src/features/golden.ts";
import type { RequestRecord } from "../src/record/record.ts";

const root = new URL("../", import.meta.url);
const lines = Deno.readTextFileSync(new URL("test/fixtures/requests.jsonl", root)).split("\n").filter((l) =>
  l
);
const vectors = lines.map((line) => {
  const rec = JSON.parse(line) as RequestRecord & { name: string };
  return { name: rec.name, ...encodeVector(featuresOfRecord(rec, FEATURE_SPEC)) };
});
const out = {
  specId: specId(FEATURE_SPEC),
  digest: goldenDigest(
    vectors.map(({ indices, values, dense, structure }) => ({ indices, values, dense, structure })),
  ),
  vectors,
};
Deno.writeTextFileSync(
  new URL("test/fixtures/features-golden.json", root),
  JSON.stringify(out, null, 2) + "\n",
);
console.log(`wrote ${vectors.length} golden vectors for ${out.specId}`);
