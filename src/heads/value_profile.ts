/**
 * A site's value profile (site profile v3): per endpoint and parameter, what the parameter's values look like
 * on this site — their length range, character classes, integer range, the few values an enumeration takes,
 * whether it is repeated, and how often the endpoint is called without it. Learnt from the tenant's benign
 * and unlabelled requests (`FeatureVector.params`), bounded (`VALUE_MAX_ENTRIES` parameters,
 * `VALUE_MAX_ENDPOINTS` endpoints, `VALUE_ENUM_MAX` values each), it turns parameter tampering (a value of
 * the wrong type, too long, out of range, from outside a list, a parameter dropped, repeated or added) into
 * five features a tenant head weighs (`VALUE_DIM`, named by `VALUE_NAMES`). An endpoint is the method and
 * the path with digit, hexadecimal and long segments folded (`/item/12` and `/item/13` are one).
 *
 * The same profile serves fitting and scoring: fitting counts a labelled benign example in and takes it out
 * again when computing its own features (it must not vouch for itself: exact for classes, enumerations,
 * repetition and presence; lengths and integer ranges keep it), scoring uses the stored, capped form.
 *
 * @example
 * ```ts
 * import { extractFeatures, FEATURE_SPEC, viewFromRecord } from "../features/mod.ts";
 * import { DEFAULT_VALUE_CONFIG, ValueProfile, valueFeatures } from "./value_profile.ts";
 * const params = (url: string) => extractFeatures(viewFromRecord({ method: "GET", url }, FEATURE_SPEC.caps.body)).params;
 * const profile = new ValueProfile(DEFAULT_VALUE_CONFIG);
 * for (let i = 0; i < 20; i++) profile.add(params(`/item/${i}?qty=${1 + (i % 3)}`));
 * const out = valueFeatures(profile.compact(), params("/item/5?qty=-1"), 1);
 * console.log(out[2] > 0); // an integer out of the parameter's range
 * ```
 * @module
 */
import { fmix } from "../features/hash.ts";
import {
  PARAM_CLASS_MASK,
  PARAM_HUGE,
  PARAM_INTEGER,
  PARAM_REPEATED,
  PARAM_WORDS,
} from "../features/extract.ts";
import { base64ToBytes, bytesToBase64 } from "../util/bytes.ts";

/** Number of value features. */
export const VALUE_DIM = 5;
/** Index of each value feature. */
export const V_LENGTH = 0, V_CHARS = 1, V_NUMBER = 2, V_ENUM = 3, V_PRESENCE = 4;
/** What each value feature means, for explanations. */
export const VALUE_NAMES: readonly string[] = Object.freeze([
  "value longer or shorter than this parameter's on this site",
  "characters this parameter never has on this site",
  "not an integer in this parameter's range on this site",
  "not one of this parameter's few values on this site",
  "parameter new, repeated or missing on this endpoint",
]);

/** Most parameters a stored profile keeps (all those of its busiest endpoints that fit). */
export const VALUE_MAX_ENTRIES = 128;
/** Most endpoints a stored profile keeps. */
export const VALUE_MAX_ENDPOINTS = 128;
/** A parameter with at most this many distinct values is an enumeration. */
export const VALUE_ENUM_MAX = 8;
/** Most characters of a stored profile's base64 form (the caps give at most 3,718 words, 14,872 bytes). */
export const VALUE_PROFILE_MAX_CHARS = 4 * Math.ceil(
  4 * (6 + 2 * VALUE_MAX_ENDPOINTS + VALUE_MAX_ENTRIES * (11 + 2 * VALUE_ENUM_MAX)) / 3,
);

/** When a profile judges a value (kept in the stored profile). */
export interface ValueThresholds {
  /** A parameter (an endpoint) is judged once seen in this many requests. */
  minSupport: number;
  /** An enumeration is judged once its parameter was seen this many times. */
  enumMin: number;
  /** A parameter is required when the endpoint carried it in at least this share of its requests. */
  required: number;
}

/** How value features are computed; shipped in the model's `meta.adapt.values`. */
export interface ValueProfileConfig extends ValueThresholds {
  /** Init of the value features' weights (`VALUE_DIM`, non-negative); the labels move them. */
  a0: number[];
}

/** The settings used when a model does not ship its own (chosen on validation folds, see the model card). */
export const DEFAULT_VALUE_CONFIG: Readonly<ValueProfileConfig> = Object.freeze({
  minSupport: 5,
  enumMin: 20,
  required: 0.98,
  a0: Object.freeze([1, 1, 1, 1, 1]) as unknown as number[],
});

const CLASS_BITS = 9;

