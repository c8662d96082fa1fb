/**
 * `node train/bin/run.mjs learnreplay [--folds 0] [--n 5000] [--fpr 0.001] [--scenarios clean,mixed,oneclient]
 * [--logged 1] [--no-profile] [--json OUT.json]`: learning mode on real sites left out of training, through the
 * worker's own code.
 *
 * For each site: its ordinary requests (dressed with a client context, in the log's order) are cut into a
 * learning part (the first `n`, at most half of them) and a test part (the next `n`). The learning part is
 * replayed through the middleware in `log` mode with learning on (a `Learner`, a memory tenant store, the
 * tenant API in the same process, client addresses drawn from a pool of 256); then
 * `POST /_taugate/tenants/:t/learning/apply {"fpr": ...}` makes the tenant's head. The test part and attacks
 * implanted into the site's own requests (held-out payload split) are then sent through a second worker
 * (no learning) that reads the same store, before (global head, the model's τ) and after.
 *
 * Scenarios: `clean` (the learning part as it is), `mixed` (2 % of it replaced by attacks from many
 * clients), `oneclient` (20 % of it replaced by attacks, all from one client address). The attacks mixed in
 * are not the ones measured. `--logged 1` replays the requests as logged (user agent and referer only) instead
 * of dressed with a client context; `--no-profile` applies without the learnt profile (τ chosen on the scores
 * as served). `--help` lists every option with its default (the table is `LEARNREPLAY` in `commands.ts`).
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Hono } from "hono";
import { tenantApi } from "@taugate/api/api.ts";
import { Learner } from "@taugate/learn/learner.ts";
import { taugate, type TaugateEnv } from "@taugate/middleware/mod.ts";
import { createTsEngine } from "@taugate/model/mod.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { HeadCache } from "@taugate/store/cached.ts";
import { MemoryTenantStore } from "@taugate/store/tenant_memory.ts";
import { DEFAULT_RUN } from "../config.ts";
import { loadSources } from "../data/sources.ts";
import { median } from "../eval/metrics.ts";
import { loadSiteData, siteEvalSets } from "../sites.ts";
import { buildWorld } from "../synth/world.ts";
import { Rng } from "../util/rng.ts";
import { parseCli } from "./args.ts";
import { LEARNREPLAY } from "./commands.ts";
import { DEFAULT_MODEL } from "./eval.ts";

const ADMIN = "learnreplay-operator-token-0123456789abcdef";
const CLIENT_HEADER = "x-replay-client";

/** One site and scenario. */
export interface ReplayRow {
  site: string;
  scenario: string;
  learnt: number;
  tested: number;
  attacks: number;
  tauGlobal: number;
  tau: number;
  settled: boolean;
  limit: string | null;
  contamination: number;
  /** Share of the test part blocked (flagged), at the global τ and after apply. */
  blocked: [number, number];
  /** Share of the implanted attacks flagged, at the global τ and after apply. */
  caught: [number, number];
}

