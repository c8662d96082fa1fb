/**
 * The options of `taugate()`, checked with zod once, when the factory runs.
 *
 * @module
 */
import type { Context } from "hono";
import { z } from "zod";
import { FEATURE_SPEC, INSPECT_BYTES, MAX_OVERFLOW_VIEWS } from "../features/mod.ts";
import type { Engine } from "../model/types.ts";
import { HeadCache, type HeadCacheOptions } from "../store/cached.ts";
import type { HeadStore } from "../store/types.ts";
import { Learner } from "../learn/learner.ts";
import { MAX_TARGET_BYTES } from "./canonical.ts";
import { parseCidr } from "./cidr.ts";
import { optionsError, parses } from "../util/zod.ts";
import { isHeaderName } from "./headers.ts";
import type { Same } from "../util/types.ts";
import { stripUndefined } from "../util/object.ts";

/** The modes, in one place (the middleware's option, `TAUGATE_MODE`, the tenant API's dry run). */
export const MODES = ["block", "tag", "log", "off"] as const;
/** The fail modes, in one place (`failMode`, `TAUGATE_FAIL_MODE`). */
export const FAIL_MODES = ["open", "closed"] as const;
/** The default mode and fail mode, in one place. */
export const DEFAULT_MODE: Mode = "block", DEFAULT_FAIL_MODE: FailMode = "open";
/** What the middleware does with a score: `block` (403 at or above τ), `tag` (headers), `log` only, `off`. */
export type Mode = typeof MODES[number];
/** What happens when the model cannot load or scoring throws: `open` lets the request through, `closed` 503s. */
export type FailMode = typeof FAIL_MODES[number];
/** An engine, or a function that makes one (called lazily, once per isolate; again after a failure). */
export type EngineSource = Engine | (() => Engine | Promise<Engine>);
/** The address of a request's client, for learning mode's per-client bound; `null`: unknown. */
export type ClientAddress = (c: Context) => string | null | undefined;

/** Maps a request to its tenant id; `null` or `undefined` means no tenant (the global head scores it). */
export type TenantResolver = (c: Context) => string | null | undefined;

/** Names of the decision headers (lower case). */
export interface DecisionHeaderNames {
  /** The score in [0, 1] (default `x-taugate-score`). */
  score: string;
  /** `allow`, `tag`, `block` or `error` (default `x-taugate-decision`). */
  decision: string;
  /** The model id (default `x-taugate-model`). */
  model: string;
  /** The tenant id, or `-` (default `x-taugate-tenant`). */
  tenant: string;
  /** Which head scored: `tenant`, `global`, `stale` or `store-error` (default `x-taugate-head`). */
  head: string;
}

/** A request header that excludes a request: by name alone, or by name and value (a monitoring secret). */
export interface HeaderRule {
  /** The header's name. */
  name: string;
  /** Its value (compared in constant time); without it, any value. */
  value?: string;
}

/** Requests that are not scored at all (no headers, no log line): static assets, health checks, preflights. */
export interface Exclusions {
  /** `/exact`, `/prefix/*` or `*.suffix` patterns on the URL path (not decoded, without the query). */
  paths?: string[];
  /** Methods, e.g. `["OPTIONS"]`. */
  methods?: string[];
  /** Media types of the request's `content-type`, e.g. `image/png` or `image/*`. */
  contentTypes?: string[];
  /** Client addresses or CIDR ranges (IPv4, IPv6), e.g. a monitor's: the address as `clientAddress` reads it. */
  clients?: string[];
  /** Headers, e.g. `{ name: "x-monitor", value: secret }` for an uptime monitor that sends a secret. */
  headers?: HeaderRule[];
}

/** The decision log. */
export interface LogOptions {
  /** Fraction of `allow` decisions logged (default 0.01). */
  sample?: number;
  /** Fraction of flagged (score ≥ τ) and `error` decisions logged (default 1). */
  flaggedSample?: number;
  /** Where lines go (default `console.log`). */
  sink?: (line: string) => void;
}