/** One parameter of one endpoint. */
interface Entry {
  endpoint: number;
  key: number;
  /** Requests (of the endpoint) that carried it. */
  n: number;
  lenMin: number;
  lenMax: number;
  /** Per character class, how many of its values had it. */
  classes: Int32Array;
  /** How many of its values were integers, and their range. */
  ints: number;
  numMin: number;
  numMax: number;
  /** How many requests carried it more than once. */
  repeated: number;
  /** Value hash → count, or null once it had more than `VALUE_ENUM_MAX` distinct values. */
  values: Map<number, number> | null;
}

function slotOf(endpoint: number, key: number): number {
  return fmix(endpoint ^ fmix(key ^ 0x2545f491));
}

function firstOf(params: ArrayLike<number>, upTo: number, key: number): number {
  for (let o = 1; o < upTo; o += PARAM_WORDS) if (params[o] === key) return o;
  return upTo;
}

/** A site's value profile: exact counts while building, capped when stored (`compact`). */
export class ValueProfile {
  /** Requests counted. */
  requests = 0;
  readonly config: Readonly<ValueThresholds>;
  readonly endpoints: Map<number, number> = new Map();
  readonly entries: Map<number, Entry> = new Map();
  /** Per endpoint, its parameters (for required ones). */
  readonly byEndpoint: Map<number, Entry[]> = new Map();

  /** An empty profile judging by `config`'s thresholds. */
  constructor(config: Readonly<ValueThresholds> = DEFAULT_VALUE_CONFIG) {
    const { minSupport, enumMin, required } = config;
    if (!(Number.isInteger(minSupport) && minSupport >= 1 && Number.isInteger(enumMin) && enumMin >= 1)) {
      throw new RangeError("value profile: minSupport and enumMin are positive integers");
    }
    if (!(required > 0 && required <= 1)) throw new RangeError("value profile: required is in (0, 1]");
    this.config = { minSupport, enumMin, required };
  }

  /** Counts one request's listed values (`FeatureVector.params`; `n`: how many words are valid). */
  add(params: ArrayLike<number>, n: number = params.length): void {
    this.requests++;
    if (n < 1) return;
    const ep = params[0];
    this.endpoints.set(ep, (this.endpoints.get(ep) ?? 0) + 1);
    for (let o = 1; o + PARAM_WORDS <= n; o += PARAM_WORDS) {
      const key = params[o], meta = params[o + 2];
      // A repeated parameter (both copies are marked) counts once per request.
      if (meta & PARAM_REPEATED && firstOf(params, o, key) !== o) continue;
      const slot = slotOf(ep, key);
      let e = this.entries.get(slot);
      if (!e) {
        e = {
          endpoint: ep,
          key,
          n: 0,
          lenMin: 0x7fffffff,
          lenMax: 0,
          classes: new Int32Array(CLASS_BITS),
          ints: 0,
          numMin: 0x7fffffff,
          numMax: -0x7fffffff,
          repeated: 0,
          values: new Map(),
        };
        this.insert(e);
      }
      e.n++;
      const len = meta & 0xffff, cls = (meta >>> 16) & PARAM_CLASS_MASK;
      if (len < e.lenMin) e.lenMin = len;
      if (len > e.lenMax) e.lenMax = len;
      for (let m = cls; m !== 0; m &= m - 1) e.classes[31 - Math.clz32(m & -m)]++;
      if (meta & PARAM_INTEGER) {
        e.ints++;
        const v = params[o + 3];
        if (v < e.numMin) e.numMin = v;
        if (v > e.numMax) e.numMax = v;
      }
      if (meta & PARAM_REPEATED) e.repeated++;
      if (e.values) {
        const h = params[o + 1];
        e.values.set(h, (e.values.get(h) ?? 0) + 1);
        if (e.values.size > VALUE_ENUM_MAX) e.values = null;
      }
    }
  }

  /**
   * The stored form: the busiest endpoints seen at least `minSupport` times (at most `VALUE_MAX_ENDPOINTS`),
   * each with all its parameters seen at least `minSupport` times (at most `VALUE_MAX_ENTRIES` in all),
   * class counts kept as presence. It takes the entries over: this profile is not to be used after.
   */
  compact(): ValueProfile {
    const minSupport = this.config.minSupport;
    const out = new ValueProfile(this.config);
    out.requests = this.requests;
    const eps = [...this.endpoints].filter(([, c]) => c >= minSupport)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    let room = VALUE_MAX_ENTRIES;
    for (const [ep, c] of eps) {
      if (out.endpoints.size >= VALUE_MAX_ENDPOINTS) break;
      // An endpoint is kept with all its judged parameters or not at all (a missing one would read as new).
      const entries = (this.byEndpoint.get(ep) ?? []).filter((e) => e.n >= minSupport);
      if (entries.length > room) continue;
      room -= entries.length;
      out.endpoints.set(ep, c);
      for (const e of entries) {
        // Class counts are kept as presence (what a stored profile knows); the entry moves to the copy.
        for (let b = 0; b < CLASS_BITS; b++) if (e.classes[b] > 0) e.classes[b] = e.n;
        out.insert(e);
      }
    }
    return out;
  }