/** The CLI entry: returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, LEARNREPLAY);
  if (typeof args === "number") return args;
  const withProfile = !args.flag("no-profile");
  const dataDir = args.str("data")!;
  const folds = args.ints("folds");
  const n = args.num("n");
  const fpr = args.num("fpr");
  const scenarios = args.str("scenarios")!.split(",");
  const seed = args.num("seed");
  const modelBytes = new Uint8Array(readFileSync(args.str("model", DEFAULT_MODEL)));
  const engine = createTsEngine(modelBytes);
  const world = buildWorld(loadSources(dataDir), seed, DEFAULT_RUN.world);
  const sites = loadSiteData(dataDir).filter((s) => folds.includes(s.fold));
  const sets = siteEvalSets(sites, world.pools, seed, DEFAULT_RUN.world, "query", 800);
  const out: ReplayRow[] = [];
  for (const s of sets) {
    const traffic = args.str("logged") === "1" ? s.logged : s.dressed;
    const learnN = Math.min(n, Math.floor(traffic.length / 2));
    const learnPart = traffic.slice(0, learnN);
    const testPart = traffic.slice(learnN, learnN + n);
    const measured = s.attacks.slice(0, 400), poison = s.attacks.slice(400);
    const tenant = `${s.id}.replay.test`;
    for (const scenario of scenarios) {
      const r = new Rng(seed, `learnreplay:${s.id}:${scenario}`);
      const clients = Array.from({ length: 256 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);
      const learnTraffic: [RequestRecord, string][] = learnPart.map((x) => [x, r.pick(clients)]);
      const share = scenario === "mixed" ? 0.02 : scenario === "oneclient" ? 0.2 : 0;
      const k = Math.round(share * learnTraffic.length);
      const slots = r.shuffle(Array.from({ length: learnTraffic.length }, (_, i) => i)).slice(0, k);
      slots.forEach((slot, j) => {
        const attacker = scenario === "oneclient" ? "203.0.113.66" : r.pick(clients);
        learnTraffic[slot] = [poison[j % poison.length], attacker];
      });

      const store = new MemoryTenantStore();
      const learner = new Learner({ store: store.learning, flushMs: 86_400_000 });
      const learning = workerApp(engine, store, learner);
      const before = await rates(workerApp(engine, store, null), tenant, testPart, measured);
      for (const [rec, client] of learnTraffic) await send(learning, tenant, rec, client);
      const learnt = await learningOf(learning, tenant);
      const res = await learning.request(`http://${tenant}/_taugate/tenants/${tenant}/learning/apply`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ fpr, profile: withProfile }),
      });
      const applied = await res.json();
      if (res.status !== 201) {
        console.error(`${s.id} ${scenario}: apply answered ${res.status} ${JSON.stringify(applied)}`);
        continue;
      }
      // A new worker, as the next isolate would be (its cache reads the head apply wrote).
      const after = await rates(workerApp(engine, store, null), tenant, testPart, measured);
      const row: ReplayRow = {
        site: s.id,
        scenario,
        learnt: applied.requests,
        tested: testPart.length,
        attacks: measured.length,
        tauGlobal: engine.meta.tau,
        tau: applied.tau,
        settled: applied.settled,
        limit: applied.limit,
        contamination: learnt.contamination,
        blocked: [before.blocked, after.blocked],
        caught: [before.caught, after.caught],
      };
      out.push(row);
      console.error(JSON.stringify(row));
    }
  }
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  for (const scenario of scenarios) {
    const rows = out.filter((x) => x.scenario === scenario);
    if (rows.length === 0) continue;
    const drop = rows.map((x) => x.caught[0] - x.caught[1]);
    console.log(
      `${scenario.padEnd(10)} ${rows.length} sites, learnt ${median(rows.map((x) => x.learnt))} (median), ` +
        `tested ${median(rows.map((x) => x.tested))}: ordinary blocked ${
          pct(median(rows.map((x) => x.blocked[0])))
        } → ${pct(median(rows.map((x) => x.blocked[1])))} (median), worst ${
          pct(Math.max(...rows.map((x) => x.blocked[0])))
        } → ${pct(Math.max(...rows.map((x) => x.blocked[1])))}; attacks caught ${
          pct(median(rows.map((x) => x.caught[0])))
        } → ${pct(median(rows.map((x) => x.caught[1])))} (median; largest fall ${
          pct(Math.max(...drop))
        }); τ median ${median(rows.map((x) => x.tau)).toPrecision(4)} (global ${
          rows[0].tauGlobal.toPrecision(4)
        })`,
    );
  }
  const json = args.str("json");
  if (json) writeFileSync(json, JSON.stringify(out, null, 1) + "\n");
  return 0;
}

/** The worker's middleware (log mode, decisions shown to the client) and, with a learner, the API. */
function workerApp(
  engine: ReturnType<typeof createTsEngine>,
  store: MemoryTenantStore,
  learner: Learner | null,
): Hono<TaugateEnv> {
  const cache = new HeadCache(store.heads, { ttlMs: 0 });
  const app = new Hono<TaugateEnv>();
  if (learner !== null) {
    const api = tenantApi({ adminToken: ADMIN, store, engine, cache, mode: "log", learner, log: () => {} });
    app.use("/_taugate/*", (c) => Promise.resolve(api.fetch(c.req.raw)));
  }
  app.use(
    "*",
    taugate({
      engine,
      mode: "log",
      store: cache,
      exposeToClient: true,
      log: false,
      learn: learner ?? false,
      clientAddress: (c) => c.req.header(CLIENT_HEADER) ?? null,
    }),
  );
  app.all("*", (c) => c.text("ok"));
  return app;
}

/** Sends a record; whether the worker flagged it (`null`: a request fetch cannot make, e.g. CONNECT). */
async function send(
  app: Hono<TaugateEnv>,
  tenant: string,
  rec: RequestRecord,
  client: string,
): Promise<boolean | null> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(rec.headers ?? {})) {
    try {
      headers.append(k, v);
    } catch { /* a header value fetch refuses: left out */ }
  }
  headers.set(CLIENT_HEADER, client);
  let url: string;
  try {
    url = new URL(rec.url.startsWith("/") ? rec.url : "/" + rec.url, `http://${tenant}`).href;
  } catch {
    return null;
  }
  const method = rec.method;
  let req: Request;
  try {
    req = new Request(url, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : rec.body ?? "",
    });
  } catch {
    return null;
  }
  const res = await app.request(req);
  await res.body?.cancel();
  return res.headers.get("x-taugate-decision") === "would-block";
}

async function rates(
  app: Hono<TaugateEnv>,
  tenant: string,
  ordinary: RequestRecord[],
  attacks: RequestRecord[],
): Promise<{ blocked: number; caught: number }> {
  let b = 0, nb = 0, c = 0, nc = 0;
  for (const x of ordinary) {
    const f = await send(app, tenant, x, "192.0.2.1");
    if (f !== null) nb++, b += f ? 1 : 0;
  }
  for (const x of attacks) {
    const f = await send(app, tenant, x, "192.0.2.2");
    if (f !== null) nc++, c += f ? 1 : 0;
  }
  return { blocked: b / Math.max(1, nb), caught: c / Math.max(1, nc) };
}

async function learningOf(app: Hono<TaugateEnv>, tenant: string): Promise<{ contamination: number }> {
  const res = await app.request(`http://${tenant}/_taugate/tenants/${tenant}/learning`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return await res.json();
}
