/**
 * The feature extractor: a `RequestView` becomes a sparse vector in a hashed space of D buckets plus a
 * dense block of structural numbers. Training and the worker call exactly this code.
 *
 * Three phases, each linear in what was read:
 * 1. split the request into fields (path, query keys and values, headers, cookies, body parts), cut each
 *    to its cap, decode it (only when it holds something to decode) and fold it into one code-unit buffer;
 * 2. walk every field once: character n-grams, word and symbol tokens, keyword classes, statistics;
 * 3. weight every group of features to unit scale and accumulate them into the sorted sparse output.
 */
import { codeAt } from "./chars.ts";
import { type DecodeEvidence, FieldDecoder, needsDecoding, newEvidence } from "./decode.ts";
import { fmix, FNV_OFFSET, fnvStep, fnvString, seedFor } from "./hash.ts";
import { KW_HTML, KW_PATH, KW_SHELL, KW_SQL, KW_TEMPLATE, lexiconClasses } from "./lexicon.ts";
import { DENSE_DIM, FEATURE_SPEC, type FeatureSpec, TEXT_FIELDS, validateSpec } from "./spec.ts";
import type { RequestView } from "./view.ts";

/**
 * A request's features. Indices are sorted, unique and in `[0, D)`; every value is finite. `structure` lists
 * the request's structure tokens (kind in the top 4 bits, see `ST_*`; a 28-bit hash below), each once.
 */
export interface FeatureVector {
  /** The non-zero buckets of the hashed space, sorted and unique, in `[0, D)`. */
  indices: Int32Array;
  /** Their values, entry for entry with `indices`. */
  values: Float32Array;
  /** The dense block of structural numbers (`DENSE_DIM`, named by `DENSE_NAMES`). */
  dense: Float32Array;
  /** The request's structure tokens, each once (at most `MAX_STRUCTURE`). */
  structure: Int32Array;
  /**
   * Its endpoint and parameter values, for the site's value profile (`value_profile.ts`): `[endpoint, then
   * PARAM_WORDS per value]`, at most `MAX_PARAMS` values (see `PARAM_*`). Not part of the model's input.
   */
  params: Int32Array;
}

/** Bucket → human-readable names of what was hashed into it (filled only when asked, for explanations). */
export type FeatureTrace = Map<number, string[]>;

// Namespaces of text fields: the same n-gram in two of them is two different features.
const NS_PATH = 0, NS_QKEY = 1, NS_QVAL = 2, NS_BKEY = 3, NS_BVAL = 4, NS_BTEXT = 5, NS_CKEY = 6, NS_CVAL = 7;
const NS_UA = 8, NS_REFERER = 9, NS_CTYPE = 10, NS_ACCEPT = 11, NS_HOTHER = 12;
const TEXT_NAMESPACES = 13; // = TEXT_FIELDS.length
// Namespaces of whole-token (meta) features.
const NS_METHOD = 20, NS_HNAME = 21, NS_PSHAPE = 22, NS_KEY = 23, NS_KVSHAPE = 24, NS_EXT = 25, NS_BKIND = 26;

const NS_NAMES: Record<number, string> = {
  ...Object.fromEntries(TEXT_FIELDS.map((name, ns) => [ns, name])),
  [NS_METHOD]: "method",
  [NS_HNAME]: "hname",
  [NS_PSHAPE]: "pshape",
  [NS_KEY]: "key",
  [NS_KVSHAPE]: "kvshape",
  [NS_EXT]: "ext",
  [NS_BKIND]: "bodykind",
};

// Groups: each is scaled to unit L2 norm (if its features were distinct), so a long body does not drown the
// URL and a request with many headers does not drown its parameters. A group's tokens are in the group after
// its n-grams (`GROUP_OF_NS[ns] + 1`). The user agent and the referer have groups of their own, apart from the
// client's other headers: a payload appended to a long user agent, or alone in a referer, is weighed against
// that header's own tokens, not diluted by every header the client sent.
// Group 6 held header names; they are site tokens now (`siteToken`), not features of the vector.
const G_URL = 0, G_HDR = 2, G_BODY = 4, G_SHAPES = 7, G_SINGLE = 8, G_UA = 9, G_REFERER = 11;
const GROUPS = 13;
const GROUP_OF_NS = [
  G_URL,
  G_URL,
  G_URL,
  G_BODY,
  G_BODY,
  G_BODY,
  G_HDR,
  G_HDR,
  G_UA,
  G_REFERER,
  G_HDR,
  G_HDR,
  G_HDR,
];
const KIND_TOKEN = 100, KIND_SYMBOL = 101;

/**
 * Kinds of structure tokens (the top bits of each entry of `FeatureVector.structure`): what a site's
 * profile remembers of its normal traffic.
 */
export const ST_METHOD = 0,
  ST_PATH = 1,
  ST_EXT = 2,
  ST_KEY = 3,
  ST_KVSHAPE = 4,
  ST_HEADER = 5,
  ST_COOKIE = 6,
  ST_BODY = 7;
/** Names of the structure-token kinds, by kind. */
export const STRUCTURE_KINDS: readonly string[] = Object.freeze([
  "method",
  "path",
  "ext",
  "key",
  "kvshape",
  "header",
  "cookie",
  "body",
]);
/** At most this many structure tokens are listed per request. */
export const MAX_STRUCTURE = 128;

/**
 * Parameter values listed per request (query, form, JSON and multipart values with a name; not cookies), for
 * the value profile. Each is `PARAM_WORDS` int32: the name's hash, the value's hash (its first
 * `PARAM_HASHED_CHARS` characters as folded, and its length), `length | classes << 16 | flags`, and its value
 * when it is an integer (`PARAM_INTEGER`; clamped to ±2^31−1, `PARAM_HUGE` beyond).
 */
export const MAX_PARAMS = 24;
export const PARAM_WORDS = 4;
/** Characters of a value its hash covers. */
export const PARAM_HASHED_CHARS = 64;
/** Flags of a listed value (in its third word). */
export const PARAM_INTEGER = 1 << 25, PARAM_HUGE = 1 << 26, PARAM_REPEATED = 1 << 27;
/** The character classes of a listed value: `(word >>> 16) & PARAM_CLASS_MASK` (see `PARAM_CLASS_NAMES`). */
export const PARAM_CLASS_MASK = 0x1ff;
/** Names of the character-class bits of a listed value. */
export const PARAM_CLASS_NAMES: readonly string[] = Object.freeze([
  "digits",
  "hex letters",
  "letters",
  "non-ASCII",
  "spaces",
  "quotes and brackets",
  "path and URL characters",
  "word punctuation",
  "other symbols",
]);

const MAX_FIELDS = 2048;
const CANON_CAPACITY = 1 << 18;

const MARK_START = 2, MARK_END = 3;

// Character classes of folded text. Classes up to C_NONASCII are word characters.
const C_DIGIT = 0,
  C_HEXALPHA = 1,
  C_ALPHA = 2,
  C_WORD_UNDERSCORE = 3,
  C_NONASCII = 4,
  C_SPACE = 5,
  C_QUOTE = 6,
  C_ANGLE = 7,
  C_PARENSEMI = 8,
  C_SHELL = 9,
  C_PATHURL = 10,
  C_WORDP = 11,
  C_OTHER = 12;
const CLASSES = 13;
const CHAR_CLASS = new Uint8Array(128).fill(C_OTHER);
for (let c = 48; c <= 57; c++) CHAR_CLASS[c] = C_DIGIT;
for (let c = 97; c <= 102; c++) CHAR_CLASS[c] = C_HEXALPHA;
for (let c = 103; c <= 122; c++) CHAR_CLASS[c] = C_ALPHA;
CHAR_CLASS[95] = C_WORD_UNDERSCORE;
for (let c = 0; c <= 32; c++) CHAR_CLASS[c] = C_SPACE;
for (const c of [39, 34, 96]) CHAR_CLASS[c] = C_QUOTE;
for (const c of [60, 62]) CHAR_CLASS[c] = C_ANGLE;
for (const c of [40, 41, 59]) CHAR_CLASS[c] = C_PARENSEMI;
for (const c of [124, 38, 36, 123, 125]) CHAR_CLASS[c] = C_SHELL;
for (const c of [47, 58]) CHAR_CLASS[c] = C_PATHURL;
for (const c of [45, 46]) CHAR_CLASS[c] = C_WORDP;
CHAR_CLASS[MARK_START] = C_OTHER;

// Shape bits of a value, from the classes it contains.
const CH_DIGIT = 1,
  CH_HEXALPHA = 2,
  CH_ALPHA = 4,
  CH_NONASCII = 8,
  CH_SPACE = 16,
  CH_SPECIAL = 32,
  CH_PATHURL = 64,
  CH_WORDP = 128,
  CH_OTHER = 256;
const CLASS_SHAPE_BIT = [
  CH_DIGIT,
  CH_HEXALPHA,
  CH_ALPHA,
  CH_WORDP,
  CH_NONASCII,
  CH_SPACE,
  CH_SPECIAL,
  CH_SPECIAL,
  CH_SPECIAL,
  CH_SPECIAL,
  CH_PATHURL,
  CH_WORDP,
  CH_OTHER,
];
const SHAPE_NAMES = [
  "empty",
  "special",
  "text",
  "path-url",
  "other",
  "non-ascii",
  "digits",
  "hex",
  "alpha",
  "alnum",
  "word",
];

/** c·log2(c) for every count a value can reach, so entropy costs no logarithm per character. */
const C_LOG2_C = new Float64Array(1 << 14);
for (let c = 2; c < C_LOG2_C.length; c++) C_LOG2_C[c] = c * Math.log2(c);

/**
 * Headers left out entirely: transport (hop-by-hop, framing, host) and what a platform adds on its own
 * (Cloudflare's `cf-*`, `cdn-loop`). They differ between Deno, workerd and records for the same request.
 */
export const SKIP_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "upgrade",
  "cdn-loop",
]);

// Dense slots (see DENSE_NAMES).
const D_GET = 0,
  D_POST = 1,
  D_HEADOPT = 2,
  D_PUTDEL = 3,
  D_OTHERM = 4,
  D_PATHLEN = 5,
  D_QUERYLEN = 6,
  D_BODYLEN = 7,
  D_QPARAMS = 8,
  D_PATHSEGS = 9,
  D_BPARAMS = 10,
  D_HEADERS = 11,
  D_COOKIES = 12,
  D_DEPTH = 13,
  D_INVALID = 14,
  D_UNIESC = 15,
  D_ENTITIES = 16,
  D_CONTROL = 17,
  D_QUOTE = 18,
  D_ANGLE = 19,
  D_PARENSEMI = 20,
  D_SHELLCH = 21,
  D_NONALNUM = 22,
  D_ENTROPY = 23,
  D_DIGIT = 24,
  D_UPPER = 25,
  D_JSONDEPTH = 26,
  D_TRUNC = 27,
  D_KWSQL = 28,
  D_KWSHELL = 29,
  D_KWHTML = 30,
  D_KWPATH = 31,
  D_TMPL = 32,
  D_NOUA = 33,
  D_NOACCEPT = 34,
  D_NONASCII = 35,
  D_COMMENTS = 36,
  D_DOTDOT = 37,
  D_MAXVAL = 38,
  D_BADUTF8 = 39,
  D_RAWDOTS = 40,
  D_RAWBACKSLASH = 41;

