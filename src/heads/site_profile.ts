/**
 * A site's structural profile: which structure tokens (methods, path-segment shapes, extensions, parameter
 * names, parameter value shapes, header and cookie names, body kinds; see `FeatureVector.structure`) its
 * normal traffic uses, kept as a Bloom filter (1 KiB, 2 KiB for large sites). A request's novelty features
 * are, per kind of token, `weight · log1p(number of its tokens of that kind the site has not seen)`: what
 * "unusual for this site" means for tampering, probes and misplaced tokens, which no global model can know.
 *
 * A profile is built from exact counts (`TokenCounts`) of the tenant's benign examples and unlabelled
 * traffic; a token is normal once seen in `minCount` requests. Fitting uses the exact counts (a labelled
 * benign example is taken out of them first: it must not vouch for itself); the stored head keeps the Bloom
 * filter, whose false positives (a novel token taken for a known one) are rare at the sizes used.
 *
 * @example
 * ```ts
 * import { siteProfileOf, noveltyFeatures, TokenCounts } from "./site_profile.ts";
 * const counts = new TokenCounts();
 * counts.add(new Int32Array([1, 2, 3]));
 * const profile = siteProfileOf(counts, 1, 1);
 * noveltyFeatures(profile, new Int32Array([1, 2, 0x30000009])); // log1p(1) in the `key` slot, 0 elsewhere
 * ```
 * @module
 */
import { STRUCTURE_KINDS } from "../features/extract.ts";
import { fmix } from "../features/hash.ts";
import type { SiteProfile } from "../model/types.ts";
import { base64ToBytes, bytesToBase64 } from "../util/bytes.ts";

export type { SiteProfile };

/** Hash functions of the filter. */
export const PROFILE_HASHES = 4;
/** Sizes of the filter in bytes: the smallest that gives each token `BITS_PER_TOKEN` bits, capped. */
export const PROFILE_MIN_BYTES = 1024, PROFILE_MAX_BYTES = 2048;
/** Sizes a stored profile may have (bytes, powers of two). */
export const PROFILE_READ_MAX_BYTES = 4096;
const BITS_PER_TOKEN = 12;

/** Number of novelty features: one per kind of structure token. */
export const NOVELTY_DIM: number = STRUCTURE_KINDS.length;

/** What a novel token of each kind means, for explanations (by kind, as `STRUCTURE_KINDS`). */
export const NOVELTY_NAMES: readonly string[] = Object.freeze([
  "method not seen on this site",
  "path not seen on this site",
  "file extension not seen on this site",
  "new parameter for this site",
  "parameter shape not seen on this site",
  "header not seen on this site",
  "cookie not seen on this site",
  "body kind not seen on this site",
]);

/** How profiles are built; shipped in the model's `meta.adapt.profile`. */
export interface SiteProfileConfig {
  /** A token is normal once seen in this many requests... */
  minCount: number;
  /** ...or in `minCountLarge` requests when the profile has at least `largeFrom` requests (0: never). */
  minCountLarge: number;
  /** Requests from which a profile counts as large and `minCountLarge` applies (0: `minCount` always). */
  largeFrom: number;
  /** The novelty features are scaled by `R / (R + confidence)` for a profile of R requests. */
  confidence: number;
  /** The meta-learned init of the novelty weights `a` (`NOVELTY_DIM`, non-negative). */
  a0: number[];
}

/** The `minCount` of a profile of `requests` requests under `config`. */
export function minCountFor(config: SiteProfileConfig, requests: number): number {
  return config.largeFrom > 0 && requests >= config.largeFrom ? config.minCountLarge : config.minCount;
}

/** The novelty features' scale for a profile of `requests` requests. */
export function profileWeight(config: SiteProfileConfig, requests: number): number {
  return requests > 0 ? requests / (requests + config.confidence) : 0;
}

/** Exact token counts of a site's requests (how many requests used each token). */
export class TokenCounts {
  readonly counts: Map<number, number> = new Map();
  requests = 0;

  /**
   * Adds one request's tokens.
   *
   * @param structure Its structure tokens.
   * @param n How many are valid (default: all).
   */
  add(structure: ArrayLike<number>, n: number = structure.length): void {
    this.requests++;
    const c = this.counts;
    for (let i = 0; i < n; i++) c.set(structure[i], (c.get(structure[i]) ?? 0) + 1);
  }
}

/**
 * A request's novelty features against exact counts: per kind, `weight · log1p(tokens seen in fewer than
 * `minCount` requests)`.
 *
 * @param counts The site's counts.
 * @param structure The request's tokens.
 * @param minCount A token is normal once seen in this many requests.
 * @param weight The features' scale.
 * @param self The request is one of the counted ones: its own tokens are taken out first.
 * @param out Where to write (`NOVELTY_DIM` entries) ...
 * @param at ... from this index.
 */
