/**
 * `taugate()`: the Hono middleware that scores every request inline and blocks, tags or logs it.
 *
 * The hot path of one request: exclusions → tenant → head lookup (started, usually a synchronous cache
 * hit) → features from at most `bodyCap` bytes of a clone of the body → backbone embedding (the only
 * await) → `σ(w·z + b)` with the global head, or `σ(w·z + b + a·n)` with a tenant's head and its site
 * profile (`n`: the request's novelty for the site) → decision → headers and log line.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { taugate } from "./src/middleware/mod.ts";
 * import { loadEngine } from "./src/model/mod.ts";
 *
 * const model = await Deno.readFile("models/taugate.onnx");
 * const app = new Hono();
 * app.use("*", taugate({ engine: () => loadEngine("ort", model), mode: "block" }));
 * app.get("/", (c) => c.text(`score ${c.get("taugate").score}`));
 * Deno.serve(app.fetch);
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import {
  BodyReadError,
  contentKind,
  extractFeaturesInto,
  type FeatureBuffer,
  needsViews,
  newFeatureBuffer,
  overflowViews,
  PARAM_WORDS,
  type RequestView,
  viewOrPromiseFromRequest,
} from "../features/mod.ts";
import { decide, type DecideInput, flagVerdict } from "./decide.ts";
import { type HeadFeatures, viewOf } from "../heads/score.ts";
import type { HeadLookup } from "../store/cached.ts";
import { isTenantId } from "../store/tenant_id.ts";
import { type Decision, decisionHeaderPairs, formatScore, stampHeaders } from "./decision.ts";
import { type EngineStatus, lazyEngine, type ReadyEngine } from "./engine.ts";
import { compileExclusions, compileRequestRules } from "./exclude.ts";
import { headerPairs } from "./headers.ts";
import { decisionLogLine } from "./log.ts";
import { resolveOptions, type TaugateOptions } from "./options.ts";
import { requestIdOf, requestIdOfHeaders } from "./request_id.ts";
import { hostTenant } from "./tenant.ts";
import { canonicalRequest, isCanonical, refusalLogLine, refusalResponse } from "./canonical.ts";
import { getPath } from "hono/utils/url";
import { clientHash } from "../learn/state.ts";
import { profileTermOf } from "../learn/term.ts";
import { logit } from "../util/math.ts";

export {
  type Decision,
  decisionHeaderPairs,
  type DecisionKind,
  type HeadSource,
  stampHeaders,
} from "./decision.ts";
export { decide, type DecideInput, headFitsModel, type Verdict } from "./decide.ts";
export { checkEngine, type EngineGetter, type EngineStatus, lazyEngine, type ReadyEngine } from "./engine.ts";
export {
  compileExclusions,
  compileRequestRules,
  type ExclusionTest,
  type RequestRuleTest,
} from "./exclude.ts";
export { cidrMatcher, parseCidr, parseIp } from "./cidr.ts";
export { decisionLogLine, type LogContext } from "./log.ts";
export {
  type ClientAddress,
  type DecisionHeaderNames,
  DEFAULT_HEADER_NAMES,
  defaultClientAddress,
  type EngineSource,
  type Exclusions,
  type FailMode,
  type HeaderRule,
  type LogOptions,
  type Mode,
  type ResolvedOptions,
  resolveOptions,
  type TaugateOptions,
  type TenantResolver,
} from "./options.ts";
export { requestIdOf, requestIdOfHeaders } from "./request_id.ts";
export { hostTenant } from "./tenant.ts";
export type { ResidualFeatures } from "../heads/residual.ts";

/** The Hono environment the middleware adds to: handlers read the decision with `c.get("taugate")`. */
export type TaugateEnv = { Variables: { taugate: Decision } };

/** The middleware, with what an operator can ask of it. */
export type TaugateMiddleware = MiddlewareHandler<TaugateEnv> & {
  /** Where the engine's load stands, without starting it. */
  status(): EngineStatus;
  /** Loads the engine if it is not (waiting at most `engineTimeoutMs`) and says where it stands. */
  ready(): Promise<EngineStatus>;
};

const NO_HEAD: HeadLookup = Object.freeze({ status: "none" });
const POOL_MAX = 16;
const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