const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

const LOG1P_CACHE = new Map<number, number>();

/** log1p(n) / log1p(max), at most 1: counts and lengths on a common [0, 1] scale. */
function logScale(n: number, max: number): number {
  if (n <= 0) return 0;
  let den = LOG1P_CACHE.get(max);
  if (den === undefined) LOG1P_CACHE.set(max, den = 1 / Math.log1p(max));
  const v = Math.log1p(n) * den;
  return v > 1 ? 1 : v;
}

function lengthBucket(n: number): number {
  return n === 0 ? 0 : n <= 3 ? 1 : n <= 8 ? 2 : n <= 16 ? 3 : n <= 32 ? 4 : n <= 64 ? 5 : n <= 256 ? 6 : 7;
}

function shapeOf(mask: number, len: number): number {
  if (len === 0) return 0;
  if (mask & CH_SPECIAL) return 1;
  if (mask & CH_SPACE) return 2;
  if (mask & CH_PATHURL) return 3;
  if (mask & CH_OTHER) return 4;
  if (mask & CH_NONASCII) return 5;
  if (mask === CH_DIGIT) return 6;
  if ((mask & ~(CH_DIGIT | CH_HEXALPHA)) === 0 && len >= 8) return 7;
  if ((mask & ~(CH_HEXALPHA | CH_ALPHA)) === 0) return 8;
  if ((mask & ~(CH_DIGIT | CH_HEXALPHA | CH_ALPHA)) === 0) return 9;
  return 10;
}

// ---- field flags -----------------------------------------------------------------------------------------

/** How a text field is read: a bit set of the flags below (`field`, `fold`, `pair`, `key`). */
type FieldFlags = number;
/** `+` means a space (query strings and form bodies). */
const PLUS_AS_SPACE = 1;
/** A value (not a name or a header): counted in the value statistics, its shape a site token. */
const IS_VALUE = 2;
/** A cookie's name: its identity is kept apart from a parameter of the same name. */
const IS_COOKIE = 4;
/** `fold`'s fast pass: give up (-1) at the first character that may begin an encoding. */
const BAIL_ON_ESCAPE = 8;

// ---- per-request statistics ------------------------------------------------------------------------------

function clearEvidence(ev: DecodeEvidence): void {
  ev.depth =
    ev.invalidEscapes =
    ev.unicodeEscapes =
    ev.htmlEntities =
    ev.invalidUtf8 =
      0;
}

/**
 * What one request's fields added up to: the numbers the dense block is computed from (`denseFeatures`).
 * One instance per extractor, cleared by `reset` at the start of every request (no allocation per request).
 */
class RequestStats {
  /** Evidence of decoding, updated by the decoder. */
  readonly decode: DecodeEvidence = newEvidence();
  /**
   * Where the decoder leaves the evidence of a context field (user agent, referer's text, other headers): a
   * client's header is written by its software, not by the request's sender, so how it is encoded (an in-app
   * browser's HTML entities, `FBCR/&#12477;`) is context, never a dense statistic of the request. Values read
   * out of those headers (a referer's link, what follows a user agent's products) are value fields and count.
   */
  readonly contextDecode: DecodeEvidence = newEvidence();
  /** Something was cut at a cap (a field, the query, the parameter, header, part or field count, the body). */
  truncated = false;

  // Counts of the request's parts.
  /** Path segments. */
  pathSegments = 0;
  /** Query parameters read. */
  queryParams = 0;
  /** Body parameters read (form, JSON keys and values, multipart parts). */
  bodyParams = 0;
  /** Headers read (those in `SKIP_HEADERS` and `cf-*` left out). */
  headers = 0;
  /** Cookies read. */
  cookies = 0;
  hasUserAgent = false;
  hasAccept = false;
  /** Deepest JSON nesting seen. */
  jsonDepth = 0;
  /** U+FFFD in the body as decoded from UTF-8 (the decoder counts those of percent-decoding). */
  bodyInvalidUtf8 = 0;

  // Characters: of every field (control, comments) or of values only (the rest).
  /** Upper-case ASCII letters of values, before folding. */
  upper = 0;
  /** Control characters other than tab and line breaks. */
  control = 0;
  /** Inline comments (`/* … *\/` with its close; a run of two or three dashes, once). */
  comments = 0;
  /** Characters of folded values: the denominator of the ratios below. */
  valueChars = 0;
  quote = 0;
  angle = 0;
  parenSemi = 0;
  shellCh = 0;
  nonAlnum = 0;
  digits = 0;
  nonAscii = 0;
  /** Highest entropy (bits per character) of a value of at least 8 characters. */
  maxEntropy = 0;
  maxValueLen = 0;

  // Words and markers (saved and restored around `fold`'s abandoned fast pass).
  kwSql = 0;
  kwShell = 0;
  kwHtml = 0;
  kwPath = 0;
  /** Template markers (`{{ ${ #{ *{ <%`) and template keywords. */
  template = 0;
  /** Traversal markers `../` and `..\`. */
  dotdot = 0;

  reset(): void {
    clearEvidence(this.decode);
    clearEvidence(this.contextDecode);
    this.truncated = this.hasUserAgent = this.hasAccept = false;
    this.pathSegments =
      this.queryParams =
      this.bodyParams =
      this.headers =
      this.cookies =
        0;
    this.jsonDepth = this.bodyInvalidUtf8 = 0;
    this.upper =
      this.control =
      this.comments =
      this.valueChars =
        0;
    this.quote =
      this.angle =
      this.parenSemi =
      this.shellCh =
      this.nonAlnum =
      this.digits =
      this.nonAscii =
        0;
    this.maxEntropy = this.maxValueLen = 0;
    this.kwSql =
      this.kwShell =
      this.kwHtml =
      this.kwPath =
      this.template =
      this.dotdot =
        0;
  }
}

// ---- the extractor -----------------------------------------------------------------------------------------

/**
 * Reusable scratch state for one spec: seeds, the canonical buffer and its field table, the feature events,
 * the accumulator, the per-request statistics and a decoder of its own. Extraction is synchronous, so one
 * instance serves an isolate; two instances share nothing.
 *
 * Its methods are the building blocks (fields, events, phases 2 and 3); the feature families that use them
 * (`methodFeatures`, `pathFeatures`, `queryFeatures`, `headerFeatures`, `cookieFeatures`, `bodyFeatures`,
 * `denseFeatures`) follow the class, in the order `run` calls them.
 */
class Extractor {
  readonly spec: Readonly<FeatureSpec>;
  readonly mask: number;
  readonly ngramSeeds: Int32Array;
  readonly tokenSeeds: Int32Array;
  readonly symbolSeeds: Int32Array;
  readonly metaSeeds: Int32Array;
  /** 1 for the text namespaces whose n-grams are hashed. */
  readonly ngramNs = new Uint8Array(TEXT_NAMESPACES);
  /** Context namespaces: only keyword words count there (see `FeatureSpec.contextFields`). */
  readonly contextNs = new Uint8Array(TEXT_NAMESPACES);
  readonly decoder = new FieldDecoder();
  /** Scratch of `base64Text`: the decoded bytes of one value. */
  readonly b64: Uint8Array;
  readonly stats = new RequestStats();

  /** The canonical buffer: every field folded, between MARK_START and MARK_END; `len` units used. */
  readonly buf = new Uint16Array(CANON_CAPACITY);
  len = 0;
  /** The field table: namespace, start mark and end mark of each of the `nFields` fields. */
  nFields = 0;
  readonly fNs = new Uint8Array(MAX_FIELDS);
  readonly fStart = new Int32Array(MAX_FIELDS);
  readonly fEnd = new Int32Array(MAX_FIELDS);

  /** Feature events (`bucket | group << 24`), `nEvents` of them. */
  events: Int32Array;
  nEvents = 0;
  /** Per group, a bit set of the buckets already in it (presence); cleared after each request. */
  readonly seen: Int32Array;
  readonly words: number;
  readonly groupCount = new Int32Array(GROUPS);
  /** The bucket of the last `add` (-1 after a site token), for the trace. */
  lastBucket = 0;
  readonly structure = new Int32Array(MAX_STRUCTURE);
  nStructure = 0;
  /** The endpoint hash and the listed parameter values (see `FeatureVector.params`). */
  readonly params = new Int32Array(1 + MAX_PARAMS * PARAM_WORDS);
  nParams = 0;
  /** Values of the field being read are not listed (cookies). */
  unlisted = false;

  /** Phase 3: group weights, the accumulator and its touched-bucket bit set; `nnz` buckets set. */
  readonly weights = new Float64Array(GROUPS);
  readonly acc: Float32Array;
  readonly touched: Int32Array;
  nnz = 0;

  /** Scratch of `fold` and `finishValue` (character classes of a value) and of `entropy`. */
  readonly classCount = new Int32Array(CLASSES);
  readonly hist = new Int32Array(256);
  /** Where `saveTokenState` keeps what an abandoned fast pass must give back. */
  private readonly saved = new Int32Array(9);

  trace: FeatureTrace | null = null;

  constructor(spec: Readonly<FeatureSpec>) {
    validateSpec(spec);
    this.spec = spec;
    this.mask = spec.dim - 1;
    this.acc = new Float32Array(spec.dim);
    this.touched = new Int32Array(spec.dim >>> 5);
    this.words = spec.dim >>> 5;
    this.seen = new Int32Array(GROUPS * this.words);
    this.events = new Int32Array(1 << 16);
    this.b64 = new Uint8Array(((spec.caps.value + 3) >>> 2) * 3);
    for (const name of spec.ngramFields) this.ngramNs[TEXT_FIELDS.indexOf(name)] = 1;
    for (const name of spec.contextFields ?? []) this.contextNs[TEXT_FIELDS.indexOf(name)] = 1;
    const ns = 32;
    this.ngramSeeds = new Int32Array(ns * spec.ngrams.length);
    this.tokenSeeds = new Int32Array(ns);
    this.symbolSeeds = new Int32Array(ns);
    this.metaSeeds = new Int32Array(ns);
    // A shared field's words, symbols and n-grams are hashed with its space's seeds (`sharedFields`).
    const space = Array.from({ length: ns }, (_, i) => i);
    for (const [f, to] of spec.sharedFields) space[TEXT_FIELDS.indexOf(f)] = TEXT_FIELDS.indexOf(to);
    for (let i = 0; i < ns; i++) {
      const h = space[i];
      for (let k = 0; k < spec.ngrams.length; k++) {
        this.ngramSeeds[i * spec.ngrams.length + k] = seedFor(spec.seed, h, spec.ngrams[k]);
      }
      this.tokenSeeds[i] = seedFor(spec.seed, h, KIND_TOKEN);
      this.symbolSeeds[i] = seedFor(spec.seed, h, KIND_SYMBOL);
      this.metaSeeds[i] = seedFor(spec.seed, i, 0);
    }
  }

