/**
 * A site's structural profile: which structure tokens (methods, path shapes, extensions, parameter names and
 * shapes, header and cookie names, body kinds; see `FeatureVector.structure`) its normal traffic uses, kept
 * as a Bloom filter of 8,192 bits (1 KiB). A request's novelty is how many of its structure tokens the site
 * has not seen, by group: what "unusual for this site" means for tampering, probes and misplaced tokens,
 * which no global model can know.
 *
 * @example
 * ```ts
 * import { buildSiteProfile, noveltyFeatures } from "./site_profile.ts";
 * const profile = buildSiteProfile([new Int32Array([1, 2, 3])], { minCount: 1 });
 * noveltyFeatures(profile, new Int32Array([1, 2, 0x30000009]), 3); // [0, 0, 0, 0] except the key group
 * ```
 * @module
 */
import { fmix } from "../features/hash.ts";

/** Bits of the filter. */
export const PROFILE_BITS = 8192;
/** Hash functions of the filter. */
export const PROFILE_HASHES = 3;

/**
 * Groups of structure-token kinds whose novel tokens are counted together (index = kind, see `ST_*` in
 * `src/features/extract.ts`): route (method, path, extension), parameters (names, cookie names), parameter
 * shapes, headers (header names, body kinds).
 */
const GROUP_OF_KIND = [0, 0, 0, 1, 2, 3, 1, 3];
/** Names of the novelty groups, in order. */
export const NOVELTY_GROUPS: readonly string[] = Object.freeze(["route", "params", "shapes", "headers"]);
/** Number of novelty features. */
export const NOVELTY_DIM = NOVELTY_GROUPS.length;

/** A site's profile. */
export interface SiteProfile {
  /** The Bloom filter, `PROFILE_BITS / 8` bytes. */
  bits: Uint8Array;
  /** Requests it was built from. */
  requests: number;
  /** Distinct tokens it holds. */
  tokens: number;
}

function probe(bits: Uint8Array, token: number, set: boolean): boolean {
  const h1 = fmix(token), h2 = fmix(token ^ 0x5bd1e995) | 1;
  let all = true;
  for (let i = 0; i < PROFILE_HASHES; i++) {
    const b = (h1 + Math.imul(i, h2)) & (PROFILE_BITS - 1);
    const byte = b >>> 3, bit = 1 << (b & 7);
    if ((bits[byte] & bit) === 0) {
      all = false;
      if (set) bits[byte] |= bit;
    }
  }
  return all;
}

/**
 * Builds a profile from requests' structure tokens.
 *
 * @param structures Each request's structure tokens (`FeatureVector.structure`).
 * @param options `minCount`: a token enters the profile once seen in this many requests (2 keeps the odd
 *   attack in unlabelled traffic out of what counts as normal; 1 for a handful of labelled benign requests).
 * @returns The profile.
 */
export function buildSiteProfile(
  structures: Iterable<ArrayLike<number>>,
  options: { minCount: number },
): SiteProfile {
  const counts = new Map<number, number>();
  let requests = 0;
  for (const s of structures) {
    requests++;
    for (let i = 0; i < s.length; i++) counts.set(s[i], (counts.get(s[i]) ?? 0) + 1);
  }
  const bits = new Uint8Array(PROFILE_BITS >>> 3);
  let tokens = 0;
  // Insertion order does not change a Bloom filter, so Map order is fine.
  for (const [token, count] of counts) {
    if (count >= options.minCount) {
      probe(bits, token, true);
      tokens++;
    }
  }
  return { bits, requests, tokens };
}

/** Whether the profile (probably) holds `token`; false answers are exact. */
export function profileHas(profile: SiteProfile, token: number): boolean {
  return probe(profile.bits, token, false);
}

/**
 * A request's novelty features: per group, `log1p(number of its structure tokens the site has not seen)`.
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
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const t = structure[i];
    if (!probe(profile.bits, t, false)) out[GROUP_OF_KIND[(t >>> 28) & 7]] += 1;
  }
  for (let g = 0; g < NOVELTY_DIM; g++) out[g] = Math.log1p(out[g]);
  return out;
}

/** The profile as base64 (for a head document in KV). */
export function profileBitsToBase64(profile: SiteProfile): string {
  let s = "";
  for (let i = 0; i < profile.bits.length; i++) s += String.fromCharCode(profile.bits[i]);
  return btoa(s);
}

/**
 * Profile bits from base64.
 *
 * @throws {TypeError} when the text is not base64 of `PROFILE_BITS / 8` bytes.
 */
export function profileBitsFromBase64(text: string): Uint8Array {
  let raw: string;
  try {
    raw = atob(text);
  } catch {
    throw new TypeError("site profile: bits are not base64");
  }
  if (raw.length !== PROFILE_BITS >>> 3) {
    throw new TypeError(`site profile: ${raw.length} bytes of bits, expected ${PROFILE_BITS >>> 3}`);
  }
  const bits = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bits[i] = raw.charCodeAt(i);
  return bits;
}