/** Options of `taugate()`. Only `engine` is required. */
export interface TaugateOptions {
  /** The backbone engine, or a function that creates it lazily (see `src/model/`). */
  engine: EngineSource;
  /** Default `block`. */
  mode?: Mode;
  /** Decision threshold in [0, 1]; default: the model's `meta.tau`. A tenant head's own τ wins over both. */
  tau?: number;
  /** Default: the request's host name (`null` for an IP literal in brackets or an invalid name). */
  tenant?: TenantResolver;
  /** Tenant heads: a store (wrapped in a `HeadCache` with `cache` options) or a cache; default none. */
  store?: HeadStore | HeadCache;
  /** Options of the `HeadCache` wrapped around `store`. */
  cache?: HeadCacheOptions;
  /** Default `open`. */
  failMode?: FailMode;
  /** Bytes of the body read for features, at most the feature spec's cap (default: that cap). */
  bodyCap?: number;
  /**
   * What the feature spec's read limits cut off (a value past 1,024 characters, parameters past 128, the
   * body past `bodyCap`, a header value past 512…) is scored too, as overflow views (`overflowViews`): the
   * request's score is the highest of its own and theirs, so padding does not hide a payload; and so are the
   * two most suspicious values of a request with several, each alone (value views), so that many ordinary
   * values do not water a payload down. `bodyBytes`:
   * body bytes inspected in all (default 64 KiB); `maxViews`: views per request (default 16);
   * `uninspected`: what a request gets when part of it was not inspected (its body went on past
   * `bodyBytes`, or it needed more views): `score` (default: scored on what was inspected; the log line says
   * `inspected: "partial"`) or `flag` (flagged: blocked in `block` mode, tagged in `tag` mode). `false`: only
   * what the caps read is scored.
   */
  overflow?: { bodyBytes?: number; maxViews?: number; uninspected?: "score" | "flag" } | false;
  /** Requests not scored. */
  exclude?: Exclusions;
  /** Names of the decision headers. */
  headers?: Partial<DecisionHeaderNames>;
  /**
   * Also tell the client: the decision headers (decision, score, model, tenant, head) on every response and
   * the score and τ in the 403 body. For debugging only — a client that sees its score can tune a payload
   * until it slips under τ. Default `false`: clients see a 403's `request_id` and nothing else; the origin
   * (the next handler) gets the decision headers in `tag` and `log` mode, and the log gets everything.
   */
  exposeToClient?: boolean;
  /** Decision log options, or `false` for none. */
  log?: LogOptions | false;
  /** After a failed engine load, requests fail fast (fail mode) for this long before a retry (default 10 000 ms). */
  engineRetryMs?: number;
  /**
   * Longest wait of a request for the engine, in ms: for its load (the request then gets the fail mode while
   * the load goes on) and for one call of an asynchronous engine such as ORT (default 5 000 ms).
   */
  engineTimeoutMs?: number;
  /**
   * Longest request target (path and query, canonical form) before a 414 (default 16 KiB). Requests are
   * put in canonical form first (`canonical.ts`): a host that is not one gets a 400, `CONNECT`, `TRACE`
   * and `TRACK` a 405.
   */
  maxTargetBytes?: number;
  /**
   * Learning mode (`src/learn/`): learn each tenant's score distribution and site profile from its live
   * traffic, in every mode. `true` learns in this isolate only; a `Learner` (give the same one to
   * `tenantApi({ learner })`, and a store to share it with other isolates) is what the worker uses.
   * Default `false`.
   */
  learn?: boolean | Learner;
  /**
   * The client's address, for learning's per-client bound. Default: `cf-connecting-ip` on workerd (set by
   * Cloudflare's edge), the socket's peer address on Deno (`Deno.serve`'s `remoteAddr`), else none. Behind
   * your own proxy, say which header it sets.
   */
  clientAddress?: ClientAddress;
}

/** Options after checking, with every default filled in. */
export interface ResolvedOptions {
  /** The engine or its lazy loader, as given. */
  engine: EngineSource;
  /** What the middleware does with a score (default `block`). */
  mode: Mode;
  /** The operator's τ in [0, 1]; `undefined`: the model's `meta.tau` (a tenant head's own τ wins over both). */
  tau: number | undefined;
  /** The tenant resolver given; `undefined`: the request's host name (`hostTenant`). */
  tenant: TenantResolver | undefined;
  /** The cache heads are read through: `store` itself if a `HeadCache`, else one around it; none without. */
  cache: HeadCache | undefined;
  /** What a request gets when the engine cannot load or scoring throws (default `open`). */
  failMode: FailMode;
  /** Bytes of the body read for features (default: the feature spec's cap). */
  bodyCap: number;
  /** Overflow views, defaults filled in; `false`: none. */
  overflow: { bodyBytes: number; maxViews: number; uninspected: "score" | "flag" } | false;
  /** The exclusions, every list present (default empty); methods upper case, media types lower case. */
  exclude: Required<Exclusions>;
  /** Every decision header's name, defaults filled in (`DEFAULT_HEADER_NAMES`); all distinct. */
  headers: DecisionHeaderNames;
  /** Whether clients see the decision headers and the 403's score and τ (default `false`). */
  exposeToClient: boolean;
  /** The decision log (default: 1% of `allow` and every flagged decision, to `console.log`); `false`: none. */
  log: Required<LogOptions> | false;
  /** How long, in ms, requests fail fast after a failed engine load before a retry (default 10 000). */
  engineRetryMs: number;
  /** Longest wait of a request for the engine's load or one call, in ms (default 5 000). */
  engineTimeoutMs: number;
  /** Longest canonical request target (bytes). */
  maxTargetBytes: number;
  /** The learner, or `null` when learning is off. */
  learner: Learner | null;
  /** The client's address for learning's per-client bound (default `defaultClientAddress`). */
  clientAddress: ClientAddress;
}