  /** Ready for the next request (the accumulator and presence bits were cleared by the last one). */
  reset(): void {
    this.len = 0;
    this.nFields = 0;
    this.nEvents = 0;
    this.nStructure = 0;
    this.nParams = 0;
    this.params[0] = 0;
    this.groupCount.fill(0);
    this.stats.reset();
  }

  // ---- events -------------------------------------------------------------------------------------------

  /**
   * Adds feature `hash` to `group` once: a group is a set (presence, not counts), so repeating a token or
   * an n-gram neither inflates the vector nor dilutes the rest. The bucket is left in `lastBucket`.
   */
  emit(hash: number, group: number): void {
    this.add(fmix(hash) & this.mask, group);
  }

  add(b: number, group: number): boolean {
    this.lastBucket = b;
    const at = group * this.words + (b >>> 5), bit = 1 << (b & 31);
    if ((this.seen[at] & bit) !== 0) return false;
    this.seen[at] |= bit;
    if (this.nEvents === this.events.length) {
      const grown = new Int32Array(this.events.length * 2);
      grown.set(this.events);
      this.events = grown;
    }
    this.events[this.nEvents++] = b | (group << 24);
    this.groupCount[group]++;
    return true;
  }

  /**
   * A structural feature (method, path shape, extension, parameter name, parameter shape, header name,
   * cookie name, body kind): added to the sparse vector like any meta feature, and listed once in the
   * request's structure tokens, which a tenant's site profile compares against what the site normally sees.
   */
  structural(kind: number, hash: number, group: number): void {
    const h = fmix(hash);
    if (this.add(h & this.mask, group) && this.nStructure < MAX_STRUCTURE) {
      this.structure[this.nStructure++] = (h >>> 4) | (kind << 28);
    }
  }

  /**
   * A structure token that is site identity (a literal path segment, a parameter, cookie or header name,
   * a parameter's value shape): the site profile's evidence, not the global vector's. Hashed into the
   * vector, an unseen name lands in a bucket that other names taught, and a new site's own vocabulary would
   * score as attacks; payload evidence in names is still in their n-grams and tokens.
   */
  siteToken(kind: number, hash: number): void {
    this.lastBucket = -1;
    const t = (fmix(hash) >>> 4) | (kind << 28);
    for (let i = 0; i < this.nStructure; i++) if (this.structure[i] === t) return;
    if (this.nStructure < MAX_STRUCTURE) this.structure[this.nStructure++] = t;
  }

  /** A whole-token (meta) feature: hash of `text` in namespace `ns`, a structure token when `kind` is given. */
  emitMeta(ns: number, text: string, group: number, kind = -1): void {
    const h = fnvString(text, this.metaSeeds[ns]);
    if (kind >= 0) this.structural(kind, h, group);
    else this.emit(h, group);
    if (this.trace) this.traceAdd(this.lastBucket, `${NS_NAMES[ns]}:${text}`);
  }

  traceAdd(bucket: number, name: string): void {
    if (bucket < 0) return; // a site token: not in the vector
    const list = this.trace!.get(bucket);
    if (list === undefined) this.trace!.set(bucket, [name]);
    else if (!list.includes(name) && list.length < 8) list.push(name);
  }

  // ---- phase 1: fields ----------------------------------------------------------------------------------

  /**
   * Cuts, decodes and folds one text field into the buffer. Returns the field's index, or -1 when the
   * buffer or field table is full (which counts as truncation).
   *
   * @param flags `PLUS_AS_SPACE`, `IS_VALUE`.
   * @param key For a value, the hash of its parameter's name (0: none); its shape becomes a site token.
   */
  field(ns: number, raw: string, cap: number, flags: FieldFlags, key: number): number {
    const stats = this.stats;
    if (this.nFields === MAX_FIELDS) {
      stats.truncated = true;
      return -1;
    }
    let s = raw;
    if (s.length > cap) {
      s = s.slice(0, cap);
      stats.truncated = true;
    }
    if (this.len + s.length + 2 > CANON_CAPACITY) {
      stats.truncated = true;
      return -1;
    }
    const start = this.len;
    const group = GROUP_OF_NS[ns];
    const plusAsSpace = (flags & PLUS_AS_SPACE) !== 0;
    // Most fields hold nothing to decode: fold and tokenise them in one pass, and start again after decoding
    // when the pass meets a character that may begin an encoding.
    this.saveTokenState(group + 1);
    // Tracing names what was hashed, so it must not see the tokens of an abandoned first pass.
    let end = this.trace !== null && needsDecoding(s, plusAsSpace)
      ? -1
      : this.fold(s, start, ns, flags | BAIL_ON_ESCAPE);
    if (end < 0) {
      this.restoreTokenState(group + 1);
      if (flags & IS_VALUE) this.countUpper(s);
      const evidence = this.contextNs[ns] ? stats.contextDecode : stats.decode;
      s = this.decoder.decodeField(s, plusAsSpace, this.spec.decodeRounds, cap, evidence);
      if (this.len + s.length + 2 > CANON_CAPACITY) {
        stats.truncated = true;
        return -1;
      }
      // Decoded text is folded as it is: `+` was decided by the decoder.
      end = this.fold(s, start, ns, flags & IS_VALUE);
    }
    this.len = end + 1;
    const f = this.nFields++;
    this.fNs[f] = ns;
    this.fStart[f] = start;
    this.fEnd[f] = end;
    // Only value fields count classes (and finishValue clears the counts), so nothing to clear otherwise.
    if (flags & IS_VALUE) this.finishValue(start, end, key);
    return f;
  }

  saveTokenState(group: number): void {
    const v = this.saved, st = this.stats;
    v[0] = this.nEvents, v[1] = this.groupCount[group], v[2] = st.kwSql, v[3] = st.kwShell;
    v[4] = st.kwHtml, v[5] = st.kwPath, v[6] = st.template, v[7] = st.dotdot;
  }

  restoreTokenState(group: number): void {
    const v = this.saved, st = this.stats;
    this.unsee(v[0], this.nEvents);
    this.nEvents = v[0], this.groupCount[group] = v[1], st.kwSql = v[2], st.kwShell = v[3];
    st.kwHtml = v[4], st.kwPath = v[5], st.template = v[6], st.dotdot = v[7];
    this.classCount.fill(0);
  }

  /**
   * One pass over a field: writes it folded (ASCII lower case, whitespace and control runs to one space,
   * inline comments to a space) between start and end marks at `start`, and emits its word and symbol
   * tokens and character-class counts on the way. Returns the end mark's position; with `BAIL_ON_ESCAPE`,
   * -1 at the first character that may begin an encoding (`%`, `&`, `\`, non-ASCII, `+` as space).
   *
   * @param flags `PLUS_AS_SPACE` (only matters with `BAIL_ON_ESCAPE`), `IS_VALUE`, `BAIL_ON_ESCAPE`.
   */
  fold(s: string, start: number, ns: number, flags: FieldFlags): number {
    const plusAsSpace = (flags & PLUS_AS_SPACE) !== 0;
    const isValue = (flags & IS_VALUE) !== 0;
    const bail = (flags & BAIL_ON_ESCAPE) !== 0;
    const stats = this.stats;
    const buf = this.buf;
    const cc = this.classCount;
    const group = GROUP_OF_NS[ns] + 1;
    const tracing = this.trace !== null;
    const tokenSeed = this.tokenSeeds[ns], symbolSeed = this.symbolSeeds[ns];
    const context = this.contextNs[ns];
    let p = start;
    buf[p++] = MARK_START;
    let space = true; // drops leading whitespace
    let lastClose = -2; // position of the last "*/", computed at the first "/*"
    let upper = 0, control = 0, comments = 0;
    let wordH = FNV_OFFSET, wordLen = 0;
    let symH = FNV_OFFSET, symLen = 0;
    let prev = 0, prev2 = 0;
    const n = s.length;
    for (let i = 0; i <= n; i++) {
      let c: number;
      if (i === n) {
        c = 32; // the end closes the last token like a space
      } else {
        c = codeAt(s, i);
        if (bail && (c === 37 || c === 38 || c === 92 || c >= 128 || (plusAsSpace && c === 43))) return -1;
        if (c <= 32 || c === 127) {
          // Tab, CR and LF are text's whitespace in a value; in a path no link has them (`/a.js/%0d`, a
          // header injection): control characters there (since version 10).
          if (c !== 32 && (c < 9 || c > 13 || ns === NS_PATH)) control++;
          c = 32;
        } else if (c >= 65 && c <= 90) {
          c += 32;
          upper++;
        } else if (c === 47 && codeAt(s, i + 1) === 42) {
          if (lastClose === -2) lastClose = s.lastIndexOf("*/");
          if (lastClose > i + 1) {
            // The close exists, so skipping to it keeps the loop linear.
            comments++;
            i = s.indexOf("*/", i + 2) + 1;
            c = 32;
          }
        } else if (c === 45 && codeAt(s, i + 1) === 45 && (i === 0 || codeAt(s, i - 1) !== 45)) {
          // A run of two or three dashes is a SQL comment (`--`, `-- -` as `---`); a longer run is a
          // separator (`-----`, a markdown rule, a slug's padding), not a comment. One count per run; the
          // run is scanned once from its start, so the loop stays linear.
          let j = i + 2;
          while (j < n && j < i + 4 && codeAt(s, j) === 45) j++;
          if (j - i <= 3) comments++;
        }
      }
      if (c === 32) {
        if (space) continue;
        space = true;
      } else space = false;
      if (i < n) buf[p++] = c;
      const cls = c < 128 ? CHAR_CLASS[c] : c === 0xfffd ? C_OTHER : C_NONASCII;
      if (isValue) cc[cls]++;
      if (cls <= C_NONASCII) {
        if (symLen > 0) {
          this.emit(symbolSeed ^ symH, group);
          if (tracing) {
            this.traceAdd(this.lastBucket, `sym:${label(buf, p - 1 - symLen, symLen > 4 ? 4 : symLen)}`);
          }
          symLen = 0;
        }
        if (wordLen === 0) wordH = FNV_OFFSET;
        if (wordLen < 32) wordH = Math.imul(wordH ^ c, 0x01000193);
        wordLen++;
        // The last two characters are every character's, so `www.a.example/` is no `../` and `$ab{` no `${`.
        prev2 = prev;
        prev = c;
        continue;
      }
      if (wordLen > 0) {
        const kw = lexiconClasses(wordH);
        // A context field's keywords are sparse features only: a browser's own headers carry lexicon words
        // (`sec-fetch-dest: document`, `Version/17.0`, `application/xml`, a CDN's `….net` in `Via`), so counting them
        // would make a new header set look like attack vocabulary. What a client wrote into a header is read
        // as a value as well (`refererValues`, `userAgentRest`, `forwardedValues`) and counts there.
        if (kw !== 0 && context === 0) {
          if (kw & KW_SQL) stats.kwSql++;
          if (kw & KW_SHELL) stats.kwShell++;
          if (kw & KW_HTML) stats.kwHtml++;
          if (kw & KW_PATH) stats.kwPath++;
          if (kw & KW_TEMPLATE) stats.template++;
        }
        if (kw !== 0 || context === 0) {
          this.emit(tokenSeed ^ wordH, group);
          if (tracing) {
            const at = p - 1 - wordLen - (i < n ? 0 : -1);
            this.traceAdd(this.lastBucket, `tok:${label(buf, at, wordLen > 32 ? 32 : wordLen)}`);
          }
        }
        wordLen = 0;
      }
      if (cls === C_SPACE) {
        if (symLen > 0) {
          this.emit(symbolSeed ^ symH, group);
          if (tracing) {
            const at = p - 1 - symLen - (i < n ? 0 : -1);
            this.traceAdd(this.lastBucket, `sym:${label(buf, at, symLen > 4 ? 4 : symLen)}`);
          }
          symLen = 0;
        }
      } else {
        if (symLen === 0) symH = FNV_OFFSET;
        if (symLen < 4) symH = Math.imul(symH ^ c, 0x01000193);
        symLen++;
        // Template markers {{ ${ #{ *{ <% and traversal ../ ..\
        if (
          (c === 123 && (prev === 123 || prev === 36 || prev === 35 || prev === 42)) ||
          (c === 37 && prev === 60)
        ) {
          stats.template++;
        } else if ((c === 47 || c === 92) && prev === 46 && prev2 === 46) stats.dotdot++;
      }
      prev2 = prev;
      prev = c;
    }
    // A non-empty field either ends in a space (trimmed here) or had the end counted as one: uncount it.
    const nonEmpty = p > start + 1;
    if (nonEmpty && buf[p - 1] === 32) p--;
    buf[p] = MARK_END;
    if (isValue) {
      stats.upper += upper;
      if (nonEmpty) cc[C_SPACE]--;
    }
    stats.control += control;
    // A context field's comment marks are no evidence either: a referer's slug (`dreampackers--sp.html`,
    // `title---subtitle`) has SQL's `--`. What a client wrote into a header is read as a value as well, and
    // counts there.
    if (context === 0) stats.comments += comments;
    return p;
  }

