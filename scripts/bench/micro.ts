/**
 * In-process measurements: feature extraction, one forward pass per engine, the middleware's overhead in a
 * Hono app, and head adaptation. Compared variants take turns in short blocks (`BLOCK` requests each, in a
 * rotating order), so a change of machine load during the run hits them alike while each variant runs with
 * its own code and data warm in the caches (one variant per call would let, say, onnxruntime's memory evict
 * the TypeScript engine's weights, which no deployment does); every figure is a quantile over many calls
 * after a warm-up.
 *
 * @module
 */
import { canarySet } from "../../src/api/model.ts";
import process from "node:process";
import { Hono } from "hono";
import {
  extractFeatures,
  extractFeaturesInto,
  FEATURE_SPEC,
  type FeatureVector,
  INSPECT_BYTES,
  newFeatureBuffer,
  overflowViews,
  type RequestView,
  viewFromRequest,
} from "../../src/features/mod.ts";
import {
  type AdaptConfig,
  adaptHead,
  type HeadExample,
  type UnlabeledRequest,
} from "../../src/heads/adapt.ts";
import { scoreWithHead } from "../../src/heads/score.ts";
import { taugate, type TaugateEnv } from "../../src/middleware/mod.ts";
import type { HeadParams, ScoringEngine } from "../../src/model/types.ts";
import { Learner } from "../../src/learn/learner.ts";
import { HeadCache, headToJson, MemoryHeadStore } from "../../src/store/mod.ts";
import { type BenchRequest, HEAD_TENANT, oneMegabyte, toRequest } from "./mix.ts";
import { median, Samples } from "./stats.ts";

const now = () => performance.now();
/** Consecutive calls of one variant before the next variant's turn. */
export const BLOCK = 64;
const CAP = FEATURE_SPEC.caps.body;

/** Views of the mix as the worker builds them (from a `Request`). */
export function viewsOf(mix: BenchRequest[]): Promise<RequestView[]> {
  return Promise.all(mix.map((r) => viewFromRequest(toRequest(r), CAP)));
}

/** Feature extraction: from a prepared view (the extractor) and from a `Request` (the worker's path). */
export interface FeatureResult {
  view: Samples;
  request: Samples;
  mbView: Samples;
  mbRequest: Samples;
  nnzP50: number;
}

/**
 * Times feature extraction of the mix, view and `Request` paths interleaved, then of a 1 MB request.
 *
 * @param mix The requests.
 * @param iterations Timed extractions per path.
 */
export async function benchFeatures(mix: BenchRequest[], iterations: number): Promise<FeatureResult> {
  const views = await viewsOf(mix);
  const buf = newFeatureBuffer();
  const n = mix.length;
  const fromRequest = async (req: Request) => extractFeaturesInto(await viewFromRequest(req, CAP), buf);
  for (let i = 0; i < Math.min(5000, iterations); i++) {
    extractFeaturesInto(views[i % n], buf);
    await fromRequest(toRequest(mix[i % n]));
  }
  const view = new Samples(), request = new Samples();
  for (let b = 0; b * BLOCK < iterations; b++) {
    for (let side = 0; side < 2; side++) {
      for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
        const k = i % n;
        if ((side ^ (b & 1)) === 0) {
          const t = now();
          extractFeaturesInto(views[k], buf);
          view.add((now() - t) * 1000);
        } else {
          const req = toRequest(mix[k]);
          const t = now();
          await fromRequest(req);
          request.add((now() - t) * 1000);
        }
      }
    }
  }
  const nnz = views.map((v) => extractFeaturesInto(v, buf).nnz);

  const big = oneMegabyte();
  const bigView = await viewFromRequest(toRequest(big), CAP);
  const mbView = new Samples(), mbRequest = new Samples();
  const bigRuns = Math.max(50, Math.floor(iterations / 50));
  for (let i = 0; i < bigRuns + 20; i++) {
    const req = toRequest(big);
    let t = now();
    extractFeaturesInto(bigView, buf);
    const a = (now() - t) * 1000;
    t = now();
    await fromRequest(req);
    const b = (now() - t) * 1000;
    if (i >= 20) mbView.add(a), mbRequest.add(b);
  }
  return { view, request, mbView, mbRequest, nnzP50: median(nnz) };
}