  /** Adds an entry. */
  insert(e: Entry): void {
    this.entries.set(slotOf(e.endpoint, e.key), e);
    let list = this.byEndpoint.get(e.endpoint);
    if (!list) this.byEndpoint.set(e.endpoint, list = []);
    list.push(e);
  }

  /** Number of parameters kept. */
  get size(): number {
    return this.entries.size;
  }
}

const counts = new Int32Array(VALUE_DIM);

/**
 * A request's value features: per kind, `weight · log1p(number of its values that break the site's
 * profile that way)`.
 *
 * @param profile The site's value profile.
 * @param params The request's listed values (`FeatureVector.params`).
 * @param weight The features' scale (`profileWeight` of the site profile).
 * @param self The request was counted into `profile`: its own contribution is taken out first.
 * @param out Where to write (`VALUE_DIM` entries) ...
 * @param at ... from this index.
 * @returns `out`.
 */
export function valueFeatures(
  profile: ValueProfile,
  params: ArrayLike<number>,
  weight: number,
  self = false,
  out: Float32Array = new Float32Array(VALUE_DIM),
  at = 0,
  n: number = params.length,
): Float32Array {
  valueBreaks(profile, params, n, self, counts);
  for (let k = 0; k < VALUE_DIM; k++) out[at + k] = weight * Math.log1p(counts[k]);
  return out;
}

/**
 * How many of a request's values break the profile, per kind (`VALUE_NAMES`). Only an endpoint seen
 * `minSupport` times is judged, and on it only parameters seen as often (the others count as new).
 *
 * @param profile The site's value profile (with its thresholds).
 * @param params The request's listed values.
 * @param n How many words of `params` are valid.
 * @param self The request was counted into `profile` (fitting): its own contribution is taken out.
 * @param out `VALUE_DIM` counts.
 * @returns `out`.
 */
export function valueBreaks(
  profile: ValueProfile,
  params: ArrayLike<number>,
  n: number,
  self: boolean,
  out: Int32Array = new Int32Array(VALUE_DIM),
): Int32Array {
  out.fill(0);
  if (n < 1) return out;
  const config = profile.config, own = self ? 1 : 0, ep = params[0], min = config.minSupport;
  const epN = (profile.endpoints.get(ep) ?? 0) - own;
  if (epN < min) return out;
  for (let o = 1; o + PARAM_WORDS <= n; o += PARAM_WORDS) {
    const key = params[o], meta = params[o + 2];
    if (meta & PARAM_REPEATED && firstOf(params, o, key) !== o) continue;
    const e = profile.entries.get(slotOf(ep, key));
    const seen = e ? e.n - own : 0;
    if (e === undefined || seen < min) {
      // New, or rare, on this endpoint (a stored profile keeps exactly the parameters seen `min` times).
      out[V_PRESENCE]++;
      continue;
    }
    if (meta & PARAM_REPEATED && e.repeated - own <= 0) out[V_PRESENCE]++;
    const len = meta & 0xffff, cls = (meta >>> 16) & PARAM_CLASS_MASK;
    if (len > 2 * e.lenMax + 8 || 2 * len + 1 < e.lenMin) out[V_LENGTH]++;
    for (let m = cls; m !== 0; m &= m - 1) {
      if (e.classes[31 - Math.clz32(m & -m)] - own <= 0) {
        out[V_CHARS]++;
        break;
      }
    }
    const isInt = (meta & PARAM_INTEGER) !== 0;
    if (e.ints - (self && isInt ? 1 : 0) >= seen) {
      // Always an integer here: judged against the range.
      const v = params[o + 3];
      if (
        !isInt || (meta & PARAM_HUGE) !== 0 || (v < 0 && e.numMin >= 0) || (v === 0 && e.numMin > 0) ||
        v > Math.max(2 * e.numMax, e.numMax + 10)
      ) out[V_NUMBER]++;
    }
    if (e.values && seen >= config.enumMin && (e.values.get(params[o + 1]) ?? 0) - own <= 0) out[V_ENUM]++;
  }
  // Parameters the endpoint (almost) always carries, missing here.
  const list = profile.byEndpoint.get(ep);
  if (list) {
    for (const e of list) {
      if (e.n < min || e.n < config.required * epN) continue;
      if (firstOf(params, n, e.key) === n) out[V_PRESENCE]++;
    }
  }
  return out;
}

