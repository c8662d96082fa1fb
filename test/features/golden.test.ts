import assert from "node:assert/strict";
import { FEATURE_SPEC, featuresOfRecord, featuresOfRequest, specId } from "../../src/features/mod.ts";
import { encodeVector, goldenDigest } from "../../src/features/golden.ts";
import { RAW_TARGETS, viewFromRecord } from "../../src/features/view.ts";
import { readModelMeta } from "../../src/model/onnx/read.ts";
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
    // An origin-form target is appended to the origin, as a server reads a request line (`//x` is a path).
    const url = rec.url.startsWith("/") ? "http://shop.example.com" + rec.url : rec.url;
    const req = new Request(url, {
      method: rec.method,
      headers: rec.headers,
      body: rec.body,
    });
    // `new URL` normalises dot segments away; a server (Deno) or the worker's canonical step keeps the raw.
    const raw = viewFromRecord(rec, FEATURE_SPEC.caps.body).rawTarget;
    if (raw !== undefined) RAW_TARGETS.set(req, raw);
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

Deno.test("golden vectors: the shipped model was trained on exactly this extractor's output", () => {
  const meta = readModelMeta(Deno.readFileSync(new URL("../../models/taugate.onnx", import.meta.url)));
  assert.equal(meta.specId, specId(FEATURE_SPEC), "the model's spec is this build's");
  const vectors = fixtures.map((rec) => encodeVector(featuresOfRecord(rec)));
  assert.equal(
    (meta as { goldenDigest?: string }).goldenDigest,
    goldenDigest(vectors),
    "the extractor changed since the model was trained: bump the spec version and retrain (deno task train)",
  );
  assert.equal(golden.digest, goldenDigest(vectors), "features-golden.json was written by scripts/golden.ts");
});