/**
 * Times one forward pass (batch 1) per engine on the mix's features, engines interleaved call by call.
 *
 * @param engines The engines by name.
 * @param features The mix's features.
 * @param iterations Timed calls per engine.
 */
export async function benchModel(
  engines: Record<string, ScoringEngine>,
  features: FeatureVector[],
  iterations: number,
): Promise<Record<string, Samples>> {
  const names = Object.keys(engines);
  const out: Record<string, Samples> = {};
  for (const name of names) out[name] = new Samples();
  for (let i = 0; i < Math.min(3000, iterations); i++) {
    for (const name of names) await engines[name].embed(features[i % features.length]);
  }
  for (let b = 0; b * BLOCK < iterations; b++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(b + j) % names.length], engine = engines[name], samples = out[name];
      for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
        const f = features[i % features.length];
        const t = now();
        await engine.embed(f);
        samples.add((now() - t) * 1000);
      }
    }
  }
  return out;
}

/** Features of the mix (own arrays per request). */
export async function featuresOf(mix: BenchRequest[]): Promise<FeatureVector[]> {
  return (await viewsOf(mix)).map((v) => extractFeatures(v));
}

/**
 * A head for the tenant that has one: adapted from 20 of its requests of the mix (15 benign, 5 attacks)
 * with the model's adaptation settings, stored in a memory store behind the default cache.
 */
export async function tenantStore(
  engine: ScoringEngine,
  mix: BenchRequest[],
  adapt: AdaptConfig,
): Promise<MemoryHeadStore> {
  const examples = await labelledExamples(engine, mix, 15, 5);
  // With the site's unlabelled traffic, so that the head carries a site profile (as uploads give it) and the
  // hot path pays for the novelty term.
  const unlabeled = await unlabeledOf(mix.filter((r) => r.host === HEAD_TENANT && r.label === 0), 200);
  const { head } = adaptHead(engine.head, examples, adapt, { unlabeled });
  const store = new MemoryHeadStore();
  await store.put(HEAD_TENANT, {
    version: 1,
    head: headToJson(head),
    createdAt: new Date().toISOString(),
    modelId: engine.meta.modelId,
    counts: { benign: 15, attack: 5 },
  });
  return store;
}

/** `benign + attack` labelled embeddings of the head tenant's requests (z copied). */
export async function labelledExamples(
  engine: ScoringEngine,
  mix: BenchRequest[],
  benign: number,
  attack: number,
): Promise<HeadExample[]> {
  const want = { 0: benign, 1: attack };
  const picked = mix.filter((r) => r.host === HEAD_TENANT).filter((r) => want[r.label]-- > 0);
  if (picked.length < benign + attack) throw new Error("the mix has too few requests of the head tenant");
  const out: HeadExample[] = [];
  for (const f of await featuresOf(picked)) {
    out.push({
      z: (await engine.embed(f)).slice(),
      label: picked[out.length].label,
      structure: f.structure,
      features: f,
    });
  }
  return out;
}

/** The structure tokens of `n` requests of the mix (cycling through it): a tenant's unlabelled traffic. */
export async function unlabeledOf(mix: BenchRequest[], n: number): Promise<UnlabeledRequest[]> {
  const fs = await featuresOf(mix.slice(0, Math.min(n, mix.length)));
  return Array.from({ length: n }, (_, i) => ({
    structure: fs[i % fs.length].structure,
    params: fs[i % fs.length].params,
  }));
}