  /** Statistics, entropy and parameter shape of a value field, from the class counts its fold left. */
  finishValue(start: number, end: number, key: number): void {
    const cc = this.classCount, stats = this.stats;
    const len = end - start - 1;
    let mask = 0;
    for (let k = 0; k < CLASSES; k++) if (cc[k] > 0) mask |= CLASS_SHAPE_BIT[k];
    stats.valueChars += len;
    stats.quote += cc[C_QUOTE];
    stats.angle += cc[C_ANGLE];
    stats.parenSemi += cc[C_PARENSEMI];
    stats.shellCh += cc[C_SHELL];
    stats.nonAlnum += cc[C_QUOTE] + cc[C_ANGLE] + cc[C_PARENSEMI] + cc[C_SHELL] + cc[C_PATHURL] +
      cc[C_WORDP] + cc[C_OTHER];
    stats.digits += cc[C_DIGIT];
    stats.nonAscii += cc[C_NONASCII];
    cc.fill(0);
    if (len > stats.maxValueLen) stats.maxValueLen = len;
    if (len >= 8) {
      const e = this.entropy(start + 1, end);
      if (e > stats.maxEntropy) stats.maxEntropy = e;
    }
    if (key !== 0 && !this.unlisted) this.listValue(start, end, key, mask);
    if (key !== 0) {
      const shape = shapeOf(mask, len);
      let h = fnvStep(this.metaSeeds[NS_KVSHAPE], key);
      h = fnvStep(fnvStep(h, shape), lengthBucket(len));
      this.siteToken(ST_KVSHAPE, h);
      if (this.trace) {
        this.traceAdd(this.lastBucket, `kvshape:${SHAPE_NAMES[shape]}/${lengthBucket(len)}`);
      }
    }
  }

  /** Lists a named value for the value profile (see `FeatureVector.params`). */
  listValue(start: number, end: number, key: number, mask: number): void {
    const params = this.params, n = this.nParams;
    if (n >= MAX_PARAMS) return;
    const buf = this.buf, len = end - start - 1;
    let at = 1 + n * PARAM_WORDS, flags = 0;
    for (let i = 0; i < n; i++) {
      const o = 1 + i * PARAM_WORDS;
      if (params[o] === key) {
        params[o + 2] |= PARAM_REPEATED;
        flags = PARAM_REPEATED;
      }
    }
    let h = fnvStep(FNV_OFFSET, len > 0xffff ? 0xffff : len);
    const hashed = len > PARAM_HASHED_CHARS ? PARAM_HASHED_CHARS : len;
    for (let p = start + 1; p < start + 1 + hashed; p++) h = fnvStep(h, buf[p]);
    // An integer: an optional minus sign, then 1 to 18 digits.
    let num = 0, p = start + 1;
    const neg = len > 1 && buf[p] === 45;
    if (neg) p++;
    if (end - p >= 1 && end - p <= 18) {
      let v = 0;
      while (p < end && buf[p] >= 48 && buf[p] <= 57) v = v * 10 + (buf[p++] - 48);
      if (p === end) {
        flags |= PARAM_INTEGER;
        if (v > 0x7fffffff) flags |= PARAM_HUGE, v = 0x7fffffff;
        num = neg ? -v : v;
      }
    }
    params[at++] = key;
    params[at++] = h;
    params[at++] = (len > 0xffff ? 0xffff : len) | ((mask & PARAM_CLASS_MASK) << 16) | flags;
    params[at] = num;
    this.nParams = n + 1;
  }

  countUpper(s: string): void {
    let u = 0;
    for (let i = 0; i < s.length; i++) {
      const c = codeAt(s, i);
      if (c >= 65 && c <= 90) u++;
    }
    this.stats.upper += u;
  }

  /** Shannon entropy (bits per character) of buf[a, b), characters folded to 8 bits: log2 n - Σ c log2 c / n. */
  entropy(a: number, b: number): number {
    const hist = this.hist;
    const buf = this.buf;
    for (let p = a; p < b; p++) hist[buf[p] & 255]++;
    let sum = 0;
    for (let p = a; p < b; p++) {
      const k = buf[p] & 255;
      const c = hist[k];
      if (c > 0) {
        sum += C_LOG2_C[c];
        hist[k] = 0;
      }
    }
    const n = b - a;
    return Math.log2(n) - sum / n;
  }

  /** FNV hash of a field's folded text (the identity of a parameter name). */
  fieldHash(f: number): number {
    let h = FNV_OFFSET;
    for (let p = this.fStart[f] + 1; p < this.fEnd[f]; p++) h = fnvStep(h, this.buf[p]);
    return h === 0 ? 1 : h;
  }

  fieldText(f: number): string {
    return String.fromCharCode(...this.buf.subarray(this.fStart[f] + 1, this.fEnd[f]));
  }

  /**
   * A key and its value (query, form, JSON, multipart, cookie). `value === null`: the key had no `=`.
   *
   * @param flags `PLUS_AS_SPACE` (both), `IS_COOKIE` (the key).
   */
  pair(kns: number, vns: number, key: string, value: string | null, flags: FieldFlags): void {
    const kh = this.key(kns, key, flags);
    if (kh === 0) return;
    if (value === null) {
      this.siteToken(ST_KVSHAPE, fnvStep(fnvStep(this.metaSeeds[NS_KVSHAPE], kh), 0xffff));
      if (this.trace) this.traceAdd(this.lastBucket, `kvshape:<none>`);
      return;
    }
    this.unlisted = (flags & IS_COOKIE) !== 0;
    this.field(vns, value, this.spec.caps.value, (flags & PLUS_AS_SPACE) | IS_VALUE, kh);
    this.unlisted = false;
    if ((flags & IS_COOKIE) === 0) this.base64Value(vns, value);
  }

  /**
   * A value that is base64 of text (an attacker's way past a filter, `?q=JyBPUiAnMSc9JzE=`) is read a second
   * time as its decoded text, a value field of the same namespace with no key of its own: its words, symbols,
   * n-grams and character statistics count as the value's. Binary (a random token, a signature) is not text
   * and adds nothing. Cookies are left alone (session blobs). Bounded: one pass over at most `caps.value`
   * characters, decoded into a scratch buffer.
   */
  base64Value(vns: number, raw: string): void {
    const text = base64Text(raw, this.spec.caps.value, this.b64);
    if (text !== null) this.field(vns, text, this.spec.caps.value, IS_VALUE, 0);
  }

  /**
   * A parameter name: its text field and its identity feature. Returns its hash (0 when not read).
   *
   * @param flags `PLUS_AS_SPACE`, `IS_COOKIE`.
   */
  key(kns: number, key: string, flags: FieldFlags): number {
    const cookie = (flags & IS_COOKIE) !== 0;
    const kf = this.field(kns, key, this.spec.caps.key, flags & PLUS_AS_SPACE, 0);
    if (kf < 0) return 0;
    const kh = this.fieldHash(kf) ^ (cookie ? 0x5bd1e995 : 0);
    this.siteToken(cookie ? ST_COOKIE : ST_KEY, fnvStep(this.metaSeeds[NS_KEY], kh));
    if (this.trace) this.traceAdd(this.lastBucket, `key:${this.fieldText(kf)}`);
    // A name that is text, not a name (`?<script>alert(1)</script>`, a multipart part named `x' OR 1=1--`), is
    // read again as a value of its namespace (query or body), where payload evidence is learnt; a cookie's
    // name is left alone. On the real sites' ordinary traffic 3 of 156,392 requests have one.
    if (
      !cookie && (key.length > this.spec.caps.key || textMarks(this.buf, this.fStart[kf] + 1, this.fEnd[kf]))
    ) {
      this.field(kns + 1, key, this.spec.caps.value, (flags & PLUS_AS_SPACE) | IS_VALUE, 0);
    }
    return kh;
  }

  // ---- phases 2 and 3: n-grams, weights, output ---------------------------------------------------------

