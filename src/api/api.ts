/**
 * `tenantApi()`: the tenant API as a Hono app under `/_taugate`. Tenants (or the operator) upload labelled
 * requests and get a head fitted from the model's meta-learned init, checked by the guard, versioned in KV
 * and used by the worker from the tenant's next request on.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import {
  extractFeatures,
  FEATURE_SPEC,
  featuresOfRecord,
  needsViews,
  overflowViews,
  viewFromRecord,
} from "../features/mod.ts";
import { decide, flagVerdict, headFitsModel } from "../middleware/decide.ts";
import { lazyEngine, type ReadyEngine } from "../middleware/engine.ts";
import type { EngineSource, Mode } from "../middleware/options.ts";
import type { BackboneWeights, ModelMeta } from "../model/types.ts";
import { boundedTenantStore, DEFAULT_STORE_TIMEOUT_MS } from "../store/bounded.ts";
import { HeadCache } from "../store/cached.ts";
import { headToJson, type StoredHead, type TenantHead, tenantHeadOf } from "../store/head_doc.ts";
import { isTenantId } from "../store/tenant_id.ts";
import { isTokenId, type TenantStore } from "../store/tenant_store.ts";
import { candidateHead, type CandidateMs } from "./candidate.ts";
import { ApiError, json } from "./errors.ts";
import { explainLogit } from "./explain.ts";
import { embedderOf } from "./fit.ts";
import type { GuardFigures } from "./guard.ts";
import { importForReview } from "./import.ts";
import { adaptConfigOf, canarySet } from "./model.ts";
import { canaryMatchedTau, detectionRate } from "../heads/calibrate.ts";
import { CORRECTION_BOUNDED_NAMES } from "../heads/residual.ts";
import { Learner } from "../learn/learner.ts";
import { LEARN_DEFAULTS } from "../learn/state.ts";
import {
  headWithProfile,
  histogramView,
  learntProfile,
  profileView,
  propose,
  readLearnt,
} from "./learning.ts";
import { guardCheck } from "./guard.ts";
import { API_PREFIX, openApiDocument } from "./openapi.ts";
import {
  emptyQuerySchema,
  importQuerySchema,
  learningApplySchema,
  learningQuerySchema,
  parseQuery,
  scoreQuerySchema,
  uploadQuerySchema,
  type uploadResultSchema,
} from "./schemas.ts";
import {
  bearerToken,
  mintTenantToken,
  sha256,
  tenantTokenId,
  timingSafeEqual,
  tokenMatches,
} from "./tokens.ts";
import {
  parseUpload,
  readBodyText,
  UNLABELLED_FORMATS,
  type UploadFormat,
  uploadFormat,
  uploadMediaType,
} from "./upload.ts";

const FORMAT_NAMES: Record<UploadFormat, string> = {
  jsonl: "JSONL",
  har: "HAR",
  clf: "access-log",
  raw: "raw HTTP",
};
import {
  KeyedLock,
  publishHead,
  removeHead,
  rollbackHead,
  type Unversioned,
  type VersionContext,
} from "./versions.ts";
import { firstIssue, optionsError } from "../util/zod.ts";
import { retryingOnce } from "../util/memo.ts";
import { DEFAULT_MODE, MODES, overflowSchema } from "../middleware/options.ts";
import { DEFAULT_GUARD_MARGIN, DEFAULT_KEEP_VERSIONS } from "./config.ts";
import type { Same } from "../util/types.ts";

/** Who is calling. */
export type Principal = { kind: "operator" } | { kind: "tenant"; tenant: string; tokenId: string };

/** The API's Hono environment. */
export type TenantApiEnv = { Variables: { principal: Principal } };