export function noveltyOfCounts(
  counts: TokenCounts,
  structure: ArrayLike<number>,
  minCount: number,
  weight: number,
  self: boolean,
  out: Float32Array,
  at = 0,
): void {
  const novel = scratch.fill(0), c = counts.counts, own = self ? 1 : 0;
  for (let i = 0; i < structure.length; i++) {
    const t = structure[i];
    if ((c.get(t) ?? 0) - own < minCount) novel[(t >>> 28) & 7]++;
  }
  for (let k = 0; k < NOVELTY_DIM; k++) out[at + k] = weight * Math.log1p(novel[k]);
}

const scratch = new Int32Array(NOVELTY_DIM);

function probe(bits: Uint8Array, token: number, set: boolean): boolean {
  const mask = bits.length * 8 - 1;
  const h1 = fmix(token), h2 = fmix(token ^ 0x5bd1e995) | 1;
  let all = true;
  for (let i = 0; i < PROFILE_HASHES; i++) {
    const b = (h1 + Math.imul(i, h2)) & mask;
    const byte = b >>> 3, bit = 1 << (b & 7);
    if ((bits[byte] & bit) === 0) {
      all = false;
      if (set) bits[byte] |= bit;
    }
  }
  return all;
}

/**
 * The stored profile of exact counts: the tokens seen in at least `minCount` requests, in a Bloom filter.
 *
 * @param counts The site's counts.
 * @param minCount A token is normal once seen in this many requests.
 * @param weight The novelty features' scale (see `profileWeight`).
 * @returns The profile.
 */
export function siteProfileOf(counts: TokenCounts, minCount: number, weight: number): SiteProfile {
  let tokens = 0;
  for (const n of counts.counts.values()) if (n >= minCount) tokens++;
  let bytes = PROFILE_MIN_BYTES;
  while (bytes < PROFILE_MAX_BYTES && bytes * 8 < tokens * BITS_PER_TOKEN) bytes *= 2;
  const bits = new Uint8Array(bytes);
  // Insertion order does not change a Bloom filter, so Map order is fine.
  for (const [token, n] of counts.counts) if (n >= minCount) probe(bits, token, true);
  return { bits, requests: counts.requests, tokens, minCount, weight };
}

/**
 * Builds a profile from requests' structure tokens.
 *
 * @param structures Each request's structure tokens (`FeatureVector.structure`).
 * @param options `minCount`, and the features' scale `weight` (default 1).
 * @returns The profile.
 */
export function buildSiteProfile(
  structures: Iterable<ArrayLike<number>>,
  options: { minCount: number; weight?: number },
): SiteProfile {
  const counts = new TokenCounts();
  for (const s of structures) counts.add(s);
  return siteProfileOf(counts, options.minCount, options.weight ?? 1);
}

/** Whether the profile (probably) holds `token`; false answers are exact. */
export function profileHas(profile: SiteProfile, token: number): boolean {
  return probe(profile.bits, token, false);
}

/**
 * How many of a request's structure tokens of each kind the site has not seen.
 *
 * @param profile The site's profile.
 * @param structure The request's structure tokens.
 * @param n How many of them are valid (default: all).
 * @param out Where to write (`NOVELTY_DIM` entries).
 * @returns `out`.
 */
export function novelTokenCounts(
  profile: SiteProfile,
  structure: ArrayLike<number>,
  n: number = structure.length,
  out: Int32Array = new Int32Array(NOVELTY_DIM),
): Int32Array {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const t = structure[i];
    if (!probe(profile.bits, t, false)) out[(t >>> 28) & 7]++;
  }
  return out;
}

/**
 * A request's novelty features: per kind, `profile.weight · log1p(number of its tokens the site has not
 * seen)`.
 *
 * @param profile The site's profile.
 * @param structure The request's structure tokens.
 * @param n How many of them are valid (default: all).
 * @param out Where to write (`NOVELTY_DIM` entries), reused on the hot path.
 * @returns `out`.
 */
export function noveltyFeatures(
  profile: SiteProfile,
  structure: ArrayLike<number>,
  n: number = structure.length,
  out: Float32Array = new Float32Array(NOVELTY_DIM),
): Float32Array {
  const novel = novelTokenCounts(profile, structure, n, scratch);
  for (let k = 0; k < NOVELTY_DIM; k++) out[k] = profile.weight * Math.log1p(novel[k]);
  return out;
}

/** The profile's bits as base64 (for a head document in KV). */
export function profileBitsToBase64(bits: Uint8Array): string {
  return bytesToBase64(bits);
}

/**
 * Profile bits from base64.
 *
 * @throws {TypeError} when the text is not base64 of a power of two of bytes between `PROFILE_MIN_BYTES`
 *   and `PROFILE_READ_MAX_BYTES`.
 */
export function profileBitsFromBase64(text: string): Uint8Array {
  let bits: Uint8Array;
  try {
    bits = base64ToBytes(text);
  } catch {
    throw new TypeError("site profile: bits are not base64");
  }
  const n = bits.length;
  if (n < PROFILE_MIN_BYTES || n > PROFILE_READ_MAX_BYTES || (n & (n - 1)) !== 0) {
    throw new TypeError(
      `site profile: ${n} bytes of bits, expected a power of two from ${PROFILE_MIN_BYTES} to ${PROFILE_READ_MAX_BYTES}`,
    );
  }
  return bits;
}