  /**
   * Phase 2 adds the n-grams of every field to their groups; phase 3 weighs every group to unit L2 norm
   * (up to `normCap` features, so a payload in a large body keeps a share of its weight) and accumulates
   * the groups into the output. Returns the non-zero count; `collect` then writes the output.
   */
  featurise(): number {
    this.addNgrams();
    const weights = this.weights, cap = this.spec.normCap;
    for (let g = 0; g < GROUPS; g++) {
      const n = this.groupCount[g];
      weights[g] = n > 0 ? 1 / Math.sqrt(n < cap ? n : cap) : 0;
    }
    this.accumulate();
    return this.nnz;
  }

  addNgrams(): void {
    const buf = this.buf, mask = this.mask;
    const ngrams = this.spec.ngrams;
    const nn = ngrams.length;
    const tracing = this.trace !== null;
    for (let f = 0; f < this.nFields; f++) {
      const ns = this.fNs[f];
      if (this.ngramNs[ns] === 0) continue;
      const start = this.fStart[f], last = this.fEnd[f] + 1;
      const group = GROUP_OF_NS[ns];
      for (let k = 0; k < nn; k++) {
        const n = ngrams[k];
        const seed = this.ngramSeeds[ns * nn + k];
        for (let p = start; p + n <= last; p++) {
          let h = seed;
          for (let q = 0; q < n; q++) h = Math.imul(h ^ buf[p + q], 0x01000193);
          const b = (h ^ (h >>> 15)) & mask;
          this.add(b, group);
          if (tracing) this.traceAdd(b, `${NS_NAMES[ns]}:${label(buf, p, n)}`);
        }
      }
    }
  }

  /** Adds every event's group weight to its bucket, and clears its presence bit for the next request. */
  accumulate(): void {
    const acc = this.acc, touched = this.touched, mask = this.mask, weights = this.weights, ev = this.events;
    const seen = this.seen, words = this.words;
    const count = this.nEvents;
    let nnz = 0;
    for (let i = 0; i < count; i++) {
      const e = ev[i];
      const b = e & mask, group = e >>> 24;
      if (acc[b] === 0) {
        nnz++;
        touched[b >>> 5] |= 1 << (b & 31);
      }
      acc[b] += weights[group];
      seen[group * words + (b >>> 5)] &= ~(1 << (b & 31));
    }
    this.nnz = nnz;
  }

  /** Clears the presence bits of events [from, to). */
  unsee(from: number, to: number): void {
    const ev = this.events, seen = this.seen, mask = this.mask, words = this.words;
    for (let i = from; i < to; i++) {
      const e = ev[i];
      const b = e & mask;
      seen[(e >>> 24) * words + (b >>> 5)] &= ~(1 << (b & 31));
    }
  }

  /** Writes the sorted output from the touched bit set and clears the accumulator for the next request. */
  collect(indices: Int32Array, values: Float32Array): void {
    const acc = this.acc, touched = this.touched;
    let k = 0;
    for (let word = 0; word < touched.length; word++) {
      let bits = touched[word];
      if (bits === 0) continue;
      touched[word] = 0;
      while (bits !== 0) {
        const t = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const b = (word << 5) | t;
        indices[k] = b;
        values[k] = acc[b];
        acc[b] = 0;
        k++;
      }
    }
  }
}

// ---- feature families, in the order `run` calls them ----------------------------------------------------

/** The method: a structural feature and its one-hot dense slot. */
function methodFeatures(x: Extractor, method: string, dense: Float32Array): void {
  const cap = x.spec.caps.method;
  const m = (method.length > cap ? method.slice(0, cap) : method).toUpperCase();
  x.emitMeta(NS_METHOD, m, G_SINGLE, ST_METHOD);
  x.params[0] = fnvString(m);
  if (m === "GET") dense[D_GET] = 1;
  else if (m === "POST") dense[D_POST] = 1;
  else if (m === "HEAD" || m === "OPTIONS") dense[D_HEADOPT] = 1;
  else if (m === "PUT" || m === "PATCH" || m === "DELETE") dense[D_PUTDEL] = 1;
  else dense[D_OTHERM] = 1;
}

/** The path: its text field, the shapes of its first six segments and its file extension. */
function pathFeatures(x: Extractor, path: string): void {
  const f = x.field(NS_PATH, path, x.spec.caps.path, IS_VALUE, 0);
  if (f < 0) return;
  const buf = x.buf;
  const end = x.fEnd[f];
  let segs = 0;
  let p = x.fStart[f] + 1;
  let lastSegStart = p, lastSegEnd = p;
  while (p < end) {
    while (p < end && buf[p] === 47) p++;
    if (p >= end) break;
    const s0 = p;
    let allDigit = true, allHex = true;
    while (p < end && buf[p] !== 47) {
      const c = buf[p];
      if (c < 48 || c > 57) {
        allDigit = false;
        if (c < 97 || c > 102) allHex = false;
      }
      p++;
    }
    lastSegStart = s0, lastSegEnd = p;
    if (segs < 6) {
      const len = p - s0;
      let h = fnvStep(x.metaSeeds[NS_PSHAPE], segs);
      let label = "";
      if (allDigit) h = fnvStep(h, 0x10001), label = "#digits";
      else if (allHex && len >= 8) h = fnvStep(h, 0x10002), label = "#hex";
      else if (len > 40) h = fnvStep(h, 0x10003), label = "#long";
      if (label !== "") x.structural(ST_PATH, h, G_SHAPES);
      else {
        for (let k = s0; k < p; k++) h = fnvStep(h, buf[k]);
        x.siteToken(ST_PATH, h);
      }
      x.params[0] = fnvStep(x.params[0], h);
      if (x.trace) {
        x.traceAdd(x.lastBucket, `pshape:${segs}:${label || String.fromCharCode(...buf.subarray(s0, p))}`);
      }
    }
    segs++;
  }
  x.stats.pathSegments = segs;
  // Extension of the last segment (".php", ".bak", "~" backups).
  if (lastSegEnd > lastSegStart) {
    if (buf[lastSegEnd - 1] === 126) x.emitMeta(NS_EXT, "~", G_SINGLE, ST_EXT);
    else {
      let dot = lastSegEnd - 1;
      while (dot > lastSegStart && buf[dot] !== 46 && lastSegEnd - dot <= 9) dot--;
      if (buf[dot] === 46 && dot < lastSegEnd - 1 && lastSegEnd - dot <= 9) {
        x.emitMeta(NS_EXT, String.fromCharCode(...buf.subarray(dot + 1, lastSegEnd)), G_SINGLE, ST_EXT);
      }
    }
  }
}

/** The query string (already cut to its cap): its parameters. */
function queryFeatures(x: Extractor, query: string): void {
  x.stats.queryParams = paramFeatures(x, NS_QKEY, NS_QVAL, query);
}

/** `a=1&b=2` (query strings and form bodies, `+` as space). Returns the number of parameters read. */
function paramFeatures(x: Extractor, kns: number, vns: number, s: string): number {
  const max = x.spec.caps.params;
  let n = 0;
  let at = 0;
  while (at <= s.length) {
    let amp = s.indexOf("&", at);
    if (amp < 0) amp = s.length;
    if (amp > at) {
      if (n === max) {
        x.stats.truncated = true;
        break;
      }
      const eq = s.indexOf("=", at);
      if (eq >= 0 && eq < amp) x.pair(kns, vns, s.slice(at, eq), s.slice(eq + 1, amp), PLUS_AS_SPACE);
      else x.pair(kns, vns, s.slice(at, amp), null, PLUS_AS_SPACE);
      n++;
    }
    at = amp + 1;
  }
  return n;
}

/**
 * The headers, in sorted order: which ones were sent is a site token each (context, the site profile's);
 * their values are text fields of their own namespaces, cookies parsed into pairs. Returns the content type.
 */
function headerFeatures(x: Extractor, headers: readonly [string, string][]): string {
  const caps = x.spec.caps, stats = x.stats;
  let contentType = "";
  let n = 0;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (SKIP_HEADERS.has(name) || name.startsWith("cf-")) continue;
    if (n === caps.headers) {
      stats.truncated = true;
      break;
    }
    n++;
    // Which headers a client sends is context: the site profile's, not the global vector's.
    x.siteToken(ST_HEADER, fnvString(name.length > 64 ? name.slice(0, 64) : name, x.metaSeeds[NS_HNAME]));
    switch (name) {
      case "user-agent":
        stats.hasUserAgent = true;
        x.field(NS_UA, value, caps.headerValue, 0, 0);
        userAgentRest(x, value.length > caps.headerValue ? value.slice(0, caps.headerValue) : value);
        break;
      case "referer":
        x.field(NS_REFERER, value, caps.headerValue, 0, 0);
        refererValues(x, value.length > caps.headerValue ? value.slice(0, caps.headerValue) : value);
        break;
      case "cookie":
        cookieFeatures(
          x,
          value.length > caps.headerValue * 4 ? value.slice(0, caps.headerValue * 4) : value,
        );
        break;
      case "content-type":
        contentType = value.length > 256 ? value.slice(0, 256) : value;
        x.field(NS_CTYPE, value, caps.headerValue, 0, 0);
        break;
      case "accept":
        stats.hasAccept = true;
        x.field(NS_ACCEPT, value, caps.headerValue, 0, 0);
        break;
      case "accept-language":
      case "accept-encoding":
        x.field(NS_ACCEPT, value, caps.headerValue, 0, 0);
        break;
      case "x-forwarded-for":
      case "x-real-ip":
      case "x-client-ip":
        x.field(NS_HOTHER, value, caps.headerValue, 0, 0);
        forwardedValues(x, value.length > caps.headerValue ? value.slice(0, caps.headerValue) : value);
        break;
      default:
        x.field(NS_HOTHER, value, caps.headerValue, 0, 0);
    }
  }
  stats.headers = n;
  return contentType;
}

/** Values read from a referer's query. */
const REFERER_PARAMS = 16;

/**
 * A referer is a link, and what follows its `?` is a query like the request's own: its values are value fields
 * of the query's namespace (without their names, site tokens or value-profile entries: they are another
 * page's parameters), so a payload in a referer's link weighs as it would in the request's own query. A
 * referer that is not an absolute URL is not one a browser sends: its whole text is such a value. The
 * referer's text stays a context field as well.
 */
function refererValues(x: Extractor, s: string): void {
  const cap = x.spec.caps.value;
  if (!isAbsoluteUrl(s)) {
    x.field(NS_QVAL, s, cap, IS_VALUE, 0);
    return;
  }
  const q = s.indexOf("?");
  if (q < 0) return;
  let end = s.indexOf("#", q);
  if (end < 0) end = s.length;
  let n = 0;
  for (let at = q + 1; at < end && n < REFERER_PARAMS;) {
    let amp = s.indexOf("&", at);
    if (amp < 0 || amp > end) amp = end;
    // The name ends at the segment's first `=`, searched within the segment only: linear in the referer.
    let from = at;
    while (from < amp && codeAt(s, from) !== 61) from++;
    from = from < amp ? from + 1 : at;
    if (amp > from) {
      x.field(NS_QVAL, s.slice(from, amp), cap, PLUS_AS_SPACE | IS_VALUE, 0);
      n++;
    }
    at = amp + 1;
  }
}

