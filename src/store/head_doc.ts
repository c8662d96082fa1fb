/**
 * The stored form of a tenant head: a small JSON document (a few KB), the same in every store.
 *
 * ```json
 * {"version": 3, "head": {"w": [0.12, -0.5, ...], "b": -1.2, "a": [0.4, 1.1, ...],
 *   "profile": {"bits": "AAQA...", "requests": 240, "tokens": 180, "minCount": 1, "weight": 0.7}},
 *  "tau": 0.7, "createdAt": "2026-11-29T13:40:00.000Z", "modelId": "taugate-...",
 *  "counts": {"benign": 20, "attack": 8}}
 * ```
 *
 * A head with a site profile carries the novelty weights `a` and the profile, its Bloom filter as base64;
 * the two come together or not at all. Unknown fields are kept (the tenant API adds its own), and so are
 * unknown fields of `head`: any other numeric array in it becomes a `Float32Array` in `HeadParams` and back,
 * so optional head fields round-trip.
 *
 * @module
 */
import { z } from "zod";
import { DENSE_DIM, FEATURE_SPEC } from "../features/spec.ts";
import {
  VALUE_DIM,
  VALUE_PROFILE_MAX_CHARS,
  ValueProfile,
  valueProfileFromBase64,
  valueProfileToBase64,
} from "../heads/value_profile.ts";
import { NOVELTY_DIM, profileBitsFromBase64, profileBitsToBase64 } from "../heads/site_profile.ts";
import { CORRECTION_BOUNDED, MAX_CORRECTION_ENDPOINTS, MAX_SHAPE_ENTRIES } from "../heads/residual.ts";
import type { HeadParams, SiteProfile } from "../model/types.ts";
import { parses } from "../util/zod.ts";
import { base64ToBytes, bytesToBase64 } from "../util/bytes.ts";

/** A correction's support bitmap (`HeadParams.rs`) from base64: exactly `FEATURE_SPEC.dim / 8` bytes. */
function supportFromBase64(text: string): Uint8Array {
  const bytes = base64ToBytes(text);
  if (bytes.length !== FEATURE_SPEC.dim >>> 3) {
    throw new TypeError(`support bitmap: ${bytes.length} bytes, not ${FEATURE_SPEC.dim >>> 3}`);
  }
  return bytes;
}

/** A tenant head as stored (JSON). */
export interface StoredHead {
  /** Positive integer, increasing with every fit of this tenant's head. */
  version: number;
  /** `HeadParams` as JSON: `w` and every other numeric array as `number[]`. */
  head: { w: number[]; b: number; [field: string]: unknown };
  /** The tenant's own threshold; the worker's τ applies when absent. */
  tau?: number;
  /** ISO 8601 time of the fit. */
  createdAt: string;
  /** The model the head was fitted on; a head for another model is not used. */
  modelId?: string;
  /** Examples the head was fitted on. */
  counts?: { benign?: number; attack?: number; [k: string]: unknown };
  /** Other fields, kept as they are: the tenant API's own (the fit's and guard's figures, who published). */
  [field: string]: unknown;
}

/** A tenant head ready for scoring (what the cache holds). */
export interface TenantHead {
  /** The tenant id the head was read for. */
  tenant: string;
  /** The stored document's `version`. */
  version: number;
  /** The head in scoring form (`headFromJson` of the document's `head`). */
  head: HeadParams;
  /** The tenant's own threshold; absent: the worker's τ applies. */
  tau?: number;
  /** The model the head was fitted on; a head for another model is `stale` and not used. */
  modelId?: string;
}

// Bounds keep a hostile or corrupt document from costing more than a few kB per tenant in the cache.
const MAX_EMBED = 4096;
/** Residual weights a head may carry (`heads/residual.ts` keeps at most `maxWeights`). */
const MAX_RESIDUAL = 4096;
const finite = z.number();

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const profileSchema = z.object({
  bits: z.string().max(8192).refine(parses(profileBitsFromBase64), {
    message: "must be base64 of a site profile's Bloom filter",
  }),
  requests: count,
  tokens: count,
  minCount: z.number().int().min(1),
  weight: z.number().min(0).max(1),
});