/** The default decision header names. */
export const DEFAULT_HEADER_NAMES: Readonly<DecisionHeaderNames> = Object.freeze({
  score: "x-taugate-score",
  decision: "x-taugate-decision",
  model: "x-taugate-model",
  tenant: "x-taugate-tenant",
  head: "x-taugate-head",
});

const isFunction = (v: unknown) => typeof v === "function";
const isEngine = (v: unknown) =>
  isFunction(v) ||
  (typeof v === "object" && v !== null && typeof (v as Engine).embed === "function" &&
    typeof (v as Engine).meta === "object");
const isStore = (v: unknown) =>
  v instanceof HeadCache ||
  (typeof v === "object" && v !== null && typeof (v as HeadStore).get === "function");

// RFC 9110 token characters, lower case (header names are compared lower case everywhere).
const headerName = z.string().min(1).max(64).refine(isHeaderName, {
  message: "must be a lower-case HTTP header name",
});

const pathPattern = z.string().min(1).max(1024).refine((p) => {
  if (p.startsWith("*")) return p.length > 1 && !p.slice(1).includes("*");
  return p.startsWith("/") && !p.slice(0, -1).includes("*");
}, { message: "must be /exact, /prefix/* or *.suffix (one * at the start or the end)" });

const sampleRate = z.number().min(0).max(1);

/**
 * The `overflow` option (the middleware's, and the tenant API's for its dry run): `false`, or the body bytes
 * inspected, the views per request and what a request not inspected whole gets, defaults filled in.
 */
export const overflowSchema = z.union([
  z.literal(false),
  z.strictObject({
    bodyBytes: z.number().int().min(0).max(1 << 24).default(INSPECT_BYTES),
    maxViews: z.number().int().min(0).max(256).default(MAX_OVERFLOW_VIEWS),
    uninspected: z.enum(["score", "flag"]).default("score"),
  }),
]).default({ bodyBytes: INSPECT_BYTES, maxViews: MAX_OVERFLOW_VIEWS, uninspected: "score" });

const optionsSchema = z.strictObject({
  engine: z.custom<EngineSource>(isEngine, { message: "must be an Engine or a function returning one" }),
  mode: z.enum(MODES).default(DEFAULT_MODE),
  tau: z.number().min(0).max(1).optional(),
  tenant: z.custom<TenantResolver>(isFunction, { message: "must be a function (c) => string | null" })
    .optional(),
  store: z.custom<HeadStore | HeadCache>(isStore, { message: "must be a HeadStore or a HeadCache" })
    .optional(),
  cache: z.strictObject({
    ttlMs: z.number().min(0).optional(),
    negativeTtlMs: z.number().min(0).optional(),
    errorTtlMs: z.number().min(0).optional(),
    timeoutMs: z.number().min(0).optional(),
    maxEntries: z.number().int().min(1).optional(),
    now: z.custom<() => number>(isFunction, { message: "must be a function" }).optional(),
  }).optional(),
  failMode: z.enum(FAIL_MODES).default(DEFAULT_FAIL_MODE),
  bodyCap: z.number().int().min(0).max(FEATURE_SPEC.caps.body).default(FEATURE_SPEC.caps.body),
  overflow: overflowSchema,
  exclude: z.strictObject({
    paths: z.array(pathPattern).max(1000).default([]),
    methods: z.array(z.string().min(1).max(24)).max(100).default([]),
    contentTypes: z.array(z.string().min(1).max(128)).max(100).default([]),
    clients: z.array(
      z.string().min(1).max(64).refine(parses(parseCidr), {
        message: "must be IP addresses or CIDR ranges, e.g. 10.0.0.0/8 or 2001:db8::/32",
      }),
    ).max(1000).default([]),
    headers: z.array(z.strictObject({ name: headerName, value: z.string().min(1).max(1024).optional() }))
      .max(100).default([]),
  }).default({ paths: [], methods: [], contentTypes: [], clients: [], headers: [] }),
  headers: z.strictObject({
    score: headerName.optional(),
    decision: headerName.optional(),
    model: headerName.optional(),
    tenant: headerName.optional(),
    head: headerName.optional(),
  }).default({}),
  exposeToClient: z.boolean().default(false),
  log: z.union([
    z.literal(false),
    z.strictObject({
      sample: sampleRate.default(0.01),
      flaggedSample: sampleRate.default(1),
      sink: z.custom<(line: string) => void>(isFunction, { message: "must be a function" }).optional(),
    }),
  ]).default({ sample: 0.01, flaggedSample: 1 }),
  engineRetryMs: z.number().min(0).default(10_000),
  engineTimeoutMs: z.number().min(1).max(600_000).default(5_000),
  maxTargetBytes: z.number().int().min(1).max(1 << 20).default(MAX_TARGET_BYTES),
  learn: z.union([
    z.boolean(),
    z.custom<Learner>((v) => v instanceof Learner, { message: "must be a boolean or a Learner" }),
  ]).default(false),
  clientAddress: z.custom<ClientAddress>(isFunction, { message: "must be a function (c) => string | null" })
    .optional(),
});