/** Middleware overhead: the same app with taugate off and on, per engine. */
export interface MiddlewareResult {
  off: Samples;
  on: Record<string, Samples>;
  /** Per engine, on − off per request (the same request in both variants' blocks of one round). */
  paired: Record<string, Samples>;
  /** Decisions seen per engine (block, allow, ...). */
  decisions: Record<string, Record<string, number>>;
  logLines: number;
  /** Per engine, the same app with learning on (`learn`, a `Learner` without a store) ... */
  learn: Record<string, Samples>;
  /** ... and learning on − learning off per request (the same request in both variants' blocks). */
  learnPaired: Record<string, Samples>;
}

/** The app both measurements use: taugate (or not) in front of a handler that reads the body and answers. */
export function benchApp(mw: Parameters<typeof taugate>[0]): Hono<TaugateEnv> {
  const app = new Hono<TaugateEnv>();
  // The decision headers on the responses (the bench counts decisions by them; figures since 2026-11-29
  // include their cost, so they stay comparable).
  app.use("*", taugate({ exposeToClient: true, ...mw }));
  app.all("*", async (c) => {
    if (c.req.raw.body !== null) await c.req.raw.arrayBuffer();
    return c.text("ok");
  });
  return app;
}

/**
 * Times the mix through the app with `mode: "off"` and with `mode: "block"` for each engine, the variants
 * taking turns in blocks of the same requests. Half of the mix's tenants have a head (see `mix.ts`).
 *
 * @param engines The engines by name.
 * @param store The head store (one cache per app).
 * @param mix The requests.
 * @param iterations Timed requests per variant.
 */
export async function benchMiddleware(
  engines: Record<string, ScoringEngine>,
  store: MemoryHeadStore,
  mix: BenchRequest[],
  iterations: number,
): Promise<MiddlewareResult> {
  let logLines = 0;
  const sink = (line: string) => void (logLines += line.length > 0 ? 1 : 0);
  const names = Object.keys(engines);
  const apps: { name: string; app: Hono<TaugateEnv> }[] = [
    { name: "off", app: benchApp({ engine: engines[names[0]], mode: "off" }) },
    ...names.map((name) => ({
      name,
      app: benchApp({ engine: engines[name], mode: "block", store: new HeadCache(store), log: { sink } }),
    })),
    // Learning on (every tenant of the mix learnt; no store: the writes are not the hot path's).
    ...names.map((name) => ({
      name: `${name}+learn`,
      app: benchApp({
        engine: engines[name],
        mode: "block",
        store: new HeadCache(store),
        log: { sink },
        learn: new Learner(),
      }),
    })),
  ];
  const decisions: Record<string, Record<string, number>> = {};
  for (const name of names) decisions[name] = decisions[`${name}+learn`] = {};
  const once = async (app: Hono<TaugateEnv>, req: Request) => {
    const t = now();
    const res = await app.fetch(req);
    const us = (now() - t) * 1000;
    return { us, res };
  };
  for (let i = 0; i < Math.min(4000, iterations); i++) {
    for (const { app } of apps) await (await app.fetch(toRequest(mix[i % mix.length]))).arrayBuffer();
  }
  const off = new Samples();
  const on: Record<string, Samples> = {}, paired: Record<string, Samples> = {};
  const learn: Record<string, Samples> = {}, learnPaired: Record<string, Samples> = {};
  for (const name of names) {
    on[name] = new Samples(), paired[name] = new Samples();
    learn[name] = new Samples(), learnPaired[name] = new Samples();
  }
  const at = (name: string) => apps.findIndex((a) => a.name === name);
  const times = apps.map(() => new Float64Array(BLOCK));
  for (let b = 0; b * BLOCK < iterations; b++) {
    for (let j = 0; j < apps.length; j++) {
      const k = (b + j) % apps.length;
      for (let i = 0; i < BLOCK; i++) {
        const req = toRequest(mix[(b * BLOCK + i) % mix.length]);
        const { us, res } = await once(apps[k].app, req);
        times[k][i] = us;
        if (k > 0) {
          const d = res.headers.get("x-taugate-decision") ?? "none";
          decisions[apps[k].name][d] = (decisions[apps[k].name][d] ?? 0) + 1;
        }
        await res.arrayBuffer();
      }
    }
    for (let i = 0; i < BLOCK; i++) {
      off.add(times[0][i]);
      for (const name of names) {
        const k = at(name), l = at(`${name}+learn`);
        on[name].add(times[k][i]);
        paired[name].add(times[k][i] - times[0][i]);
        learn[name].add(times[l][i]);
        learnPaired[name].add(times[l][i] - times[k][i]);
      }
    }
  }
  return { off, on, paired, decisions, logLines, learn, learnPaired };
}