/** Options of `tenantApi()`. */
export interface TenantApiOptions {
  /** The operator's token (`TAUGATE_ADMIN_TOKEN`), at least 32 characters. */
  adminToken: string;
  /** Where heads, their history and tenant tokens live. */
  store: TenantStore;
  /** The engine that scores requests (the same the middleware uses), or its lazy loader. */
  engine: EngineSource;
  /** The middleware's head cache: a tenant's entry is dropped after each change, so this isolate sees it at once. */
  cache?: HeadCache;
  /** The worker's τ (default: the model's). */
  tau?: number;
  /** The worker's mode, for dry-run decisions (default `block`). */
  mode?: Mode;
  /**
   * The middleware's `overflow` option, for dry-run scores (default: the middleware's default, `{ bodyBytes:
   * 65536, maxViews: 16, uninspected: "score" }`; `false`: none).
   */
  overflow?: { bodyBytes?: number; maxViews?: number; uninspected?: "score" | "flag" } | false;
  /** Largest fall of canary detection an upload may cause (default 0.05). */
  guardMargin?: number;
  /** Versions kept per tenant, the active one included (default 5). */
  keepVersions?: number;
  /** The backbone's float32 weights, for explanations when the engine does not expose them (ORT). */
  weights?: () => BackboneWeights | Promise<BackboneWeights>;
  /** Audit lines, one JSON per change (never a token); default `console.log`. */
  log?: (line: string) => void;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Longest wait for one storage call before the API answers 503 `store_unavailable` (default 5 000 ms). */
  storeTimeoutMs?: number;
  /**
   * The middleware's learner (learning mode), when it runs in this process: `GET .../learning` adds its live
   * state to the shards in the store. Without it, the API reads the shards alone.
   */
  learner?: Learner;
}

const isFunction = (v: unknown) => typeof v === "function";
const optionsSchema = z.strictObject({
  adminToken: z.string().min(32, { message: "must be at least 32 characters" }).max(512),
  store: z.custom<TenantStore>(
    (v) => typeof v === "object" && v !== null && typeof (v as TenantStore).commit === "function",
    { message: "must be a TenantStore" },
  ),
  engine: z.custom<EngineSource>(
    (v) => isFunction(v) || (typeof v === "object" && v !== null && "embed" in v),
    { message: "must be an Engine or a function returning one" },
  ),
  cache: z.custom<HeadCache>((v) => v instanceof HeadCache, { message: "must be a HeadCache" }).optional(),
  tau: z.number().min(0).max(1).optional(),
  mode: z.enum(MODES).default(DEFAULT_MODE),
  overflow: overflowSchema,
  guardMargin: z.number().min(0).max(1).default(DEFAULT_GUARD_MARGIN),
  keepVersions: z.number().int().min(1).max(50).default(DEFAULT_KEEP_VERSIONS),
  weights: z.custom<() => BackboneWeights | Promise<BackboneWeights>>(isFunction, {
    message: "must be a function",
  })
    .optional(),
  log: z.custom<(line: string) => void>(isFunction, { message: "must be a function" }).optional(),
  now: z.custom<() => number>(isFunction, { message: "must be a function" }).optional(),
  storeTimeoutMs: z.number().min(1).max(600_000).default(DEFAULT_STORE_TIMEOUT_MS),
  learner: z.custom<Learner>((v) => v instanceof Learner, { message: "must be a Learner" }).optional(),
});

// The documented options are the schema's input, field for field (a compile-time check).
const _apiOptionsAreTheSchema: Same<Required<TenantApiOptions>, Required<z.input<typeof optionsSchema>>> =
  true;
void _apiOptionsAreTheSchema;

type UploadResult = z.input<typeof uploadResultSchema>;

/**
 * Whether a path belongs to the API (`/_taugate` and everything under it): such requests are answered by
 * the API, never scored, never forwarded.
 *
 * @param path The request's path as Hono sees it (`c.req.path`).
 * @returns `true` for `/_taugate` and `/_taugate/...`.
 */
export function isApiPath(path: string): boolean {
  return path === API_PREFIX || path.startsWith(API_PREFIX + "/");
}

/**
 * Creates the tenant API.
 *
 * Routes (under `/_taugate`): `GET /openapi.json`; `POST /tenants/:tenant/examples`;
 * `GET|DELETE /tenants/:tenant/head`; `POST /tenants/:tenant/head/rollback`; `POST /tenants/:tenant/score`;
 * `POST /tenants/:tenant/import` (a file's records, for review); `POST /tenants/:tenant/tokens` and
 * `DELETE /tenants/:tenant/tokens/:id` (operator only). Every route but
 * the document needs `Authorization: Bearer <token>`: the operator's, or a token of the tenant in the path.
 *
 * @param options Token, store, engine, cache, τ, mode, guard margin, versions kept.
 * @returns A Hono app; serve it under `/_taugate` (the worker does when `TAUGATE_ADMIN_TOKEN` is set).
 * @throws {TypeError} at once, naming the option, when an option is invalid.
 * @example
 * ```ts ignore
 * const api = tenantApi({ adminToken: Deno.env.get("TAUGATE_ADMIN_TOKEN")!, store: new MemoryTenantStore(), engine });
 * Deno.serve((req) => api.fetch(req));
 * ```
 */