/**
 * A user agent is a list of products (`name/version`) and comments (`(…)`, or `[…]` as in-app browsers write
 * them): from the first part that is neither (a comment counts as neither when it holds quotes, angle
 * brackets, braces, `$`, `|`, a backslash or a backtick), the rest is text a client wrote there, a value field
 * of the query's namespace like a referer's (`refererValues`). A payload appended to a browser's whole user
 * agent is read as it would be in a query.
 */
function userAgentRest(x: Extractor, s: string): void {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = codeAt(s, i);
    if (c === 32) {
      i++;
      continue;
    }
    const start = i;
    if (c === 40 || c === 91) {
      let depth = 0, odd = false;
      for (; i < n; i++) {
        const d = codeAt(s, i);
        if (d === 40 || d === 91) depth++;
        else if ((d === 41 || d === 93) && --depth === 0) break;
        else if (UA_ODD[d] === 1) odd = true;
      }
      if (odd || i === n) return restOf(x, s, start);
      i++;
    } else {
      for (; i < n && codeAt(s, i) !== 32; i++) {
        const d = codeAt(s, i);
        if (d >= 128 || UA_PRODUCT[d] === 0) return restOf(x, s, start);
      }
    }
  }
}

/** The user agent's text from `from` on, as a query value (`userAgentRest`). */
function restOf(x: Extractor, s: string, from: number): void {
  x.field(NS_QVAL, s.slice(from), x.spec.caps.value, IS_VALUE, 0);
}

/** Characters of a user agent's product tokens: letters, digits and `._+-~/:;,`. */
const UA_PRODUCT = new Uint8Array(128);
for (const ch of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-~/:;,") {
  UA_PRODUCT[ch.charCodeAt(0)] = 1;
}
/** Characters that a user agent's comment does not hold: quotes, angle brackets, braces, `$`, `|`, `\`. */
const UA_ODD = new Uint8Array(128);
for (const ch of "'\"`<>{}$|\\") UA_ODD[ch.charCodeAt(0)] = 1;

/** Entries of a forwarding header read. */
const FORWARDED_ENTRIES = 8;

/**
 * A forwarding header (`x-forwarded-for` and its kin) lists addresses: an entry that is not one (digits, hex,
 * `.`, `:`, brackets, or `unknown`) is text a client wrote there, a value field of the query's namespace like
 * a referer's (`refererValues`).
 */
function forwardedValues(x: Extractor, s: string): void {
  let n = 0;
  for (let at = 0; at < s.length && n < FORWARDED_ENTRIES; n++) {
    let comma = s.indexOf(",", at);
    if (comma < 0) comma = s.length;
    let a = at, b = comma;
    while (a < b && codeAt(s, a) === 32) a++;
    while (b > a && codeAt(s, b - 1) === 32) b--;
    if (b > a && !isAddress(s, a, b)) x.field(NS_QVAL, s.slice(a, b), x.spec.caps.value, IS_VALUE, 0);
    at = comma + 1;
  }
}

/** Whether `s[a, b)` is an address as proxies write them: IPv4 or IPv6 (with port, brackets), or `unknown`. */
function isAddress(s: string, a: number, b: number): boolean {
  if (b - a > 64) return false;
  if (b - a === 7 && s.slice(a, b).toLowerCase() === "unknown") return true;
  for (let i = a; i < b; i++) {
    const c = codeAt(s, i), l = c | 32;
    if (!((c >= 48 && c <= 58) || (l >= 97 && l <= 102) || c === 46 || c === 91 || c === 93)) return false;
  }
  return true;
}