/** Head adaptation for K examples. */
export interface AdaptResult {
  k: number;
  /** `adaptHead` alone, median wall time per call, ms. */
  wallMs: number;
  /** `adaptHead` alone, CPU time per call (user + system over all calls), ms. */
  cpuMs: number;
  /** Features and embedding of the K requests, then `adaptHead`: median wall time, ms. */
  withEmbedMs: number;
}

/**
 * Times `adaptHead` on K labelled embeddings (80 % benign), and the whole fit from the K requests.
 *
 * @param engine The engine that embeds the examples.
 * @param mix The requests (the head tenant's are used).
 * @param config The adaptation settings.
 * @param k Examples.
 * @param reps Timed fits.
 */
/** Unlabelled requests in the adaptation benchmark's upload. */
export const UNLABELED = 1000;

export async function benchAdapt(
  engine: ScoringEngine,
  mix: BenchRequest[],
  config: AdaptConfig,
  k: number,
  reps: number,
): Promise<AdaptResult> {
  // K per class, as the tenant API and eval count them, with their structure tokens and 1,000 requests of
  // unlabelled traffic: the site profile is built and used, as in an upload.
  const examples = await labelledExamples(engine, mix, k, k);
  // The canaries with their features: a residual head's anchors, as the tenant API fits.
  const canaries = await canarySet(engine).catch(() => null);
  const anchors = canaries?.features
    ? canaries.z.map((z, i) => ({ z, features: canaries.features![i] }))
    : [];
  const options = { unlabeled: await unlabeledOf(mix, UNLABELED), anchors };
  const init: HeadParams = engine.head;
  for (let i = 0; i < 20; i++) adaptHead(init, examples, config, options);
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t = now();
    adaptHead(init, examples, config, options);
    wall.push(now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  // The whole fit of an upload: features and embeddings of the labelled requests, features (structure
  // tokens) of the unlabelled ones, then adaptHead.
  const want = { 0: k, 1: k };
  const picked = mix.filter((r) => r.host === HEAD_TENANT).filter((r) => want[r.label]-- > 0);
  const rest = Array.from({ length: UNLABELED }, (_, i) => mix[i % mix.length]);
  const buf = newFeatureBuffer();
  const full: number[] = [];
  for (let i = 0; i < Math.max(5, Math.floor(reps / 100)); i++) {
    const reqs = picked.map(toRequest), unl = rest.map(toRequest);
    const t = now();
    const ex: HeadExample[] = [];
    for (let j = 0; j < reqs.length; j++) {
      extractFeaturesInto(await viewFromRequest(reqs[j], CAP), buf);
      ex.push({
        z: (await engine.embed(buf)).slice(),
        label: picked[j].label,
        structure: buf.structure.slice(0, buf.nStructure),
      });
    }
    const unlabeled: UnlabeledRequest[] = [];
    for (const r of unl) {
      extractFeaturesInto(await viewFromRequest(r, CAP), buf);
      unlabeled.push({ structure: buf.structure.slice(0, buf.nStructure) });
    }
    adaptHead(init, ex, config, { unlabeled });
    full.push(now() - t);
  }
  return {
    k,
    wallMs: median(wall),
    cpuMs: (cpu.user + cpu.system) / 1000 / reps,
    withEmbedMs: median(full),
  };
}

/** The last step of the hot path, per request: scoring with the global head and with a tenant's head. */
export interface HeadScoreResult {
  /** Median over rounds of the mean µs per call. */
  globalUs: number;
  tenantUs: number;
  /** The tenant head's residual weights. */
  residualWeights: number;
}

/**
 * Times `scoreWithHead` on the mix's requests (embeddings and features computed beforehand) with the global
 * head and with a K = 50 adapted head of the model's `meta.adapt` (its residual and site profile included),
 * in interleaved rounds: the extra cost of a tenant head over the global one, which is all the middleware
 * does differently for a tenant.
 */
export async function benchHeadScore(
  engine: ScoringEngine,
  mix: BenchRequest[],
  config: AdaptConfig,
  rounds: number,
): Promise<HeadScoreResult> {
  const examples = await labelledExamples(engine, mix, 50, 50);
  const { head } = adaptHead(engine.head, examples, config, { unlabeled: await unlabeledOf(mix, 200) });
  const fs = await featuresOf(mix.slice(0, 500));
  const zs: Float32Array[] = [];
  for (const f of fs) zs.push((await engine.embed(f)).slice());
  const g = new Samples(), t = new Samples();
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    let t0 = now();
    for (let i = 0; i < fs.length; i++) sink += scoreWithHead(engine.head, zs[i]);
    g.add(((now() - t0) * 1000) / fs.length);
    t0 = now();
    for (let i = 0; i < fs.length; i++) sink += scoreWithHead(head, zs[i], fs[i].structure, undefined, fs[i]);
    t.add(((now() - t0) * 1000) / fs.length);
  }
  if (!Number.isFinite(sink)) throw new Error("non-finite scores");
  return { globalUs: g.p50, tenantUs: t.p50, residualWeights: head.ri?.length ?? 0 };
}