/**
 * Creates the taugate middleware.
 *
 * @param options `engine` (required), `mode`, `tau`, `tenant`, `store`, `cache`, `failMode`, `bodyCap`,
 *   `exclude`, `headers`, `log`, `engineRetryMs`, `engineTimeoutMs` (see `TaugateOptions`).
 * @returns A Hono middleware. In `block` mode a request scoring at or above τ gets a 403 JSON
 *   `{"error": "blocked", "score", "tau", "request_id"}`; in `tag` mode it goes on with the decision headers
 *   added to the request; `log` only logs; `off` does nothing at all. Scored responses carry the decision
 *   headers. A request whose body breaks off within the bytes read gets a 400 JSON `bad_request` in every
 *   mode and fail mode (it is the client's fault, and the request cannot go on).
 * @throws {TypeError} at once, naming the option, when an option is invalid.
 * @example
 * ```ts ignore
 * app.use("*", taugate({ engine, mode: "tag", exclude: { paths: ["/static/*"], methods: ["OPTIONS"] } }));
 * ```
 */
export function taugate(options: TaugateOptions): TaugateMiddleware {
  const o = resolveOptions(options);
  const { mode, failMode, bodyCap, headers: names, cache, log, exposeToClient: expose, learner, overflow } =
    o;
  const inspect = overflow === false ? bodyCap : Math.max(bodyCap, overflow.bodyBytes);
  const excluded = compileExclusions(o.exclude);
  const excludedSender = compileRequestRules(o.exclude.clients, o.exclude.headers);
  // An engine that cannot load is logged once per isolate at error level: fail-open must not hide it.
  const getEngine = lazyEngine(
    o.engine,
    o.engineRetryMs,
    undefined,
    o.engineTimeoutMs,
    (err) =>
      console.error(JSON.stringify({
        msg: "taugate: the model cannot load; requests get the fail mode until it does",
        fail_mode: failMode,
        error: (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 300),
      })),
  );
  const resolveTenant = o.tenant;
  const ownNames = Object.values(names);
  const ownNameSet = new Set(ownNames);
  const pool: FeatureBuffer[] = [], viewPool: FeatureBuffer[] = [];

  /** Whether a client sent any of taugate's own decision headers (names in the view are lower case). */
  const spoofedIn = (view: RequestView | null, req: Request): boolean => {
    // The view's list is already lower-cased; each Headers.has() would lower-case Deno's whole list again.
    if (view !== null) return view.headers.some((h) => ownNameSet.has(h[0]));
    return ownNames.some((n) => req.headers.has(n));
  };

  /**
   * Scores a request into `d`; throws when the engine is missing or scoring fails. Returns what it read,
   * for the request id and the spoofing check (the view is `null` when scoring failed before reading).
   */
  const score = async (
    req: Request,
    d: Decision,
    lookup: HeadLookup | Promise<HeadLookup>,
    keep: (p: Promise<unknown>) => void,
    read: { view: RequestView | null; engine: string | null },
    client: number | null,
  ) => {
    const got = getEngine();
    if (got instanceof Promise) keep(got);
    const ready: ReadyEngine = got instanceof Promise ? await got : got;
    const meta = ready.engine.meta;
    d.model = meta.modelId;
    read.engine = ready.engine.kind;
    // Without a body there is nothing to wait for; a synchronous engine (TypeScript) is called directly.
    // Past the body cap, only a body overflow views can read (not an image's or an archive's bytes).
    const viewed = viewOrPromiseFromRequest(
      req,
      bodyCap,
      inspect > bodyCap && req.body !== null &&
        contentKind(req.headers.get("content-type") ?? "") === "binary"
        ? bodyCap
        : inspect,
    );
    const view = read.view = viewed instanceof Promise ? await viewed : viewed;
    const buf = pool.pop() ?? newFeatureBuffer();
    let z: Float32Array;
    try {
      extractFeaturesInto(view, buf);
      const engine = ready.engine;
      z = engine.embedSync !== undefined ? engine.embedSync(buf) : await engine.embed(buf);
    } finally {
      if (pool.length < POOL_MAX) pool.push(buf);
    }
    // The request's structure tokens, for a tenant head's site profile (the buffer is back in the pool, but
    // nothing can take it before the next await).
    let structure = buf.structure;
    const nStructure = buf.nStructure;
    // ... and its features, for a tenant head's residual and value profile.
    let features: HeadFeatures = buf;
    if (lookup instanceof Promise) {
      z = z.slice(); // The engine may reuse z on its next call, which can run while the store answers.
      structure = structure.slice(0, nStructure);
      features = {
        indices: buf.indices.slice(0, buf.nnz),
        values: buf.values.slice(0, buf.nnz),
        dense: buf.dense.slice(),
        params: buf.params.slice(0, 1 + buf.nParams * PARAM_WORDS),
      };
      lookup = await lookup;
    }
    const input: DecideInput = {
      tenantHead: lookup.status === "tenant" ? lookup.head : null,
      storeError: lookup.status === "error" ? lookup.reason : undefined,
      meta,
      globalHead: ready.globalHead,
      globalTau: o.tau ?? meta.tau,
      mode,
      z,
      structure,
      nStructure,
      features,
    };
    let v = decide(input);
    // What the caps cut off, scored as overflow views: the request's score is the highest.
    if (overflow !== false && (needsViews(features) || view.bodyUnread === true)) {
      const ov = overflowViews(view, undefined, overflow.maxViews);
      // Learning reads the request's structure tokens after the views' awaits, when another request may
      // have taken the buffer back from the pool: a copy.
      if (ov.views.length > 0 && structure === buf.structure) structure = structure.slice(0, nStructure);
      // A pool of its own: the request's buffer (back in `pool`) still holds the structure tokens that
      // learning reads below.
      const vbuf = viewPool.pop() ?? newFeatureBuffer();
      // A view is judged with its request by a correction's shape (`ofShape`): the request's listed values,
      // copied when they are still in the pooled buffer that another request may take at an await.
      const of = input.tenantHead?.head.rp === undefined || ov.views.length === 0
        ? undefined
        : features === buf
        ? { params: buf.params.slice(0, 1 + buf.nParams * PARAM_WORDS), nParams: buf.nParams }
        : features;
      try {
        for (const w of ov.views) {
          extractFeaturesInto(w, vbuf);
          const engine = ready.engine;
          const zw = engine.embedSync !== undefined ? engine.embedSync(vbuf) : await engine.embed(vbuf);
          const vw = decide({
            ...input,
            z: zw,
            structure: vbuf.structure,
            nStructure: vbuf.nStructure,
            features: of === undefined ? vbuf : viewOf(vbuf, of),
          });
          if (vw.score > v.score) v = vw;
        }
      } finally {
        if (viewPool.length < POOL_MAX) viewPool.push(vbuf);
      }
      if (!ov.complete) {
        d.inspected = "partial";
        if (overflow.uninspected === "flag") v = flagVerdict(v, mode);
      }
    }
    d.score = v.score;
    d.tau = v.tau;
    d.head = v.head;
    d.headVersion = v.headVersion;
    if (v.headReason !== undefined) d.headReason = v.headReason;
    d.flagged = v.flagged;
    d.decision = v.decision;
    // Learning mode: synchronously, while `structure` is still this request's.
    if (learner !== null && d.tenant !== null) {
      const head = v.head === "tenant" && lookup.status === "tenant" ? lookup.head.head : ready.globalHead;
      try {
        learner.observe(
          d.tenant,
          v.headVersion,
          {
            logit: logit(v.score),
            flagged: v.flagged,
            structure,
            nStructure,
            client,
          },
          profileTermOf(head, meta),
          keep,
        );
      } catch { /* learning never changes a request's decision */ }
    }
  };

  const handler: MiddlewareHandler<TaugateEnv> = async function taugate(c, next) {
    if (mode === "off") return next();
    let req = c.req.raw;
    // The canonical URL (the worker made it before routing; a library app's request is made here): the
    // exclusions, the tenant and the features see it, and what taugate does not serve is refused.
    let path = c.req.path;
    if (!isCanonical(req)) {
      const out = canonicalRequest(req, o.maxTargetBytes);
      if (!(out instanceof Request)) {
        if (log !== false && (log.flaggedSample >= 1 || Math.random() < log.flaggedSample)) {
          log.sink(refusalLogLine(out, req.method));
        }
        return refusalResponse(out);
      }
      if (out !== req) {
        req = c.req.raw = out;
        path = getPath(out);
      }
    }
    if (excluded !== null && excluded(req.method, path, req.headers.get("content-type"))) return next();
    if (excludedSender !== null && excludedSender(req, () => o.clientAddress(c))) return next();
    const t0 = log === false ? 0 : performance.now();

    let tenant = resolveTenant === undefined ? hostTenant(req.url) : resolveTenant(c) ?? null;
    if (tenant !== null && resolveTenant !== undefined && !isTenantId(tenant)) tenant = null;
    // On workerd, work shared with later requests must outlive the request that started it.
    const keep = (p: Promise<unknown>) => {
      try {
        c.executionCtx.waitUntil(p.catch(() => {}));
      } catch { /* no ExecutionContext (Deno, tests): nothing is cancelled there */ }
    };
    const lookup = tenant !== null && cache !== undefined ? cache.lookup(tenant, keep) : NO_HEAD;
    const d: Decision = {
      decision: "error",
      score: null,
      tau: null,
      flagged: false,
      tenant,
      head: "global",
      headVersion: null,
      model: null,
      requestId: "",
    };
    const read: { view: RequestView | null; engine: string | null } = { view: null, engine: null };
    let unreadable = false;
    let client: number | null = null;
    if (learner !== null && tenant !== null) {
      const address = o.clientAddress(c);
      if (typeof address === "string" && address !== "") client = clientHash(address);
    }
    try {
      await score(req, d, lookup, keep, read, client);
    } catch (err) {
      unreadable = err instanceof BodyReadError;
      d.decision = "error";
      d.score = null;
      d.flagged = false;
      d.error = err instanceof Error
        ? `${err.name}: ${err.message}`.slice(0, 300)
        : String(err).slice(0, 300);
    }
    d.requestId = read.view !== null ? requestIdOfHeaders(read.view.headers) : requestIdOf(req);
    c.set("taugate", d);

    if (log !== false) {
      const rate = d.flagged || d.decision === "error" ? log.flaggedSample : log.sample;
      if (rate >= 1 || (rate > 0 && Math.random() < rate)) {
        log.sink(decisionLogLine(d, {
          mode,
          method: req.method,
          path,
          engine: read.engine,
          us: performance.now() - t0,
        }));
      }
    }

    if (unreadable) {
      return ownAnswer(
        c.json(
          { error: "bad_request", reason: "the request body could not be read", request_id: d.requestId },
          400,
          JSON_TYPE,
        ),
        d,
      );
    }
    if (d.decision === "block") {
      return ownAnswer(
        c.json(
          expose
            ? {
              error: "blocked",
              score: d.score === null ? null : Number(formatScore(d.score)),
              tau: d.tau,
              request_id: d.requestId,
            }
            : { error: "blocked", request_id: d.requestId },
          403,
          JSON_TYPE,
        ),
        d,
      );
    }
    if (d.decision === "error" && failMode === "closed") {
      return ownAnswer(
        c.json(
          { error: "unavailable", reason: "the request could not be scored", request_id: d.requestId },
          503,
          JSON_TYPE,
        ),
        d,
      );
    }

    // Downstream sees taugate's decision headers only when taugate set them: a client's own are dropped. In
    // `log` mode a flagged request reaches it as `would-block`.
    const forward = mode === "tag" || mode === "log";
    if (forward || spoofedIn(read.view, req)) {
      const pairs = read.view !== null
        ? read.view.headers.filter((h) => !ownNameSet.has(h[0]))
        : headerPairs(req.headers, ownNameSet);
      if (forward) pairs.push(...decisionHeaderPairs(d, names, shownDecision(d)));
      req = new Request(req, { headers: pairs });
      c.req.raw = req;
    }

    await next();
    if (!expose) return;
    if (!stampHeaders(c.res.headers, d, names, shownDecision(d))) {
      try {
        // Hono's setter keeps the headers; the copy's are mutable.
        const res = c.res;
        c.res = new Response(res.body, {
          status: res.status,
          statusText: res.statusText,
          headers: headerPairs(res.headers),
        });
      } catch {
        return; // A status the Response constructor refuses (101): left as it is.
      }
      stampHeaders(c.res.headers, d, names, shownDecision(d));
    }
  };

  const ready = async (): Promise<EngineStatus> => {
    try {
      await getEngine();
    } catch { /* the status says why */ }
    return getEngine.status();
  };
  return Object.assign(handler, { status: getEngine.status, ready });

  /**
   * taugate's own answer (403, 503) with the decision headers, set on the response rather than passed to
   * `c.json`: with more than one header Hono builds a `Headers` for the `Response` constructor to copy (see
   * `headers.ts`), with one it passes a plain record.
   */
  /** The decision as headers tell it: `would-block` for a request `log` mode lets through flagged. */
  function shownDecision(d: Decision): string {
    return mode === "log" && d.flagged ? "would-block" : d.decision;
  }

  function ownAnswer(res: Response, d: Decision): Response {
    res.headers.set("cache-control", "no-store");
    if (expose) stampHeaders(res.headers, d, names);
    return res;
  }
}