/** The names of `taugate()`'s options, from its schema (the README's option table is tested against them). */
export const OPTION_NAMES: readonly string[] = Object.freeze(Object.keys(optionsSchema.shape));

// The documented options are the schema's input, field for field (a compile-time check: one cannot drift).
const _optionsAreTheSchema: Same<Required<TaugateOptions>, Required<z.input<typeof optionsSchema>>> = true;
void _optionsAreTheSchema;

/**
 * Checks `taugate()` options and fills in defaults.
 *
 * @param options The options as given.
 * @returns The resolved options.
 * @throws {TypeError} `taugate: invalid option "<path>": <what is wrong>` for the first bad option.
 * @example
 * ```ts ignore
 * resolveOptions({ engine, tau: 2 }); // TypeError: taugate: invalid option "tau": Too big: ...
 * ```
 */
export function resolveOptions(options: TaugateOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("taugate: options must be an object with at least `engine`");
  }
  const r = optionsSchema.safeParse(options);
  if (!r.success) throw optionsError("taugate", r.error);
  const o = r.data;
  const headers = { ...DEFAULT_HEADER_NAMES, ...stripUndefined(o.headers) } as DecisionHeaderNames;
  const names = Object.values(headers);
  if (new Set(names).size !== names.length) {
    throw new TypeError(`taugate: invalid option "headers": names must be distinct, got ${names.join(", ")}`);
  }
  let cache: HeadCache | undefined;
  if (o.store instanceof HeadCache) {
    if (o.cache) throw new TypeError(`taugate: invalid option "cache": the store is already a HeadCache`);
    cache = o.store;
  } else if (o.store) {
    cache = new HeadCache(o.store, o.cache);
  }
  return {
    engine: o.engine,
    mode: o.mode,
    tau: o.tau,
    tenant: o.tenant,
    cache,
    failMode: o.failMode,
    bodyCap: o.bodyCap,
    overflow: o.overflow,
    exclude: {
      paths: o.exclude.paths,
      methods: o.exclude.methods.map((m) => m.toUpperCase()),
      contentTypes: o.exclude.contentTypes.map((t) => t.toLowerCase()),
      clients: o.exclude.clients,
      headers: o.exclude.headers,
    },
    headers,
    exposeToClient: o.exposeToClient,
    log: o.log === false
      ? false
      : { sample: o.log.sample, flaggedSample: o.log.flaggedSample, sink: o.log.sink ?? console.log },
    engineRetryMs: o.engineRetryMs,
    engineTimeoutMs: o.engineTimeoutMs,
    maxTargetBytes: o.maxTargetBytes,
    learner: o.learn === false ? null : o.learn === true ? new Learner() : o.learn,
    clientAddress: o.clientAddress ?? defaultClientAddress,
  };
}

/**
 * The default `clientAddress`: `cf-connecting-ip` when the request came through Cloudflare's edge (workerd
 * gives it a `cf` object), else the peer address `Deno.serve` passes as the environment, else none.
 */
export function defaultClientAddress(c: Context): string | null {
  if ((c.req.raw as { cf?: unknown }).cf !== undefined) return c.req.raw.headers.get("cf-connecting-ip");
  const env = c.env as { remoteAddr?: { hostname?: unknown } } | undefined;
  const host = env?.remoteAddr?.hostname;
  return typeof host === "string" ? host : null;
}