// ---- stored form -----------------------------------------------------------------------------------------

/**
 * The stored profile as base64 of int32 words (little-endian): requests, minSupport, enumMin, required in
 * 1/10,000, endpoints, entries, then per
 * endpoint (hash, count), then per entry (endpoint, key, n, lenMin, lenMax, class mask, ints, numMin, numMax,
 * repeated, number of values or −1, then (hash, count) per value).
 */
export function valueProfileToBase64(p: ValueProfile): string {
  const c = p.config;
  const words: number[] = [
    p.requests,
    c.minSupport,
    c.enumMin,
    Math.round(c.required * 10000),
    p.endpoints.size,
    p.entries.size,
  ];
  for (const [ep, c] of p.endpoints) words.push(ep, c);
  for (const e of p.entries.values()) {
    let mask = 0;
    for (let b = 0; b < CLASS_BITS; b++) if (e.classes[b] > 0) mask |= 1 << b;
    words.push(e.endpoint, e.key, e.n, e.lenMin, e.lenMax, mask, e.ints, e.numMin, e.numMax, e.repeated);
    if (e.values) {
      words.push(e.values.size);
      for (const [h, c] of e.values) words.push(h, c);
    } else words.push(-1);
  }
  const bytes = new Uint8Array(words.length * 4), view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setInt32(i * 4, w, true));
  return bytesToBase64(bytes);
}

/**
 * A stored profile from its base64 form.
 *
 * @throws {TypeError} when the text is not a well-formed profile within the caps.
 */
export function valueProfileFromBase64(text: string): ValueProfile {
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(text);
  } catch {
    throw new TypeError("value profile: not base64");
  }
  const bad = (what: string): never => {
    throw new TypeError(`value profile: ${what}`);
  };
  if (bytes.length % 4 !== 0 || bytes.length < 24) bad("truncated");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = new Int32Array(bytes.length / 4);
  for (let i = 0; i < w.length; i++) w[i] = view.getInt32(i * 4, true);
  const [requests, minSupport, enumMin, required, nEp, nEntries] = w;
  if (requests < 0) bad("negative request count");
  let p = new ValueProfile();
  try {
    p = new ValueProfile({ minSupport, enumMin, required: required / 10000 });
  } catch (e) {
    bad((e as Error).message.replace("value profile: ", ""));
  }
  if (nEp < 0 || nEp > VALUE_MAX_ENDPOINTS) bad(`${nEp} endpoints (at most ${VALUE_MAX_ENDPOINTS})`);
  if (nEntries < 0 || nEntries > VALUE_MAX_ENTRIES) {
    bad(`${nEntries} parameters (at most ${VALUE_MAX_ENTRIES})`);
  }
  p.requests = requests;
  let at = 6;
  const need = (k: number) => {
    if (at + k > w.length) bad("truncated");
  };
  for (let i = 0; i < nEp; i++) {
    need(2);
    if (w[at + 1] < 0) bad("negative endpoint count");
    p.endpoints.set(w[at], w[at + 1]);
    at += 2;
  }
  for (let i = 0; i < nEntries; i++) {
    need(11);
    const [endpoint, key, n, lenMin, lenMax, mask, ints, numMin, numMax, repeated, nv] = w.subarray(
      at,
      at + 11,
    );
    at += 11;
    if (n < 0 || ints < 0 || ints > n || repeated < 0 || repeated > n || lenMin < 0 || lenMax < lenMin) {
      bad("inconsistent counts");
    }
    if (nv < -1 || nv > VALUE_ENUM_MAX) bad(`${nv} values (at most ${VALUE_ENUM_MAX})`);
    const classes = new Int32Array(CLASS_BITS);
    for (let b = 0; b < CLASS_BITS; b++) classes[b] = mask & (1 << b) ? n : 0;
    let values: Map<number, number> | null = null;
    if (nv >= 0) {
      need(2 * nv);
      values = new Map();
      for (let k = 0; k < nv; k++) values.set(w[at + 2 * k], w[at + 2 * k + 1]);
      at += 2 * nv;
    }
    p.insert({ endpoint, key, n, lenMin, lenMax, classes, ints, numMin, numMax, repeated, values });
  }
  if (at !== w.length) bad("trailing words");
  return p;
}