/** One kind of request that gets views, through the middleware with overflow views on and off. */
export interface OverflowResult {
  name: string;
  /** Overflow views the request is cut into. */
  views: number;
  /** Median wall time per request, overflow views off (`overflow: false`), µs. */
  offUs: number;
  /** The same with overflow views on (the default), µs. */
  onUs: number;
  /** Median of (on − off) for the same request in interleaved blocks, µs. */
  extraUs: number;
  /** The decision with overflow views off and on (the payload behind the padding, when there is one). */
  decisions: [string, string];
}

const shortFields = (n: number) => Array.from({ length: n }, (_, i) => `f${i}=item-${i}-abcdefgh`).join("&");
const checkout = (extra: string) =>
  "first_name=Ana&last_name=O%27Neill&email=ana.oneill%40example.com&street=12+Rua+das+Flores&city=Porto" +
  "&zip=4000-123&country=PT&phone=%2B351+912+345+678&" + extra;

/**
 * Requests that get views: past each feature cap (a payload behind padding, or plain large ordinary
 * requests), or within them with many values, one suspicious (value views).
 */
export function paddedRequests(): { name: string; req: BenchRequest }[] {
  const xss = encodeURIComponent("<script>alert(document.cookie)</script>");
  const get = (target: string): BenchRequest => ({
    kind: "attack",
    label: 1,
    host: "bench.example",
    method: "GET",
    target,
    headers: [["user-agent", "curl/8.5.0"], ["accept", "*/*"]],
  });
  const post = (type: string, body: string, label: 0 | 1 = 1): BenchRequest => ({
    ...get("/submit"),
    label,
    kind: label === 1 ? "attack" : "form",
    method: "POST",
    headers: [["user-agent", "curl/8.5.0"], ["accept", "*/*"], ["content-type", type]],
    body,
  });
  return [
    { name: "value past 1,024 characters, then XSS", req: get("/search?q=" + "a".repeat(1100) + xss) },
    {
      name: "130 parameters, then XSS",
      req: get("/search?" + Array.from({ length: 130 }, (_, i) => `p${i}=1`).join("&") + "&q=" + xss),
    },
    { name: "16 KB query, XSS at its end", req: get("/search?pad=" + "b".repeat(16_000) + "&q=" + xss) },
    {
      name: "60 KB form body, XSS at its end",
      req: post("application/x-www-form-urlencoded", "pad=" + "c".repeat(60_000) + "&q=" + xss),
    },
    {
      name: "60 KB JSON body, XSS at its end",
      req: post(
        "application/json",
        JSON.stringify({
          items: Array.from({ length: 3000 }, (_, i) => `item-${i}-abcdefgh`),
          q: "<script>x</script>",
        }),
      ),
    },
    { name: "1 MB text body (ordinary; 64 KiB inspected)", req: { ...oneMegabyte(), host: "bench.example" } },
    // Within the caps, but many values: the most suspicious get value views of their own.
    {
      name: "60 short form fields, then XSS (value view)",
      req: post("application/x-www-form-urlencoded", shortFields(60) + "&q=" + xss),
    },
    {
      name: "checkout form, 9 fields, SQL injection in one (value view)",
      req: post("application/x-www-form-urlencoded", checkout("coupon=SAVE10%27+AND+SLEEP%285%29--")),
    },
    {
      name: "checkout form, 9 fields, a note with ( ) ; ! (ordinary; value view)",
      req: post(
        "application/x-www-form-urlencoded",
        checkout("note=Please+leave+it+with+the+neighbour+(no.+14)%3B+thanks!"),
        0,
      ),
    },
    {
      name: "JSON order, 12 strings, ordinary (no view)",
      req: post(
        "application/json",
        JSON.stringify({
          id: 1234,
          items: ["sku-1", "sku-2", "sku-3"],
          customer: { name: "Ana Souza", email: "ana@example.com", phone: "+55 11 91234-5678" },
          ship: { street: "Rua das Flores 12", city: "Porto", zip: "4000-123", country: "PT" },
          currency: "EUR",
        }),
        0,
      ),
    },
  ];
}