export function tenantApi(options: TenantApiOptions): Hono<TenantApiEnv> {
  const r = optionsSchema.safeParse(options);
  if (!r.success) throw optionsError("tenantApi", r.error);
  const o = r.data;
  // A storage call that hangs must not hold its request, nor the tenant's later changes queued behind it.
  const store = boundedTenantStore(o.store, o.storeTimeoutMs);
  const getEngine = lazyEngine(o.engine, 10_000);
  const log = o.log ?? console.log;
  const now = o.now ?? Date.now;
  const versions: VersionContext = { store, lock: new KeyedLock(), keep: o.keepVersions, now };
  let adminDigest: Promise<Uint8Array> | undefined; // made on first use: workerd builds the app in a request
  // The backbone's weights for explanations: read once, again only after a failure.
  const weightsOnce = retryingOnce(() => o.weights!());

  const ready = async (): Promise<ReadyEngine> => {
    try {
      const got = getEngine();
      return got instanceof Promise ? await got : got;
    } catch (err) {
      throw new ApiError(503, "model_unavailable", `the model is not loaded: ${short(err)}`);
    }
  };
  const globalTau = (meta: ModelMeta) => o.tau ?? meta.tau;
  const stored = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(503, "store_unavailable", `${store.kind}: ${short(err)}`);
    }
  };
  const weightsOf = (r: ReadyEngine): Promise<BackboneWeights | null> => {
    const own = (r.engine as { weights?: BackboneWeights }).weights;
    if (own) return Promise.resolve(own);
    if (!o.weights) return Promise.resolve(null);
    return weightsOnce().catch(() => null);
  };
  const audit = (action: string, tenant: string, p: Principal, extra: Record<string, unknown> = {}) =>
    log(JSON.stringify({
      msg: "taugate api",
      time: new Date(now()).toISOString(),
      action,
      tenant,
      by: p.kind === "operator" ? "operator" : `token:${p.tokenId}`,
      ...extra,
    }));

  const authenticate = async (req: Request): Promise<Principal> => {
    const challenge = { "www-authenticate": 'Bearer realm="taugate"' };
    const token = bearerToken(req.headers.get("authorization"));
    if (token === null) {
      throw new ApiError(401, "unauthorized", "an Authorization: Bearer token is required", {}, challenge);
    }
    // Digests have one length, so the comparison's time says nothing about the operator's token.
    if (timingSafeEqual(await sha256(token), await (adminDigest ??= sha256(o.adminToken)))) {
      return { kind: "operator" };
    }
    const id = tenantTokenId(token);
    if (id !== null) {
      const rec = await stored(() => store.getToken(id));
      if (rec !== null && await tokenMatches(token, rec.hash)) {
        return { kind: "tenant", tenant: rec.tenant, tokenId: id };
      }
    }
    throw new ApiError(401, "unauthorized", "the token is not valid", {}, {
      "www-authenticate": 'Bearer realm="taugate", error="invalid_token"',
    });
  };

  const tenantOf = (c: Context<TenantApiEnv>): string => {
    const tenant = c.req.param("tenant") ?? "";
    if (!isTenantId(tenant)) {
      throw new ApiError(
        400,
        "invalid_tenant",
        `invalid tenant id ${
          JSON.stringify(tenant.slice(0, 80))
        }: expected lower-case hostname-like labels (a-z, 0-9, -) joined by dots`,
      );
    }
    const p = c.get("principal");
    if (p.kind === "tenant" && p.tenant !== tenant) {
      throw new ApiError(403, "forbidden", "this token belongs to another tenant");
    }
    return tenant;
  };
  const operatorOnly = (c: Context<TenantApiEnv>) => {
    if (c.get("principal").kind !== "operator") {
      throw new ApiError(403, "forbidden", "this route needs the operator's token");
    }
  };
  const query = <T extends z.ZodType>(c: Context<TenantApiEnv>, schema: T): z.output<T> => {
    const q = parseQuery(c.req.url, schema);
    if (!q.ok) throw new ApiError(400, "invalid_query", q.reason);
    return q.value;
  };
  const effectiveTau = (doc: StoredHead | null, meta: ModelMeta) => doc?.tau ?? globalTau(meta);

  const app = new Hono<TenantApiEnv>().basePath(API_PREFIX);

  app.get("/openapi.json", (c) => {
    query(c, emptyQuerySchema);
    return json(openApiDocument());
  });

  app.use("/tenants/*", async (c, next) => {
    c.set("principal", await authenticate(c.req.raw));
    await next();
  });

  app.post("/tenants/:tenant/examples", async (c) => {
    const tenant = tenantOf(c);
    const q = query(c, uploadQuerySchema);
    const principal = c.get("principal");
    if (q.force && principal.kind !== "operator") {
      throw new ApiError(403, "forbidden", "only the operator's token may force a head past the guard");
    }
    const mediaType = uploadMediaType(c.req.header("content-type") ?? null);
    const text = await readBodyText(c.req.raw);
    const format = uploadFormat(mediaType, text, q.format);
    if (UNLABELLED_FORMATS.includes(format) && q.label === undefined) {
      throw new ApiError(
        400,
        "invalid_query",
        `a ${FORMAT_NAMES[format]} upload needs the label query parameter (0 or 1) for its entries`,
      );
    }
    const { records } = parseUpload(text, format, { label: q.label, tenant });
    if (!records.some((rec) => rec.label === 0 || rec.label === 1)) {
      throw new ApiError(
        422,
        "no_labelled_record",
        "no record has a label: give each a label (0 benign, 1 attack) or set the label query parameter",
      );
    }

    const r = await ready();
    const meta = r.engine.meta;
    const config = adaptConfigOf(meta);
    const canaries = await canarySet(r.engine);
    const cand = await candidateHead({
      engine: r.engine,
      globalHead: r.globalHead,
      globalTau: globalTau(meta),
      config,
      canaries: canaries.z,
      canaryFeatures: canaries.features,
      records,
      tau: q.tau,
      margin: o.guardMargin,
      force: q.force === true,
    });
    const { fit, tau, guard } = cand;
    const result: Omit<UploadResult, "version" | "previousVersion" | "createdAt"> = {
      tenant,
      modelId: meta.modelId,
      tau,
      tauSource: cand.tauSource,
      counts: fit.counts,
      fit: {
        method: fit.trust ? "residual" : config.method,
        steps: fit.steps,
        loss: fit.loss,
        endpoints: fit.head.re?.length ?? null,
        gate: fit.head.rg ? { from: round(fit.head.rg[0], 4), to: round(fit.head.rg[1], 4) } : null,
        bounds: fit.head.rb ? [...CORRECTION_BOUNDED_NAMES] : null,
        shape: fit.head.rp ? fit.head.rp.length / 3 : null,
        ms: roundMs(cand.ms),
      },
      guard,
    };
    if (!guard.passed && !guard.forced) {
      audit("upload-refused", tenant, principal, {
        canary_drop: guard.canaries.drop,
        benign_rise: guard.benign.rise,
        margin: guard.margin,
      });
      throw new ApiError(422, "guard_refused", refusal(guard), { ...result });
    }
    const fitted: Unversioned = {
      head: headToJson(fit.head),
      modelId: meta.modelId,
      counts: fit.counts,
      fit: result.fit,
      guard,
      by: principal.kind,
    };
    fitted.tau = tau;
    fitted.tauSource = result.tauSource;
    const { doc, previous } = await stored(() => publishHead(versions, tenant, fitted));
    o.cache?.invalidate(tenant);
    audit("upload", tenant, principal, { version: doc.version, forced: guard.forced });
    const body: UploadResult = {
      ...result,
      version: doc.version,
      previousVersion: previous,
      createdAt: doc.createdAt,
    };
    return json(orderUpload(body), 201);
  });

  app.get("/tenants/:tenant/head", async (c) => {
    const tenant = tenantOf(c);
    query(c, emptyQuerySchema);
    const [{ active }, history] = await stored(() =>
      Promise.all([store.read(tenant), store.history(tenant)])
    );
    if (active === null) throw new ApiError(404, "no_head", `tenant ${tenant} has no head of its own`);
    const r = await ready().catch(() => null);
    const meta = r?.engine.meta;
    return json({
      tenant,
      version: active.version,
      createdAt: active.createdAt,
      modelId: active.modelId ?? null,
      stale: meta !== undefined && active.modelId !== undefined && active.modelId !== meta.modelId,
      tau: meta ? effectiveTau(active, meta) : active.tau ?? o.tau ?? null,
      tauSource: active.tau === undefined
        ? "worker"
        : active.tauSource === "tenant" || active.tauSource === "scale" || active.tauSource === "learning"
        ? active.tauSource
        : "canaries",
      counts: active.counts ?? null,
      fit: (active.fit as unknown) ?? null,
      guard: (active.guard as unknown) ?? null,
      history: history.map((d) => ({
        version: d.version,
        createdAt: d.createdAt,
        active: d.version === active.version,
        counts: d.counts,
      })),
    });
  });

  app.delete("/tenants/:tenant/head", async (c) => {
    const tenant = tenantOf(c);
    query(c, emptyQuerySchema);
    const out = await stored(() => removeHead(versions, tenant));
    o.cache?.invalidate(tenant);
    audit("delete", tenant, c.get("principal"), { removed: out.versions });
    return json({ tenant, deleted: true, removedVersions: out.versions });
  });

  app.post("/tenants/:tenant/head/rollback", async (c) => {
    const tenant = tenantOf(c);
    query(c, emptyQuerySchema);
    const out = await stored(() => rollbackHead(versions, tenant));
    o.cache?.invalidate(tenant);
    audit("rollback", tenant, c.get("principal"), { version: out.doc.version, from: out.from });
    return json({ tenant, version: out.doc.version, rolledBackFrom: out.from, createdAt: out.doc.createdAt });
  });

  app.post("/tenants/:tenant/score", async (c) => {
    const tenant = tenantOf(c);
    const q = query(c, scoreQuerySchema);
    const mediaType = uploadMediaType(c.req.header("content-type") ?? null);
    const text = await readBodyText(c.req.raw);
    const format = uploadFormat(mediaType, text, q.format);
    const { records } = parseUpload(text, format, { tenant });
    const r = await ready();
    const meta = r.engine.meta;
    let tenantHead: TenantHead | null = null, storeError: string | undefined;
    if (q.head !== "global") {
      // A head that cannot be read (a store fault, a malformed document) is what the worker scores around
      // with the global head: so does the dry run.
      try {
        const doc = await store.heads.get(tenant);
        if (doc !== null) tenantHead = tenantHeadOf(tenant, doc);
      } catch (err) {
        storeError = `the tenant's head could not be read (${(err as Error).name})`;
      }
    }
    // The head as the worker would choose it (`decide`), for the answer's summary and the explanations.
    const chosen = tenantHead !== null && headFitsModel(tenantHead, meta) ? tenantHead : null;
    const source: "tenant" | "global" | "stale" | "store-error" = storeError !== undefined
      ? "store-error"
      : chosen !== null
      ? "tenant"
      : tenantHead !== null
      ? "stale"
      : "global";
    const version = chosen?.version ?? null;
    const tau = chosen?.tau ?? globalTau(meta);
    const explain = q.explain ?? true;
    const weights = explain ? await weightsOf(r) : null;
    const embed = embedderOf(r.engine);
    const results = [];
    const input = {
      tenantHead,
      storeError,
      meta,
      globalHead: r.globalHead,
      globalTau: globalTau(meta),
      mode: o.mode,
    };
    for (const [i, rec] of records.entries()) {
      let trace = weights ? new Map<number, string[]>() : undefined;
      let f = featuresOfRecord(rec, FEATURE_SPEC, trace);
      let got = embed(f);
      let v = decide({
        ...input,
        z: got instanceof Promise ? await got : got,
        structure: f.structure,
        features: f,
      });
      // As the worker scores: what the caps cut off is scored as overflow views, and the highest score counts
      // (the explanation is of the view that gave it).
      let inspected: "partial" | undefined;
      if (o.overflow !== false && needsViews(f)) {
        const ov = overflowViews(
          viewFromRecord(rec, FEATURE_SPEC.caps.body, Math.max(FEATURE_SPEC.caps.body, o.overflow.bodyBytes)),
          FEATURE_SPEC,
          o.overflow.maxViews,
        );
        // A view is judged with its request by a correction's shape (`ofShape`).
        const of = { params: f.params };
        for (const w of ov.views) {
          const tw = weights ? new Map<number, string[]>() : undefined;
          const fw = { ...extractFeatures(w, FEATURE_SPEC, tw), of };
          got = embed(fw);
          const vw = decide({
            ...input,
            z: got instanceof Promise ? await got : got,
            structure: fw.structure,
            features: fw,
          });
          if (vw.score > v.score) v = vw, f = fw, trace = tw;
        }
        if (!ov.complete) {
          inspected = "partial";
          if (o.overflow.uninspected === "flag") v = flagVerdict(v, o.mode);
        }
      }
      const { score, flagged, decision } = v;
      const head = v.head === "tenant" ? chosen!.head : r.globalHead;
      const row: Record<string, unknown> = { index: i + 1, score, flagged, decision };
      // A malformed tenant head falls back to the global head request by request, as in the worker.
      if (v.head !== source) row.head = v.head;
      if (rec.label !== undefined) row.label = rec.label;
      if (inspected !== undefined) row.inspected = inspected;
      if (weights && trace) {
        const ex = explainLogit(weights, head, f, trace, q.top ?? 8);
        row.logit = ex.logit;
        row.why = ex.top;
      }
      results.push(row);
    }
    return json({
      tenant,
      head: { source, version },
      tau,
      mode: o.mode,
      modelId: meta.modelId,
      explained: weights !== null,
      results,
    });
  });

  app.post("/tenants/:tenant/import", async (c) => {
    const tenant = tenantOf(c);
    const q = query(c, importQuerySchema);
    // Any content type: access logs and raw dumps are plain text, and nothing here is stored.
    const text = await readBodyText(c.req.raw);
    return json({ tenant, ...importForReview(text, q.format ?? "auto") });
  });

  /**
   * A tenant's learning: the shards of its current epoch learnt under its active head (this process's live
   * state in place of its own shard), the head `apply` would make (the active head, or the global one, with
   * the learnt profile) and τ proposals on the histogram of that head's scores (prequential, see
   * `learn/state.ts`), capped where the canaries say attacks begin.
   */
  const learning = async (tenant: string, withProfile: boolean) => {
    const { active } = await stored(() => store.read(tenant));
    const r = await ready();
    const meta = r.engine.meta;
    const own = active !== null ? tenantHeadOf(tenant, active) : null;
    const fits = own !== null && headFitsModel(own, meta);
    const view = await stored(() => readLearnt(store, o.learner ?? null, tenant, fits ? own.version : null));
    const base = fits ? own.head : r.globalHead;
    const settings = o.learner?.settings ?? LEARN_DEFAULTS;
    const sum = view.sum;
    const profile = withProfile
      ? learntProfile(sum, settings.minCount, base.a !== undefined && base.profile ? base.profile : null)
      : null;
    const candidate = profile !== null ? headWithProfile(base, profile, meta) : base;
    const canaries = await canarySet(r.engine);
    const gTau = globalTau(meta);
    const limit = detectionRate(r.globalHead, canaries.z, gTau) - o.guardMargin;
    const tauMax = canaryMatchedTau(candidate, canaries.z, Math.max(0, limit), canaries.features);
    const hist = withProfile ? sum.proposed : sum.served;
    const p = propose(hist, tauMax);
    const servedTau = fits && own.tau !== undefined ? own.tau : gTau;
    return {
      r,
      meta,
      active,
      fits,
      view,
      sum,
      profile,
      candidate,
      canaries,
      gTau,
      servedTau,
      p,
      hist,
      settings,
    };
  };

  app.get("/tenants/:tenant/learning", async (c) => {
    const tenant = tenantOf(c);
    const q = query(c, learningQuerySchema);
    const L = await learning(tenant, q.profile ?? true);
    const { sum, view } = L;
    const target = L.p.proposals.find((x) => x.fpr === 1e-3) ?? L.p.proposals[0];
    return json({
      tenant,
      requests: sum.learnt,
      seen: sum.seen,
      since: sum.since === null ? null : new Date(sum.since).toISOString(),
      updated: sum.updated === null ? null : new Date(sum.updated).toISOString(),
      epochSince: view.epoch === null ? null : new Date(view.epoch.since).toISOString(),
      head: { source: L.fits ? "tenant" : "global", version: L.fits ? L.active!.version : null },
      // Shards read from the store (this process's live state counted apart).
      shards: {
        read: sum.shards - (view.live ? 1 : 0),
        stale: view.stale,
        invalid: view.invalid,
        live: view.live,
      },
      flushMs: o.learner?.flushMs ?? null,
      clients: { capped: sum.capped, anonymous: sum.anonymous },
      basis: L.profile !== null ? "profile" : "served",
      histogram: histogramView(L.hist),
      histogramRequests: L.profile !== null ? sum.proposedCount : sum.learnt,
      served: {
        tau: L.servedTau,
        flaggedRate: sum.learnt > 0 ? Number((sum.flagged / sum.learnt).toPrecision(4)) : 0,
        histogram: histogramView(sum.served),
      },
      contamination: L.p.contamination,
      tauMax: L.p.tauMax,
      settled: target.settled,
      progress: target.progress,
      proposals: L.p.proposals,
      profile: L.profile !== null ? profileView(sum, L.settings) : null,
    });
  });

  app.post("/tenants/:tenant/learning/apply", async (c) => {
    const tenant = tenantOf(c);
    query(c, emptyQuerySchema);
    const text = await readBodyText(c.req.raw);
    let parsed: unknown;
    try {
      parsed = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      throw new ApiError(400, "invalid_body", 'the body must be JSON, e.g. {"fpr": 0.001}');
    }
    const b = learningApplySchema.safeParse(parsed);
    if (!b.success) {
      const issue = firstIssue(b.error);
      throw new ApiError(400, "invalid_body", `${issue.path || "body"}: ${issue.message}`);
    }
    const { fpr, profile: withProfile = true } = b.data;
    const principal = c.get("principal");
    const L = await learning(tenant, withProfile);
    const n = L.profile !== null ? L.sum.proposedCount : L.sum.learnt;
    const MIN = 300;
    if (n < MIN) {
      throw new ApiError(
        409,
        "not_enough_traffic",
        `learning has ${n} requests of ${tenant} to choose τ on (under its current head` +
          (L.profile !== null ? `, after the first ${L.settings.warmup} that start the profile` : "") +
          `); apply needs at least ${MIN}. Keep TAUGATE_LEARN=on and try again later.`,
      );
    }
    const one = propose(L.hist, L.p.tauMax, [fpr]).proposals[0];
    const tau = one.tau;
    const guard = guardCheck(
      {
        canaries: L.canaries.z,
        canaryFeatures: L.canaries.features,
        global: { head: L.r.globalHead, tau: L.gTau },
        tenant: { head: L.candidate, tau },
        benign: { z: [], outOfFold: null },
      },
      o.guardMargin,
      false,
    );
    const fit = {
      method: "learning",
      requests: L.sum.learnt,
      basis: L.profile !== null ? "profile" : "served",
      fpr,
      settled: one.settled,
      expected_block_rate: one.expected_block_rate,
      limit: one.limit,
      contamination: L.p.contamination,
    };
    if (!guard.passed) {
      audit("learning-apply-refused", tenant, principal, { canary_drop: guard.canaries.drop });
      throw new ApiError(422, "guard_refused", refusal(guard, "learning"), { tenant, tau, fit, guard });
    }
    const previousCounts = L.fits ? L.active!.counts : undefined;
    const fitted: Unversioned = {
      head: headToJson(L.candidate),
      modelId: L.meta.modelId,
      counts: {
        benign: previousCounts?.benign ?? 0,
        attack: previousCounts?.attack ?? 0,
        learnt: L.sum.learnt,
      },
      fit,
      guard,
      by: principal.kind,
    };
    fitted.tau = tau;
    fitted.tauSource = "learning";
    const { doc, previous } = await stored(() => publishHead(versions, tenant, fitted));
    o.cache?.invalidate(tenant);
    audit("learning-apply", tenant, principal, { version: doc.version, fpr, tau });
    return json({
      tenant,
      version: doc.version,
      previousVersion: previous,
      createdAt: doc.createdAt,
      tau,
      tauSource: "learning",
      fpr,
      settled: one.settled,
      needed: one.needed,
      expected_block_rate: one.expected_block_rate,
      limit: one.limit,
      requests: L.sum.learnt,
      profile: L.profile !== null ? { tokens: L.profile.tokens, requests: L.profile.requests } : null,
      guard,
    }, 201);
  });

  app.delete("/tenants/:tenant/learning", async (c) => {
    const tenant = tenantOf(c);
    query(c, emptyQuerySchema);
    const since = now();
    const epoch = { epoch: crypto.randomUUID().replaceAll("-", ""), since };
    // The epoch first: a shard written meanwhile by another isolate is of the old epoch and no longer counts.
    await stored(() => store.learning.putEpoch(tenant, epoch));
    const removed = await stored(() => store.learning.clearShards(tenant));
    o.learner?.forget(tenant);
    audit("learning-delete", tenant, c.get("principal"), { shards: removed });
    return json({ tenant, deleted: true, shards: removed, since: new Date(since).toISOString() });
  });

  app.post("/tenants/:tenant/tokens", async (c) => {
    const tenant = tenantOf(c);
    operatorOnly(c);
    query(c, emptyQuerySchema);
    const { token, id, hash } = await mintTenantToken();
    const createdAt = new Date(now()).toISOString();
    await stored(() => store.putToken(id, { tenant, hash, createdAt }));
    audit("token-mint", tenant, c.get("principal"), { token_id: id });
    return json({ tenant, id, token, createdAt }, 201);
  });

  app.delete("/tenants/:tenant/tokens/:id", async (c) => {
    const tenant = tenantOf(c);
    operatorOnly(c);
    query(c, emptyQuerySchema);
    const id = c.req.param("id");
    const rec = isTokenId(id) ? await stored(() => store.getToken(id)) : null;
    if (rec === null || rec.tenant !== tenant) {
      throw new ApiError(404, "no_token", `tenant ${tenant} has no token ${JSON.stringify(id.slice(0, 40))}`);
    }
    await stored(() => store.deleteToken(id));
    audit("token-revoke", tenant, c.get("principal"), { token_id: id });
    return json({ tenant, id, revoked: true });
  });

  app.notFound(() => new ApiError(404, "not_found", "no such route of the tenant API").toResponse());
  app.onError((err) => {
    if (err instanceof ApiError) return err.toResponse();
    console.error(JSON.stringify({ msg: "taugate api: unhandled error", error: short(err) }));
    return new ApiError(500, "internal_error", "the request could not be handled").toResponse();
  });
  return app;
}

