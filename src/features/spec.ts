/**
 * The versioned feature spec: every constant that shapes a feature vector. A model is trained for exactly
 * one spec; the model card records its id and the worker refuses a model whose spec id differs.
 */

/** Per-field read limits. Whatever lies beyond a cap is not read; that it was cut is itself a feature. */
export interface FeatureCaps {
  /** Characters of the method. */
  method: number;
  /** Characters of the path (after WHATWG normalisation, before decoding). */
  path: number;
  /** Characters of the query string. */
  query: number;
  /** Query or body parameters read. */
  params: number;
  /** Characters of one parameter (or cookie, or JSON) name. */
  key: number;
  /** Characters of one parameter (or cookie, or JSON) value. */
  value: number;
  /** Headers read. */
  headers: number;
  /** Characters of one header value. */
  headerValue: number;
  /** Cookies read from the cookie header. */
  cookies: number;
  /** Bytes of the body read (from a clone or tee in the worker). */
  body: number;
  /** JSON nesting depth tracked. */
  jsonDepth: number;
  /** Multipart parts read. */
  parts: number;
  /** Characters of one multipart part's content. */
  partContent: number;
}

/** All constants of feature extraction. Change any of them and the spec id changes. */
export interface FeatureSpec {
  /** Bumped on any change of extraction semantics that the parameters below do not capture. */
  version: number;
  /** D: size of the hashed sparse space, a power of two. */
  dim: number;
  /** Character n-gram lengths hashed per field. */
  ngrams: number[];
  /**
   * Text fields whose character n-grams are hashed; the others give word and symbol tokens only. Names:
   * path, qkey, qval, bkey, bval, body, ckey, cval, ua, referer, ctype, accept, header.
   */
  ngramFields: string[];
  /**
   * Context fields: a client's own headers. Context alone is no evidence of an attack (a new browser, an old
   * crawler, a proxy's referer), so their plain words are not features; only lexicon keywords (SQL, shell,
   * HTML/JS, path, template words) and symbol runs are, which is what an injection into them carries; those
   * keywords are sparse features only, never counted into the dense block (a browser's own headers carry
   * lexicon words: `sec-fetch-dest: document`, `Version/17.0`, `….cloudfront.net` in `Via`), and neither are
   * their comment marks (a referer's slug `dreampackers--sp.html` has SQL's `--`; since version 10). Text
   * that a header's syntax has no place for (a referer link's parameter values, a referer that is no URL, what
   * follows a user agent's products and comments, a forwarding header's entry that is no address) is read as
   * a query value as well (`extract.ts`).
   */
  contextFields: string[];
  /**
   * Text fields hashed in another field's space, as `[field, space]` pairs: their words, symbols and n-grams
   * land in the buckets the other field's would, so payload evidence learnt in one counts in the other. A
   * form, JSON or multipart value (`bval`) is hashed as a query value (`qval`): an injection is the same text
   * wherever a client sends it, while query strings are what real logs and most training attacks carry. Each
   * field keeps its own group (its norm) and its own whole-token (meta) features.
   */
  sharedFields: [string, string][];
  /**
   * Every group of features (URL, headers, body n-grams; their tokens; header names; shapes) is a set
   * scaled to unit L2 norm; a group with more than `normCap` features is scaled as if it had `normCap`, so
   * a payload hidden in a large body keeps at least 1/sqrt(normCap) weight per feature.
   */
  normCap: number;
  /** Rounds of repeated decoding (percent, `%u`, `\u`, `\x`, HTML entities, NFKC) per field. */
  decodeRounds: number;
  /** Seed mixed into every hash; a new seed is a new feature space. */
  seed: number;
  /** Per-field read limits. */
  caps: FeatureCaps;
}

/** The spec the shipped model was trained with. */
export const FEATURE_SPEC: Readonly<FeatureSpec> = Object.freeze({
  version: 10,
  dim: 8192,
  ngrams: [2, 3],
  ngramFields: ["path", "qkey", "qval", "bkey", "bval", "body", "cval"],
  contextFields: ["ua", "referer", "header", "accept", "ctype"],
  sharedFields: [["bval", "qval"] as [string, string]],
  normCap: 256,
  decodeRounds: 3,
  seed: 0x7a9a7e,
  caps: Object.freeze({
    method: 24,
    path: 1024,
    query: 4096,
    params: 128,
    key: 64,
    value: 1024,
    headers: 48,
    headerValue: 512,
    cookies: 32,
    body: 8192,
    jsonDepth: 16,
    parts: 16,
    partContent: 512,
  }),
});