/** `scheme://…`: a scheme of a letter and up to 31 letters, digits, `+`, `-` or `.`, then `://`. */
function isAbsoluteUrl(s: string): boolean {
  const c0 = codeAt(s, 0) | 32;
  if (c0 < 97 || c0 > 122) return false;
  for (let i = 1; i < 33 && i < s.length; i++) {
    const c = codeAt(s, i);
    if (c === 58) return codeAt(s, i + 1) === 47 && codeAt(s, i + 2) === 47;
    const l = c | 32;
    if (!((l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return false;
  }
  return false;
}

/** The cookie header: `a=1; b=2`, each cookie a pair. */
function cookieFeatures(x: Extractor, s: string): void {
  const max = x.spec.caps.cookies;
  let n = 0;
  let at = 0;
  while (at <= s.length) {
    let semi = s.indexOf(";", at);
    if (semi < 0) semi = s.length;
    let a = at, b = semi;
    while (a < b && codeAt(s, a) === 32) a++;
    while (b > a && codeAt(s, b - 1) === 32) b--;
    if (b > a) {
      if (n === max) {
        x.stats.truncated = true;
        break;
      }
      const eq = s.indexOf("=", a);
      if (eq >= 0 && eq < b) x.pair(NS_CKEY, NS_CVAL, s.slice(a, eq), s.slice(eq + 1, b), IS_COOKIE);
      else x.pair(NS_CKEY, NS_CVAL, s.slice(a, b), null, IS_COOKIE);
      n++;
    }
    at = semi + 1;
  }
  x.stats.cookies = n;
}

/**
 * A body's kind by its content type: `multipart`, `form`, `json`, `xml`, `binary` or `text`; `""` when the
 * type says nothing (the text is sniffed then: `sniffBody`).
 */
export function contentKind(contentType: string): string {
  const ct = contentType.toLowerCase();
  if (ct.startsWith("multipart/form-data")) return "multipart";
  if (ct.startsWith("application/x-www-form-urlencoded")) return "form";
  if (ct.includes("json")) return "json";
  if (ct.includes("xml")) return "xml";
  if (
    ct.startsWith("image/") || ct.startsWith("audio/") || ct.startsWith("video/") ||
    ct.startsWith("font/") ||
    ct.startsWith("application/octet-stream") || ct.startsWith("application/pdf") ||
    ct.startsWith("application/zip") || ct.startsWith("application/gzip")
  ) return "binary";
  if (ct.startsWith("text/")) return "text";
  return "";
}

/** The body: its kind (from the content type, else sniffed), then its parameters or its text. */
function bodyFeatures(x: Extractor, bytes: Uint8Array, contentType: string): void {
  let kind = contentKind(contentType);
  if (kind === "binary") {
    x.emitMeta(NS_BKIND, kind, G_SINGLE, ST_BODY);
    return;
  }
  const text = utf8.decode(bytes);
  let bad = 0;
  for (let i = text.indexOf("\ufffd"); i >= 0; i = text.indexOf("\ufffd", i + 1)) bad++;
  x.stats.bodyInvalidUtf8 += bad;
  if (kind === "") kind = sniffBody(text);
  x.emitMeta(NS_BKIND, kind, G_SINGLE, ST_BODY);
  if (kind === "form") x.stats.bodyParams += paramFeatures(x, NS_BKEY, NS_BVAL, text);
  else if (kind === "json") jsonFeatures(x, text);
  else if (kind === "multipart") multipartFeatures(x, text, contentType);
  else x.field(NS_BTEXT, text, x.spec.caps.body, IS_VALUE, 0);
}

/**
 * A JSON body, by a tolerant, linear scanner: every key is a field, every string or number value a field
 * tied to the nearest key (for its shape); depth is tracked up to the cap; truncated JSON simply ends.
 */
function jsonFeatures(x: Extractor, s: string): void {
  const stats = x.stats;
  const maxDepth = x.spec.caps.jsonDepth;
  const maxParams = x.spec.caps.params;
  const valueCap = x.spec.caps.value;
  const keyAt = new Int32Array(maxDepth + 2); // key hash that opened each container level
  let depth = 0;
  let pending = 0; // hash of a key whose value comes next
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = codeAt(s, i);
    if (c === 123 || c === 91) {
      depth++;
      if (depth > stats.jsonDepth) stats.jsonDepth = depth;
      if (depth <= maxDepth) keyAt[depth] = pending;
      pending = 0;
      i++;
    } else if (c === 125 || c === 93) {
      if (depth > 0) depth--;
      pending = 0;
      i++;
    } else if (c === 34) {
      // String: one-letter escapes are undone here; \uXXXX is left to the field decoder.
      let j = i + 1;
      let out = "";
      let from = j;
      while (j < n) {
        const d = codeAt(s, j);
        if (d === 34) break;
        if (d === 92 && j + 1 < n) {
          const rep = jsonEscape(codeAt(s, j + 1));
          if (rep !== null) {
            out += s.slice(from, j) + rep;
            j += 2;
            from = j;
            continue;
          }
        }
        j++;
      }
      out += s.slice(from, j);
      i = j + 1;
      let k = i;
      while (k < n && codeAt(s, k) <= 32) k++;
      if (stats.bodyParams >= maxParams) {
        stats.truncated = true;
        return;
      }
      stats.bodyParams++;
      if (codeAt(s, k) === 58 /* : */) {
        pending = x.key(NS_BKEY, out, 0);
        i = k + 1;
      } else {
        x.field(NS_BVAL, out, valueCap, IS_VALUE, pending || (depth <= maxDepth ? keyAt[depth] : 0));
        x.base64Value(NS_BVAL, out);
        pending = 0;
      }
    } else if ((c >= 48 && c <= 57) || c === 45) {
      let j = i + 1;
      while (j < n) {
        const d = codeAt(s, j);
        if (!((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45)) break;
        j++;
      }
      if (stats.bodyParams >= maxParams) {
        stats.truncated = true;
        return;
      }
      stats.bodyParams++;
      const number = s.slice(i, j);
      x.field(NS_BVAL, number, valueCap, IS_VALUE, pending || (depth <= maxDepth ? keyAt[depth] : 0));
      pending = 0;
      i = j;
    } else {
      if (c === 44 /* , */) pending = 0;
      i++;
    }
  }
}

/** Where one part of a multipart text lies (`nextPart`). */
export interface PartSpan {
  /** Its head's first character. */
  headStart: number;
  /** The end of its head; -1 when the part has no head (it is skipped, and counts as a part all the same). */
  headEnd: number;
  /** Its content: `[bodyStart, bodyEnd)`, the line break before the next delimiter left out. */
  bodyStart: number;
  bodyEnd: number;
  /** Where the next delimiter starts; -1 when there is none. */
  next: number;
}

/**
 * The part of a multipart text whose delimiter starts at `at`, into `out`. One pass of `indexOf`s; the
 * extractor and the overflow views read parts the same way.
 *
 * @returns `false` when there is no part there (the closing delimiter, or no line after it).
 */
export function nextPart(s: string, delim: string, at: number, out: PartSpan): boolean {
  const lineEnd = s.indexOf("\n", at + delim.length);
  if (lineEnd < 0 || s.startsWith("--", at + delim.length)) return false;
  const headStart = lineEnd + 1;
  let headEnd = s.indexOf("\r\n\r\n", headStart);
  let bodyStart = headEnd + 4;
  const lf = s.indexOf("\n\n", headStart);
  if (headEnd < 0 || (lf >= 0 && lf < headEnd)) headEnd = lf, bodyStart = lf + 2;
  const next = s.indexOf(delim, headStart);
  out.headStart = headStart;
  out.next = next;
  if (headEnd < 0 || (next >= 0 && headEnd > next)) {
    out.headEnd = -1;
    return true;
  }
  let bodyEnd = next < 0 ? s.length : next;
  if (codeAt(s, bodyEnd - 1) === 10) bodyEnd--;
  if (codeAt(s, bodyEnd - 1) === 13) bodyEnd--;
  out.headEnd = headEnd;
  out.bodyStart = bodyStart;
  out.bodyEnd = bodyEnd;
  return true;
}

/** Whether a part's content type is one whose content is not text (its content is not read). */
export function isBinaryPart(partType: string): boolean {
  return partType.startsWith("image/") || partType.startsWith("application/octet-stream") ||
    partType.startsWith("video/") || partType.startsWith("audio/");
}

/** A multipart body: each part's name and content a pair, its filename another, its type a body kind. */
function multipartFeatures(x: Extractor, s: string, contentType: string): void {
  const caps = x.spec.caps, stats = x.stats;
  const boundary = boundaryOf(contentType);
  if (boundary === "") {
    x.field(NS_BTEXT, s, caps.body, IS_VALUE, 0);
    return;
  }
  const delim = "--" + boundary;
  const part: PartSpan = { headStart: 0, headEnd: -1, bodyStart: 0, bodyEnd: 0, next: -1 };
  let at = s.indexOf(delim);
  let parts = 0;
  while (at >= 0 && nextPart(s, delim, at, part)) {
    if (parts === caps.parts) {
      stats.truncated = true;
      break;
    }
    parts++;
    at = part.next;
    if (part.headEnd < 0) continue;
    const { headStart, headEnd, bodyStart, bodyEnd } = part;
    const head = s.slice(headStart, Math.min(headEnd, headStart + 2048));
    const { name, filename, stray } = disposition(head);
    const partType = headerValueOf(head, "content-type").toLowerCase();
    const content = bodyEnd > bodyStart
      ? s.slice(bodyStart, Math.min(bodyEnd, bodyStart + caps.partContent))
      : "";
    if (bodyEnd - bodyStart > caps.partContent) stats.truncated = true;
    stats.bodyParams++;
    x.pair(NS_BKEY, NS_BVAL, name ?? "", isBinaryPart(partType) ? "" : content, 0);
    if (filename !== null) x.pair(NS_BKEY, NS_BVAL, "filename", filename, 0);
    if (stray !== "") x.field(NS_BVAL, stray, caps.value, IS_VALUE, 0);
    if (partType) x.emitMeta(NS_BKIND, "part:" + partType.slice(0, 40), G_SINGLE, ST_BODY);
  }
}

/**
 * The dense block (all but the method's one-hot slots), from the request's statistics and lengths.
 *
 * @param path The path as read.
 * @param query The query, cut to its cap.
 */
function denseFeatures(
  x: Extractor,
  view: RequestView,
  path: string,
  query: string,
  dense: Float32Array,
): void {
  const spec = x.spec, caps = spec.caps, st = x.stats, ev = st.decode;
  const vc = st.valueChars;
  dense[D_PATHLEN] = logScale(path.length, caps.path);
  dense[D_QUERYLEN] = logScale(query.length, caps.query);
  dense[D_BODYLEN] = logScale(view.body === null ? 0 : view.body.length, caps.body);
  dense[D_QPARAMS] = logScale(st.queryParams, caps.params);
  dense[D_PATHSEGS] = logScale(st.pathSegments, 64);
  dense[D_BPARAMS] = logScale(st.bodyParams, caps.params);
  dense[D_HEADERS] = logScale(st.headers, caps.headers);
  dense[D_COOKIES] = logScale(st.cookies, caps.cookies);
  dense[D_DEPTH] = Math.min(ev.depth, spec.decodeRounds) / spec.decodeRounds;
  dense[D_INVALID] = logScale(ev.invalidEscapes, 64);
  dense[D_UNIESC] = logScale(ev.unicodeEscapes, 64);
  dense[D_ENTITIES] = logScale(ev.htmlEntities, 64);
  dense[D_CONTROL] = logScale(st.control, 64);
  dense[D_QUOTE] = vc > 0 ? st.quote / vc : 0;
  dense[D_ANGLE] = vc > 0 ? st.angle / vc : 0;
  dense[D_PARENSEMI] = vc > 0 ? st.parenSemi / vc : 0;
  dense[D_SHELLCH] = vc > 0 ? st.shellCh / vc : 0;
  dense[D_NONALNUM] = vc > 0 ? st.nonAlnum / vc : 0;
  dense[D_ENTROPY] = Math.min(1, st.maxEntropy / 8);
  dense[D_DIGIT] = vc > 0 ? st.digits / vc : 0;
  dense[D_UPPER] = vc > 0 ? Math.min(1, st.upper / vc) : 0;
  dense[D_JSONDEPTH] = Math.min(1, st.jsonDepth / caps.jsonDepth);
  dense[D_TRUNC] = st.truncated ? 1 : 0;
  dense[D_KWSQL] = logScale(st.kwSql, 32);
  dense[D_KWSHELL] = logScale(st.kwShell, 32);
  dense[D_KWHTML] = logScale(st.kwHtml, 32);
  dense[D_KWPATH] = logScale(st.kwPath, 32);
  dense[D_TMPL] = logScale(st.template, 32);
  dense[D_NOUA] = st.hasUserAgent ? 0 : 1;
  dense[D_NOACCEPT] = st.hasAccept ? 0 : 1;
  dense[D_NONASCII] = vc > 0 ? st.nonAscii / vc : 0;
  dense[D_COMMENTS] = logScale(st.comments, 32);
  dense[D_DOTDOT] = logScale(st.dotdot, 32);
  if (view.rawTarget !== undefined) {
    const raw = rawPathEvidence(view.rawTarget, caps.path);
    dense[D_RAWDOTS] = logScale(raw.dots, 32);
    dense[D_RAWBACKSLASH] = logScale(raw.backslashes, 32);
  }
  dense[D_MAXVAL] = logScale(st.maxValueLen, caps.value);
  dense[D_BADUTF8] = logScale(ev.invalidUtf8 + st.bodyInvalidUtf8, 64);
}

/**
 * What WHATWG normalisation removes from a path as sent: dot segments (`.`, `..`, `%2e%2e`, `.%2e`) and
 * backslashes. Counted on the raw target before the canonical one is scored, so `/a/../../etc/passwd` keeps
 * its traversal as evidence. One pass over at most `cap` characters of the path.
 */
export function rawPathEvidence(raw: string, cap: number): { dots: number; backslashes: number } {
  let dots = 0, backslashes = 0, units = 0, other = false;
  const n = Math.min(raw.length, cap);
  for (let i = 0; i <= n; i++) {
    const c = i < n ? raw.charCodeAt(i) : 47;
    if (c === 63 || c === 35) {
      if (!other && units > 0 && units <= 2) dots++;
      break;
    }
    if (c === 47 || c === 92) {
      if (!other && units > 0 && units <= 2) dots++;
      if (c === 92) backslashes++;
      units = 0, other = false;
    } else if (c === 46) units++;
    else if (c === 37 && raw.charCodeAt(i + 1) === 50 && (raw.charCodeAt(i + 2) | 32) === 101) {
      units++, i += 2;
    } else other = true;
  }
  return { dots, backslashes };
}

/** Base64 digit values by character code (both alphabets, `+/` and `-_`); -1: not a digit. */
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_VALUE["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;
}
B64_VALUE[45] = 62, B64_VALUE[95] = 63;
/** Fewest base64 digits read as text (12 bytes): shorter values are words and ids. */
const B64_MIN_DIGITS = 16;

/**
 * The text a value holds as base64, or null: at least `B64_MIN_DIGITS` digits of either alphabet, upper and
 * lower case both present (a word or a hex id is not base64), optional `=` padding (also `%3D`, and `%2B`,
 * `%2F` for the digits), nothing else; decoded, at least 90 % of its bytes printable ASCII (its whitespace,
 * tab to carriage return, included). Returned as Latin-1 (one character per byte: UTF-8 text keeps its bytes
 * for the decoder). Of a value longer than `cap`, the first `cap` characters are read, as the value's own
 * field is cut there.
 *
 * @param raw The value as sent (before percent-decoding).
 * @param cap Most characters read.
 * @param out Scratch of at least `ceil(cap / 4) * 3` bytes.
 */
export function base64Text(raw: string, cap: number, out: Uint8Array): string | null {
  const cut = raw.length > cap;
  const n = cut ? cap : raw.length;
  if (n < B64_MIN_DIGITS) return null;
  let acc = 0, bits = 0, bytes = 0, digits = 0, pad = 0, upper = 0, lower = 0;
  for (let i = 0; i < n; i++) {
    let c = raw.charCodeAt(i);
    if (c === 37 /* % */) {
      if (i + 2 >= n) {
        if (cut) break; // an escape cut by the cap: read what came before it
        return null;
      }
      const h = raw.charCodeAt(i + 1), l = raw.charCodeAt(i + 2) | 32;
      if (h === 50 && l === 98) c = 43; // %2B
      else if (h === 50 && l === 102) c = 47; // %2F
      else if (h === 51 && l === 100) c = 61; // %3D
      else return null;
      i += 2;
    }
    if (c === 61 /* = */) {
      if (++pad > 2) return null;
      continue;
    }
    const v = c < 128 ? B64_VALUE[c] : -1;
    if (v < 0 || pad > 0) return null;
    if (c >= 65 && c <= 90) upper++;
    else if (c >= 97 && c <= 122) lower++;
    digits++;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[bytes++] = (acc >>> bits) & 255;
    }
  }
  if (digits < B64_MIN_DIGITS || upper === 0 || lower === 0 || (digits % 4 === 1 && !cut)) return null;
  let printable = 0;
  for (let i = 0; i < bytes; i++) {
    const b = out[i];
    if ((b >= 32 && b < 127) || (b >= 9 && b <= 13)) printable++; // text and its whitespace (\t \n \v \f \r)
  }
  if (printable * 10 < bytes * 9) return null;
  let text = "";
  for (let i = 0; i < bytes; i += 1024) {
    text += String.fromCharCode(...out.subarray(i, Math.min(bytes, i + 1024)));
  }
  return text;
}

/**
 * One request, phase 1 family by family (the order fixes the order of events, and so every sum), then
 * phases 2 and 3 and the dense block. Leaves the sparse output in the extractor's accumulator.
 */
function run(x: Extractor, view: RequestView, dense: Float32Array, trace: FeatureTrace | undefined): void {
  x.reset();
  x.trace = trace ?? null;
  const target = view.target;
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  let query = q < 0 ? "" : target.slice(q + 1);
  if (query.length > x.spec.caps.query) {
    query = query.slice(0, x.spec.caps.query);
    x.stats.truncated = true;
  }

  methodFeatures(x, view.method, dense);
  pathFeatures(x, path);
  queryFeatures(x, query);
  const contentType = headerFeatures(x, view.headers);
  if (view.body !== null && view.body.length > 0) bodyFeatures(x, view.body, contentType);
  if (view.bodyTruncated) x.stats.truncated = true;

  x.featurise();
  x.trace = null;
  denseFeatures(x, view, path, query, dense);
}

// ---- helpers: trace labels, body sniffing, multipart headers -------------------------------------------

/**
 * Whether decoded text holds a character no parameter name of a real site has: a space, a quote, markup,
 * brackets of code, a statement or pipe separator, a backslash or `=` (`[` `]` `.` `-` `$` `:` are names').
 */
export function textMarks(buf: Uint16Array, from: number, to: number): boolean {
  for (let p = from; p < to; p++) {
    switch (buf[p]) {
      case 32:
      case 34:
      case 39:
      case 40:
      case 41:
      case 59:
      case 60:
      case 61:
      case 62:
      case 92:
      case 96:
      case 123:
      case 124:
      case 125:
        return true;
    }
  }
  return false;
}

function label(buf: Uint16Array, at: number, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const c = buf[at + i];
    s += c === MARK_START ? "^" : c === MARK_END ? "$" : String.fromCharCode(c);
  }
  return s;
}

function jsonEscape(e: number): string | null {
  switch (e) {
    case 34:
      return '"';
    case 92:
      return "\\";
    case 47:
      return "/";
    case 110:
      return "\n";
    case 116:
      return "\t";
    case 114:
      return "\r";
    case 98:
      return "\b";
    case 102:
      return "\f";
    default:
      return null;
  }
}

/** The kind of a body whose content type says nothing, from its first characters. */
export function sniffBody(text: string): string {
  let i = 0;
  while (i < text.length && codeAt(text, i) <= 32) i++;
  const c = codeAt(text, i);
  if (c === 123 || c === 91) return "json";
  if (c === 60) return "xml";
  const head = text.slice(i, i + 256);
  if (head.indexOf("=") > 0 && head.indexOf(" ") < 0 && head.indexOf("\n") < 0) return "form";
  return "text";
}

/** The boundary of a multipart content type; `""` when it has none (or an invalid one). */
export function boundaryOf(contentType: string): string {
  const lower = contentType.toLowerCase();
  const at = lower.indexOf("boundary=");
  if (at < 0) return "";
  let v = contentType.slice(at + 9);
  const semi = v.indexOf(";");
  if (semi >= 0) v = v.slice(0, semi);
  v = v.trim();
  if (v.length >= 2 && codeAt(v, 0) === 34 && codeAt(v, v.length - 1) === 34) v = v.slice(1, -1);
  return v.length > 0 && v.length <= 70 ? v : "";
}

/** A header's value in a multipart part's head; `""` when absent. */
export function headerValueOf(head: string, name: string): string {
  const lower = head.toLowerCase();
  let at = lower.indexOf(name + ":");
  while (at > 0 && codeAt(lower, at - 1) !== 10) at = lower.indexOf(name + ":", at + 1);
  if (at < 0) return "";
  let end = head.indexOf("\n", at);
  if (end < 0) end = head.length;
  return head.slice(at + name.length + 1, end).trim();
}

/** Whether `s` is an HTTP token of the kind a disposition type or a parameter's name is (`form-data`, `size`). */
function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = codeAt(s, i);
    const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
    if (!(letter || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 42)) return false;
  }
  return s.length > 0;
}