function short(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 200 ? msg.slice(0, 200) + "…" : msg;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function pct(x: number): string {
  return `${round(x * 100, 1)}%`;
}

/** Why the guard refused a head and what the tenant can do about it, in one line. */
export function refusal(g: GuardFigures, context: "upload" | "learning" = "upload"): string {
  const why: string[] = [], todo: string[] = [];
  const c = g.canaries, b = g.benign;
  if (g.conflicts > 0) {
    why.push(`${g.conflicts} request${g.conflicts === 1 ? " is" : "s are"} labelled both benign and attack`);
    todo.push("keep one label for each of them");
  }
  if (!c.passed) {
    why.push(
      `it would catch ${pct(c.tenant)} of the ${c.count} canary attacks at τ=${
        round(c.tau, 4)
      }, the global ` +
        `head ${pct(c.global)}: a fall of ${pct(c.drop)}, over the ${pct(g.margin)} margin`,
    );
    todo.push(
      "check the records labelled 0 (benign) for attacks and remove them (POST /score?explain=1 shows what " +
        "weighs in each record)",
    );
  }
  if (!b.passed) {
    why.push(
      `it would flag ${pct(b.tenant)} of the upload's ${b.count} benign requests (out of fold), the global ` +
        `head ${pct(b.global)}: a rise of ${pct(b.rise)}, over the ${pct(g.margin)} margin`,
    );
    todo.push("add more of your site's ordinary requests labelled 0, or check the records labelled 1");
  }
  if (context === "learning") {
    return `the learnt head is refused: ${why.join("; and ")}. To fix it: apply a looser target (a higher ` +
      `fpr), or start learning again (DELETE .../learning) if the learning traffic held attacks.`;
  }
  return `the new head is refused: ${why.join("; and ")}. To fix it: ${
    todo.join("; ")
  }; then upload again. ` +
    `(The operator can store it anyway with force=1.)`;
}

function roundMs(ms: CandidateMs): CandidateMs {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(ms)) out[k] = round(v, 3);
  return out as unknown as CandidateMs;
}

/** The upload answer with its fields in reading order. */
function orderUpload(b: UploadResult): UploadResult {
  return {
    tenant: b.tenant,
    version: b.version,
    previousVersion: b.previousVersion,
    createdAt: b.createdAt,
    modelId: b.modelId,
    tau: b.tau,
    tauSource: b.tauSource,
    counts: b.counts,
    fit: b.fit,
    guard: b.guard,
  };
}