/** Names of the dense block, in order. The length is the dense dimension of every model of this spec. */
export const DENSE_NAMES: readonly string[] = Object.freeze([
  "method_get",
  "method_post",
  "method_head_options",
  "method_put_patch_delete",
  "method_other",
  "path_length",
  "query_length",
  "body_length",
  "query_params",
  "path_segments",
  "body_params",
  "headers",
  "cookies",
  "decode_depth",
  "invalid_escapes",
  "unicode_escapes",
  "html_entities",
  "control_chars",
  "quote_ratio",
  "angle_ratio",
  "paren_semicolon_ratio",
  "shell_char_ratio",
  "non_alnum_ratio",
  "max_value_entropy",
  "digit_ratio",
  "upper_ratio",
  "json_depth",
  "truncated",
  "sql_keywords",
  "shell_keywords",
  "html_js_keywords",
  "path_keywords",
  "template_markers",
  "no_user_agent",
  "no_accept",
  "non_ascii_ratio",
  "comments",
  "dot_dot_segments",
  "max_value_length",
  "invalid_utf8",
  "raw_dot_segments",
  "raw_backslashes",
]);

/** Names of the text fields, in namespace order. */
export const TEXT_FIELDS: readonly string[] = Object.freeze([
  "path",
  "qkey",
  "qval",
  "bkey",
  "bval",
  "body",
  "ckey",
  "cval",
  "ua",
  "referer",
  "ctype",
  "accept",
  "header",
]);

/** Dimension of the dense block. */
export const DENSE_DIM = DENSE_NAMES.length;

/**
 * A short stable id of a spec: `tgfs<version>-<hash of every parameter>`. Two specs with the same id give
 * the same features.
 *
 * @param spec The spec to identify.
 * @returns The id, e.g. `tgfs1-3f2a9c01`.
 */
export function specId(spec: Readonly<FeatureSpec> = FEATURE_SPEC): string {
  const canonical = JSON.stringify([
    spec.version,
    spec.dim,
    spec.ngrams,
    [...spec.ngramFields].sort(),
    [...spec.contextFields].sort(),
    spec.sharedFields.map(([f, space]) => `${f}>${space}`).sort(),
    spec.normCap,
    spec.decodeRounds,
    spec.seed,
    Object.entries(spec.caps).sort(([a], [b]) => (a < b ? -1 : 1)),
    DENSE_NAMES,
  ]);
  let h = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) h = Math.imul(h ^ canonical.charCodeAt(i), 0x01000193);
  return `tgfs${spec.version}-${(h >>> 0).toString(16).padStart(8, "0")}`;
}

/** The largest hashed space a spec may have: every feature index is below it. */
export const MAX_DIM = 1 << 20;

/**
 * Checks that a spec is usable: D a power of two within bounds, n-grams and caps positive integers.
 *
 * @param spec The spec to check.
 * @throws {RangeError} naming the first bad parameter.
 */
export function validateSpec(spec: Readonly<FeatureSpec>): void {
  const intIn = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`feature spec: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    }
  };
  intIn("dim", spec.dim, 64, MAX_DIM);
  if ((spec.dim & (spec.dim - 1)) !== 0) throw new RangeError(`feature spec: dim must be a power of two`);
  if (spec.ngrams.length === 0) throw new RangeError("feature spec: ngrams must not be empty");
  for (const n of spec.ngrams) intIn("ngrams[]", n, 1, 8);
  for (const f of spec.ngramFields) {
    if (!TEXT_FIELDS.includes(f)) throw new RangeError(`feature spec: unknown ngramFields entry "${f}"`);
  }
  for (const f of spec.contextFields ?? []) {
    if (!TEXT_FIELDS.includes(f)) throw new RangeError(`feature spec: unknown contextFields entry "${f}"`);
  }
  const shared = new Set(spec.sharedFields.map(([f]) => f));
  for (const [f, space] of spec.sharedFields) {
    for (const name of [f, space]) {
      if (!TEXT_FIELDS.includes(name)) {
        throw new RangeError(`feature spec: unknown sharedFields entry "${name}"`);
      }
    }
    if (f === space || shared.has(space)) {
      throw new RangeError(
        `feature spec: sharedFields maps "${f}" to "${space}", which is not a space of its own`,
      );
    }
  }
  if (shared.size !== spec.sharedFields.length) {
    throw new RangeError("feature spec: a field appears twice in sharedFields");
  }
  intIn("decodeRounds", spec.decodeRounds, 1, 8);
  intIn("normCap", spec.normCap, 1, 1 << 20);
  for (const [k, v] of Object.entries(spec.caps)) intIn(`caps.${k}`, v, 1, 1 << 24);
}