/** A part's Content-Disposition as read: its name and file name (unquoted; null when absent), and stray text. */
interface Disposition {
  name: string | null;
  filename: string | null;
  /** What is neither the disposition type nor a `token=value` parameter (`name="a"; DROP TABLE t--"`: `DROP TABLE t--"`). */
  stray: string;
}

/**
 * A part's Content-Disposition, by one linear pass: parameters split at `;` outside quotes, a quoted value
 * ends at its closing quote (`\` escapes the next character), and text after a closing quote stays in the
 * value (`name="a" OR "1"="1"` reads `"a" OR "1"="1"`), so a payload in a name is read whole whatever its
 * quotes and semicolons. `filename*` (RFC 5987) counts as the file name when there is no plain one.
 */
function disposition(head: string): Disposition {
  const out: Disposition = { name: null, filename: null, stray: "" };
  const cd = headerValueOf(head, "content-disposition");
  let extended: string | null = null;
  let at = 0, piece = 0;
  while (at <= cd.length) {
    // One parameter: up to a `;` outside quotes.
    let i = at, quoted = false, quotes = 0;
    while (i < cd.length) {
      const c = codeAt(cd, i);
      if (quoted && c === 92 /* \ */) i++;
      else if (c === 34) quoted = !quoted, quotes++;
      else if (c === 59 /* ; */ && !quoted) break;
      i++;
    }
    const text = cd.slice(at, Math.min(i, cd.length)).trim();
    const eq = text.indexOf("=");
    const param = eq > 0 ? text.slice(0, eq).trim().toLowerCase() : "";
    let v = eq > 0 ? text.slice(eq + 1).trim() : "";
    if (quotes === 2 && v.length >= 2 && codeAt(v, 0) === 34 && codeAt(v, v.length - 1) === 34) {
      v = v.slice(1, -1);
    }
    if (param === "name" && out.name === null) out.name = v;
    else if (param === "filename" && out.filename === null) out.filename = v;
    else if (param === "filename*" && extended === null) extended = v;
    else if (text !== "" && !(piece === 0 ? eq < 0 && isToken(text) : eq > 0 && isToken(param))) {
      out.stray += (out.stray ? " " : "") + text; // not the type (`form-data`), not another parameter (`size=3`)
    }
    piece++;
    at = i + 1;
  }
  if (out.filename === null) out.filename = extended;
  return out;
}

const extractors = new WeakMap<object, Extractor>();

function extractorFor(spec: Readonly<FeatureSpec>): Extractor {
  let x = extractors.get(spec);
  if (x === undefined) {
    x = new Extractor(spec);
    extractors.set(spec, x);
  }
  return x;
}

/** What the last extraction did, for tests that bound the work per request by counting it. */
export interface ExtractionWork {
  /** Text fields read. */
  fields: number;
  /** Code units written to the canonical buffer (every n-gram and token pass is linear in these). */
  chars: number;
  /** Token and meta features emitted. */
  events: number;
  /** Non-zero buckets. */
  nnz: number;
}

/** The work counters of the last extraction under `spec`. */
export function lastExtractionWork(spec: Readonly<FeatureSpec> = FEATURE_SPEC): ExtractionWork {
  const x = extractorFor(spec);
  return { fields: x.nFields, chars: x.len, events: x.nEvents, nnz: x.nnz };
}

/** A reusable output buffer for the hot path: capacity D, `nnz` entries valid after each extraction. */
export interface FeatureBuffer {
  indices: Int32Array;
  values: Float32Array;
  dense: Float32Array;
  nnz: number;
  /** Structure tokens; the first `nStructure` are valid. */
  structure: Int32Array;
  nStructure: number;
  /** The endpoint and listed values (`FeatureVector.params`); the first `1 + nParams · PARAM_WORDS` are valid. */
  params: Int32Array;
  nParams: number;
}

/** A buffer that can hold the features of any request under `spec`. */
export function newFeatureBuffer(spec: Readonly<FeatureSpec> = FEATURE_SPEC): FeatureBuffer {
  return {
    indices: new Int32Array(spec.dim),
    values: new Float32Array(spec.dim),
    dense: new Float32Array(DENSE_DIM),
    nnz: 0,
    structure: new Int32Array(MAX_STRUCTURE),
    nStructure: 0,
    params: new Int32Array(1 + MAX_PARAMS * PARAM_WORDS),
    nParams: 0,
  };
}

/**
 * Computes the features of a request.
 *
 * @param view The request, from `viewFromRequest` (worker) or `viewFromRecord` (training).
 * @param spec The feature spec (default: the shipped one).
 * @param trace When given, filled with bucket → names of what was hashed there (for explanations).
 * @returns Sorted unique indices in `[0, D)`, their values, and the dense block, in arrays of their own.
 * @example
 * ```ts
 * import { extractFeatures, viewFromRecord, FEATURE_SPEC } from "./mod.ts";
 * const fv = extractFeatures(viewFromRecord({ method: "GET", url: "/?q=1" }, FEATURE_SPEC.caps.body));
 * ```
 */
export function extractFeatures(
  view: RequestView,
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
  trace?: FeatureTrace,
): FeatureVector {
  const x = extractorFor(spec);
  const dense = new Float32Array(DENSE_DIM);
  run(x, view, dense, trace);
  const indices = new Int32Array(x.nnz);
  const values = new Float32Array(x.nnz);
  x.collect(indices, values);
  return {
    indices,
    values,
    dense,
    structure: x.structure.slice(0, x.nStructure),
    params: x.params.slice(0, 1 + x.nParams * PARAM_WORDS),
  };
}

/**
 * Computes the features of a request into a reusable buffer (the worker's hot path: no allocation for
 * the output). The same numbers as `extractFeatures`.
 *
 * @param view The request.
 * @param out A buffer from `newFeatureBuffer(spec)`; `out.nnz` is set.
 * @param spec The feature spec.
 * @returns `out`.
 */
export function extractFeaturesInto(
  view: RequestView,
  out: FeatureBuffer,
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
): FeatureBuffer {
  const x = extractorFor(spec);
  if (out.indices.length < spec.dim || out.dense.length !== DENSE_DIM) {
    throw new RangeError("extractFeaturesInto: buffer too small for this spec");
  }
  out.dense.fill(0);
  run(x, view, out.dense, undefined);
  out.nnz = x.nnz;
  x.collect(out.indices, out.values);
  out.structure.set(x.structure.subarray(0, x.nStructure));
  out.nStructure = x.nStructure;
  out.params.set(x.params.subarray(0, 1 + x.nParams * PARAM_WORDS));
  out.nParams = x.nParams;
  return out;
}

/** Number of text namespaces (for documentation and tests). */
export const TEXT_NAMESPACE_COUNT = TEXT_NAMESPACES;