const headSchema = z.looseObject({
  w: z.array(finite).min(1).max(MAX_EMBED),
  b: finite,
  a: z.array(z.number().min(0)).length(NOVELTY_DIM).optional(),
  profile: profileSchema.optional(),
  ri: z.array(z.number().int().min(0).max(FEATURE_SPEC.dim - 1)).max(MAX_RESIDUAL).optional(),
  rv: z.array(finite).max(MAX_RESIDUAL).optional(),
  rd: z.array(finite).max(DENSE_DIM).optional(),
  re: z.array(z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1)).min(1).max(MAX_CORRECTION_ENDPOINTS)
    .optional(),
  rs: z.string().max(4 * Math.ceil(FEATURE_SPEC.dim / 24) + 4).refine(parses(supportFromBase64), {
    message: `must be base64 of ${FEATURE_SPEC.dim / 8} bytes (a correction's support bitmap)`,
  }).optional(),
  rg: z.array(z.number().min(0).max(1)).length(2).optional(),
  rb: z.array(finite).length(CORRECTION_BOUNDED.length).optional(),
  rp: z.array(z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1)).min(3).max(3 * MAX_SHAPE_ENTRIES)
    .refine((a) => a.length % 3 === 0, { message: "rp holds [endpoint, name, classes] triples" })
    .refine(
      (a) =>
        a.every((_, k) =>
          k % 3 !== 0 || k === 0 || a[k - 3] < a[k] || (a[k - 3] === a[k] && a[k - 2] < a[k + 1])
        ),
      { message: "rp must be sorted by endpoint, then name, without repeats" },
    )
    .optional(),
  av: z.array(z.number().min(0)).length(VALUE_DIM).optional(),
  values: z.string().max(VALUE_PROFILE_MAX_CHARS).refine(parses(valueProfileFromBase64), {
    message: "must be base64 of a value profile",
  }).optional(),
}).refine((h) => (h.a === undefined) === (h.profile === undefined), {
  message: "a and profile come together",
}).refine(
  (h) => (h.av === undefined) === (h.values === undefined) && (h.av === undefined || h.a !== undefined),
  {
    message: "av and values come together, with a and profile",
  },
).refine(
  (h) => (h.ri === undefined) === (h.rv === undefined) && (h.ri?.length ?? 0) === (h.rv?.length ?? 0),
  {
    message: "ri and rv come together, with one weight per index",
  },
).refine((h) => h.ri === undefined || h.ri.every((j, k) => k === 0 || j > h.ri![k - 1]), {
  message: "ri must be strictly increasing",
}).refine((h) => h.re === undefined || h.re.every((j, k) => k === 0 || j > h.re![k - 1]), {
  message: "re must be strictly increasing",
}).refine((h) => (h.rs === undefined) === (h.rg === undefined) && (h.rg === undefined || h.rg[0] < h.rg[1]), {
  message: "rs and rg come together, with rg[0] < rg[1]",
}).refine((h) => h.rb === undefined || h.rs !== undefined, {
  message: "rb comes with rs and rg",
}).refine((h) => h.rp === undefined || h.rs !== undefined, {
  message: "rp comes with rs and rg",
});

const storedHeadSchema = z.looseObject({
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  head: headSchema,
  tau: z.number().min(0).max(1).optional(),
  createdAt: z.string().min(1).max(64),
  modelId: z.string().min(1).max(200).optional(),
  counts: z.looseObject({
    benign: z.number().int().min(0).optional(),
    attack: z.number().int().min(0).optional(),
  }).optional(),
});

/**
 * Checks a stored head document.
 *
 * @param doc A parsed JSON value (from KV, or from the tenant API).
 * @returns The document, typed.
 * @throws {TypeError} listing what is wrong with it.
 * @example
 * ```ts
 * import { parseStoredHead } from "./head_doc.ts";
 * const doc = parseStoredHead({ version: 1, head: { w: [0.5], b: 0 }, createdAt: new Date().toISOString() });
 * ```
 */
export function parseStoredHead(doc: unknown): StoredHead {
  const r = storedHeadSchema.safeParse(doc);
  if (!r.success) throw new TypeError(`invalid stored head: ${z.prettifyError(r.error).replace(/\n/g, " ")}`);
  return r.data as StoredHead;
}

function isNumberArray(v: unknown): v is number[] {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const x of v) if (typeof x !== "number") return false;
  return true;
}

/**
 * `HeadParams` of a stored document's `head`: `w` and every other numeric array become `Float32Array`s, the
 * site profile's base64 bits a `Uint8Array`.
 *
 * @param json The document's `head` (checked by `parseStoredHead`).
 * @returns Head parameters for `scoreWithHead`.
 * @throws {TypeError} when the profile's bits are not a Bloom filter.
 */
export function headFromJson(json: StoredHead["head"]): HeadParams {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === "profile" && v !== null && typeof v === "object" && !Array.isArray(v)) {
      const p = v as Record<string, unknown>;
      out[k] = { ...p, bits: profileBitsFromBase64(String(p.bits)) } as SiteProfile;
    } else if (k === "values" && typeof v === "string") out[k] = valueProfileFromBase64(v);
    else if (k === "rs" && typeof v === "string") out[k] = supportFromBase64(v);
    else if ((k === "ri" || k === "re" || k === "rp") && isNumberArray(v)) out[k] = Int32Array.from(v);
    else out[k] = isNumberArray(v) ? Float32Array.from(v) : v;
  }
  return out as unknown as HeadParams;
}

/**
 * The JSON form of head parameters: every typed array becomes a `number[]` (float32 values are exact as
 * JSON numbers, so `headFromJson(headToJson(h))` equals `h`), the site profile's bits base64.
 *
 * @param head Head parameters (for example from adaptation).
 * @returns The `head` field of a stored document.
 */
export function headToJson(head: HeadParams): StoredHead["head"] {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(head)) {
    if (k === "profile" && v !== undefined) {
      const p = v as SiteProfile;
      out[k] = { ...p, bits: profileBitsToBase64(p.bits) };
    } else if (k === "values" && v instanceof ValueProfile) out[k] = valueProfileToBase64(v);
    else if (k === "rs" && v instanceof Uint8Array) out[k] = bytesToBase64(v);
    else out[k] = ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float32Array) : v;
  }
  return out as StoredHead["head"];
}

/**
 * The scoring form of a stored document.
 *
 * @param tenant The tenant it belongs to.
 * @param doc A checked document (`parseStoredHead`).
 * @returns The tenant head.
 */
export function tenantHeadOf(tenant: string, doc: StoredHead): TenantHead {
  const t: TenantHead = { tenant, version: doc.version, head: headFromJson(doc.head) };
  if (doc.tau !== undefined) t.tau = doc.tau;
  if (doc.modelId !== undefined) t.modelId = doc.modelId;
  return t;
}