/**
 * Times requests past the feature caps through the middleware (`block` mode, the global head), with
 * overflow views on (the default) and off, in interleaved blocks of the same request.
 *
 * @param engine The engine (one in this process).
 * @param iterations Timed requests per variant and request kind.
 */
export async function benchOverflow(engine: ScoringEngine, iterations: number): Promise<OverflowResult[]> {
  const on = benchApp({ engine, mode: "block", log: false });
  const off = benchApp({ engine, mode: "block", log: false, overflow: false });
  const out: OverflowResult[] = [];
  for (const { name, req } of paddedRequests()) {
    const view = await viewFromRequest(toRequest(req), FEATURE_SPEC.caps.body, INSPECT_BYTES);
    const views = overflowViews(view).views.length;
    const decision = async (app: Hono<TaugateEnv>) => {
      const res = await app.fetch(toRequest(req));
      await res.arrayBuffer();
      return res.headers.get("x-taugate-decision") ?? "none";
    };
    const decisions: [string, string] = [await decision(off), await decision(on)];
    for (let i = 0; i < 20; i++) await decision(on), await decision(off);
    const a = new Samples(), b = new Samples(), d = new Samples();
    const block = 10, ta = new Float64Array(block), tb = new Float64Array(block);
    for (let k = 0; k * block < iterations; k++) {
      for (
        const [app, t] of (k % 2 === 0 ? [[off, ta], [on, tb]] : [[on, tb], [off, ta]]) as [
          Hono<TaugateEnv>,
          Float64Array,
        ][]
      ) {
        for (let i = 0; i < block; i++) {
          const r = toRequest(req);
          const t0 = now();
          const res = await app.fetch(r);
          await res.arrayBuffer();
          t[i] = (now() - t0) * 1000;
        }
      }
      for (let i = 0; i < block; i++) a.add(ta[i]), b.add(tb[i]), d.add(tb[i] - ta[i]);
    }
    out.push({ name, views, offUs: a.p50, onUs: b.p50, extraUs: median(d.xs), decisions });
  }
  return out;
}
