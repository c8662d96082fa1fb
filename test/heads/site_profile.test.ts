import assert from "node:assert/strict";
import { featuresOfRecord, STRUCTURE_KINDS } from "../../src/features/mod.ts";
import { ST_KEY, ST_KVSHAPE, ST_METHOD, ST_PATH } from "../../src/features/extract.ts";
import {
  buildSiteProfile,
  NOVELTY_DIM,
  noveltyFeatures,
  profileBitsFromBase64,
  profileBitsToBase64,
  profileHas,
} from "../../src/heads/site_profile.ts";
import type { RequestRecord } from "../../src/record/record.ts";

const get = (url: string, headers: Record<string, string> = { accept: "*/*" }): RequestRecord => ({
  method: "GET",
  url,
  headers,
});
const tokensOf = (r: RequestRecord) => featuresOfRecord(r).structure;
const normal = [get("/shop/item?id=12"), get("/shop/item?id=7&sort=asc"), get("/shop/list?page=2")];

Deno.test("site profile: seen structure is not novel; a new parameter, shape or route is, by group", () => {
  const profile = buildSiteProfile(normal.map(tokensOf), { minCount: 1 });
  assert.deepEqual(
    Array.from(noveltyFeatures(profile, tokensOf(get("/shop/item?id=99")))),
    new Array(NOVELTY_DIM).fill(0),
  );
  const shape = noveltyFeatures(profile, tokensOf(get("/shop/item?id=abc")));
  assert.equal(shape[ST_KVSHAPE], Math.fround(Math.log1p(1)));
  assert.equal(shape[ST_KEY], 0);
  const param = noveltyFeatures(profile, tokensOf(get("/shop/item?id=1&is_admin=1")));
  assert.ok(param[ST_KEY] > 0);
  const route = noveltyFeatures(profile, tokensOf(get("/.git/config")));
  assert.ok(route[ST_PATH] > 0);
  const method = noveltyFeatures(
    profile,
    tokensOf({ method: "TRACE", url: "/shop/item?id=1", headers: { accept: "*/*" } }),
  );
  assert.ok(method[ST_METHOD] > 0);
  assert.equal(NOVELTY_DIM, 8);
  assert.equal(STRUCTURE_KINDS.length, 8);
});

Deno.test("site profile: minCount keeps one-off tokens (the odd attack in unlabelled traffic) out", () => {
  const traffic = [...normal, ...normal, get("/shop/item?id=1'--")];
  const profile = buildSiteProfile(traffic.map(tokensOf), { minCount: 2 });
  assert.ok(
    noveltyFeatures(profile, tokensOf(get("/shop/item?id=1'--")))[ST_KVSHAPE] > 0,
  );
  assert.deepEqual(
    Array.from(noveltyFeatures(profile, tokensOf(get("/shop/item?id=5")))),
    new Array(NOVELTY_DIM).fill(0),
  );
  assert.equal(profile.requests, 7);
});

Deno.test("site profile: no false negatives, and base64 round trip", () => {
  const many = Array.from({ length: 500 }, (_, i) => new Int32Array([i * 7919, i * 104729 + 3]));
  const profile = buildSiteProfile(many, { minCount: 1 });
  for (const s of many) for (const t of s) assert.ok(profileHas(profile, t));
  assert.equal(profile.tokens, 1000);
  const back = profileBitsFromBase64(profileBitsToBase64(profile.bits));
  assert.deepEqual(back, profile.bits);
  assert.throws(() => profileBitsFromBase64("AAAA"), TypeError);
  assert.throws(() => profileBitsFromBase64("not base64!"), TypeError);
});
