import assert from "node:assert/strict";
import { FEATURE_SPEC, featuresOfRecord, featuresOfRequest, specId } from "../../src/features/mod.ts";
import { encodeVector } from "../../src/features/golden.ts";
import type { RequestRecord } from "../../src/record/record.ts";

type Fixture = RequestRecord & { name: string };
const fixtures: Fixture[] = Deno.readTextFileSync(new URL("../fixtures/requests.jsonl", import.meta.url))
  .split("\n").filter((l) => l).map((l) => JSON.parse(l));
const golden = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/features-golden.json", import.meta.url)),
);

Deno.test("golden vectors: the spec id is the one the vectors were written for", () => {
  assert.equal(golden.specId, specId(FEATURE_SPEC));
  assert.equal(golden.vectors.length, fixtures.length);
});

Deno.test("golden vectors: every fixture gives exactly its pinned features", () => {
  for (const [i, rec] of fixtures.entries()) {
    assert.deepEqual({ name: rec.name, ...encodeVector(featuresOfRecord(rec)) }, golden.vectors[i], rec.name);
  }
});

Deno.test("a Web Request and its record give byte-identical features", async () => {
  for (const rec of fixtures) {
    const req = new Request(new URL(rec.url, "http://shop.example.com"), {
      method: rec.method,
      headers: rec.headers,
      body: rec.body,
    });
    const fromRequest = encodeVector(await featuresOfRequest(req));
    assert.deepEqual(fromRequest, encodeVector(featuresOfRecord(rec)), rec.name);
    // The request's body was read from a clone: the request itself is still unread.
    assert.equal(req.bodyUsed, false, rec.name);
    if (rec.body) assert.equal(await req.text(), rec.body, rec.name);
  }
});

Deno.test("origin-form and absolute URLs give the same features", () => {
  const a = fixtures.find((f) => f.name === "benign-browser-get")!;
  const b = fixtures.find((f) => f.name === "benign-absolute-url")!;
  assert.deepEqual(encodeVector(featuresOfRecord(a)), encodeVector(featuresOfRecord(b)));
});
