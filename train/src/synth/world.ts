/**
 * The world training and evaluation live in: meta-training tenants built from groups of the `fwaf` benign
 * source and from the real sites of `sites/` (their own logged requests, dressed with real clients'
 * headers), evaluation tenants from `fwaf` groups never trained on, from the whole `urldetect` source (an
 * unseen site) and from real sites left out (`../sites.ts`), each with its own benign traffic and its own
 * attack mix (injections of every family at realistic places and encodings, anomalies synthesised from its
 * own requests, scanner targets).
 *
 * @module
 */
import type { RequestRecord } from "@taugate/record/record.ts";
import { MAX_BODY_CHARS, MAX_HEADER_VALUE_CHARS, MAX_URL_CHARS } from "@taugate/record/schema.ts";
import { ANOMALY_FAMILIES, attackLikeReason, HELD_OUT_FAMILIES, SCANNER_FAMILY } from "../data/families.ts";
import { type AttackTarget, type AttackValue, buildPools, type Pools, type Split } from "../data/pools.ts";
import { loadSources, type Sources } from "../data/sources.ts";
import { hashString, Rng } from "../util/rng.ts";
import { ANOMALIES } from "./anomalies.ts";
import { inject, replaceTarget } from "./inject.ts";
import { parseQuery, type Req, splitTarget, toRecord } from "./request.ts";
import { benignRequest, type ClientKind, cookiesFor, makeTenant, type Tenant } from "./tenant.ts";
import { agentKind, contextHeaders } from "./clients.ts";
import type { SiteRecord } from "../data/sites.ts";

/** Sizes of the world; the defaults are the shipped configuration. */
export interface WorldConfig {
  /** Groups the `fwaf` benign source is cut into (by a hash of the first path segment). */
  fwafGroups: number;
  /** Of those, how many are evaluation tenants (never meta-trained on). */
  evalGroups: number;
  /** Source lines a tenant keeps at most. */
  maxBases: number;
  /** Benign and attack records of a meta-training tenant. */
  trainBenign: number;
  trainAttacks: number;
  /** Records of an evaluation tenant's support pool and query set. */
  supportBenign: number;
  supportAttacks: number;
  queryBenign: number;
  queryAttacks: number;
  /** Mix of attacks: seen-family injections, unseen-family injections, anomalies, scanner targets. */
  mix: { injection: number; unseen: number; anomaly: number; target: number };
  /**
   * Anomaly families in meta-training tenants' attacks. Only those that are anomalous on any site: what is
   * unusual for one site (a value's type, length, charset, an extra parameter, a method, an encoding) is
   * ordinary on another, and a global head taught to flag it blocks real sites' ordinary traffic (measured
   * on the validation folds). Evaluation keeps every family.
   */
  trainAnomalies: readonly string[];
  /** Weight of whole scanner targets (`fwaf/badqueries.txt`) in meta-training tenants' attacks, 0 … 1. */
  trainTargets: number;
  /**
   * Anomaly families in meta-training tenants' attacks with a soft target (`softTarget`) instead of 1: the
   * global head may rank them above ordinary traffic, never as high as an attack (the loss's optimum for a
   * request it tells apart is `logit softTarget`). Absent or empty: none.
   */
  softAnomalies?: readonly string[];
  /** The target of `softAnomalies` (0 … 1). */
  softTarget?: number;
  /** How often a soft family is drawn against a hard one (default 1: as often). */
  softWeight?: number;
  /**
   * How many times each real site's tenant is listed among the training tasks (default 1): training draws
   * tasks uniformly, episodes and pooled rows alike, so 2 draws a real site's requests twice as often as a
   * synthetic tenant's, without copying a row.
   */
  siteRepeat?: number;
}

/** The attack maker of meta-training tenants (their anomaly families, soft ones weighted, and scanner targets). */
export function trainAttackMaker(
  pools: { values: AttackValue[]; targets: AttackTarget[] },
  world: WorldConfig,
): AttackMaker {
  return new AttackMaker(
    pools.values,
    pools.targets,
    trainAnomalyFamilies(world),
    world.trainTargets,
    world.softAnomalies ?? [],
    world.softWeight ?? 1,
  );
}

/** The anomaly families meta-training tenants' attacks are drawn from: `trainAnomalies` and `softAnomalies`. */
export function trainAnomalyFamilies(world: WorldConfig): string[] {
  return [...new Set([...world.trainAnomalies, ...(world.softAnomalies ?? [])])];
}

/** The soft targets of meta-training (`buildTaskSet`), or undefined without soft anomalies. */
export function softTargetsOf(
  world: WorldConfig,
): { families: readonly string[]; target: number } | undefined {
  const families = world.softAnomalies ?? [];
  return families.length === 0 || world.softTarget === undefined
    ? undefined
    : { families, target: world.softTarget };
}

/** The shipped world configuration. */
export const DEFAULT_WORLD: WorldConfig = {
  fwafGroups: 48,
  evalGroups: 6,
  maxBases: 3000,
  trainBenign: 2500,
  trainAttacks: 900,
  supportBenign: 1500,
  supportAttacks: 600,
  queryBenign: 2000,
  queryAttacks: 1200,
  mix: { injection: 0.4, unseen: 0.15, anomaly: 0.35, target: 0.1 },
  trainAnomalies: ["probe"],
  trainTargets: 0,
  // Soft targets for the site-relative anomaly families: chosen on rotation 0 (design fold 0, seeds 1 and 2),
  // where 0.5 ranked best of 0.15–0.7 (all-attacks AUC 0.940 / 0.924 → 0.978 / 0.973). Shipped once the
  // stricter ordinary-traffic filter took the payloads a site had answered 200 out of the calibration folds,
  // which had put τ at the 0.999 cap (README, Results: what it costs at τ).
  // Every anomaly family but the one taught as an attack (`probe`, in `trainAnomalies`).
  softAnomalies: ANOMALY_FAMILIES.filter((f) => f !== "probe"),
  softTarget: 0.5,
};

/** A tenant with its records. */
export interface TenantRecords {
  tenant: Tenant;
  benign: RequestRecord[];
  attacks: RequestRecord[];
}

/** An evaluation tenant: a support pool to draw shots (and unlabelled traffic) from, and a query set. */
export interface EvalTenant {
  tenant: Tenant;
  support: RequestRecord[];
  query: RequestRecord[];
}

/** Everything built, with the account the model card reports. */
export interface World {
  sources: Sources;
  pools: Pools;
  train: TenantRecords[];
  eval: EvalTenant[];
  stats: {
    benignDropped: Record<string, number>;
    benignDuplicates: number;
    fwafLinesKept: number;
    urldetectLinesKept: number;
    trainTenants: string[];
    evalTenants: string[];
    heldOutFamilies: readonly string[];
    guardRetries: number;
    limitRetries: number;
  };
}

/** The first path segment of a record URL (the tenant key of `fwaf` lines). */
function firstSegment(url: string): string {
  const path = url.replace(/^[a-z]+:\/\/[^/]*/i, "").split("?")[0];
  return path.split("/").filter((s) => s !== "")[0] ?? "";
}

/** Picks families uniformly, each weighted down when it has few strings (so 3 strings are not 1/14 of all). */
function familyWeights<T extends { family: string }>(
  items: T[],
): { families: string[]; weights: number[]; by: Map<string, T[]> } {
  const by = new Map<string, T[]>();
  for (const it of items) {
    if (!by.has(it.family)) by.set(it.family, []);
    by.get(it.family)!.push(it);
  }
  const families = [...by.keys()].sort();
  return {
    families,
    weights: families.map((f) => Math.min(1, by.get(f)!.length / 40)),
    by,
  };
}

/** The view a server would see; an attack whose view equals its base's was lost in normalisation. */
function viewKey(r: RequestRecord): string {
  let target: string;
  try {
    const u = new URL(r.url, "http://x.invalid");
    target = u.pathname + u.search;
  } catch {
    target = r.url;
  }
  return `${r.method} ${target} ${JSON.stringify(r.headers ?? {})} ${r.body ?? ""}`;
}

/** Whether a record fits the record schema's size limits (what `deno task eval` accepts). */
function withinLimits(r: RequestRecord): boolean {
  if (r.url.length > MAX_URL_CHARS || (r.body?.length ?? 0) > MAX_BODY_CHARS) {
    return false;
  }
  for (const v of Object.values(r.headers ?? {})) {
    if (v.length > MAX_HEADER_VALUE_CHARS) return false;
  }
  return true;
}

/** Generates attack records for a tenant from the pools of one split. */
export class AttackMaker {
  guardRetries = 0;
  limitRetries = 0;
  constructor(
    private values: AttackValue[],
    private targets: AttackTarget[],
    private trainAnomalies: readonly string[] = ANOMALY_FAMILIES,
    private trainTargets = 1,
    /** Families of `trainAnomalies` drawn `softWeight` times as often as the others (`WorldConfig.softWeight`). */
    private softAnomalies: readonly string[] = [],
    private softWeight = 1,
  ) {}

  make(
    tenant: Tenant,
    n: number,
    mix: WorldConfig["mix"],
    split: Split,
    rng: Rng,
    trainOnly: boolean,
    baseOf: (rng: Rng) => Req = (r) => benignRequest(tenant, r).req,
  ): RequestRecord[] {
    const seenValues = this.values.filter((v) => v.split === split && !HELD_OUT_FAMILIES.includes(v.family));
    const unseenValues = trainOnly
      ? []
      : this.values.filter((v) => v.split === split && HELD_OUT_FAMILIES.includes(v.family));
    const targets = this.targets.filter((t) => t.split === split);
    const seen = familyWeights(seenValues),
      unseen = familyWeights(unseenValues),
      tg = familyWeights(targets);
    const kinds = ["injection", "unseen", "anomaly", "target"] as const;
    const anomalies = trainOnly ? this.trainAnomalies : ANOMALY_FAMILIES;
    // Each anomaly family's weight: 1, or `softWeight` for a soft family in meta-training.
    const reweighted = trainOnly && this.softWeight !== 1 && this.softAnomalies.length > 0;
    const anomalyWeights = anomalies.map((f) =>
      reweighted && this.softAnomalies.includes(f) ? this.softWeight : 1
    );
    const anomalyMass = anomalyWeights.reduce((a, b) => a + b, 0);
    const weights = [
      mix.injection,
      trainOnly ? 0 : mix.unseen,
      anomalies.length === 0
        ? 0
        : trainOnly
        ? mix.anomaly * anomalyMass / ANOMALY_FAMILIES.length
        : mix.anomaly,
      trainOnly ? mix.target * this.trainTargets : mix.target,
    ];
    const out: RequestRecord[] = [];
    while (out.length < n) {
      const kind = rng.weighted(kinds, weights);
      const base = baseOf(rng);
      let req: Req | null = null;
      let family = "";
      if (kind === "injection" || kind === "unseen") {
        const pool = kind === "injection" ? seen : unseen;
        family = rng.weighted(pool.families, pool.weights);
        const v = rng.pick(pool.by.get(family)!);
        req = inject(base, tenant, v.text, family, rng).req;
      } else if (kind === "anomaly") {
        family = reweighted ? rng.weighted(anomalies, anomalyWeights) : rng.pick(anomalies);
        req = ANOMALIES[family](base, tenant, rng);
      } else {
        family = rng.weighted(tg.families, tg.weights);
        req = replaceTarget(base, rng.pick(tg.by.get(family)!).url);
      }
      if (req === null) continue;
      const rec = toRecord(req, 1, family, tenant.id);
      if (!withinLimits(rec)) {
        this.limitRetries++;
        continue;
      }
      if (viewKey(rec) === viewKey(toRecord(base, 0, "benign", tenant.id))) {
        this.guardRetries++;
        continue;
      }
      out.push(rec);
    }
    return out;
  }
}

function benignRecords(tenant: Tenant, n: number, rng: Rng): RequestRecord[] {
  return Array.from(
    { length: n },
    () => toRecord(benignRequest(tenant, rng).req, 0, "benign", tenant.id),
  );
}

/**
 * Builds the world from the data folder.
 *
 * @param sources The imported data (see `loadSources`).
 * @param seed The run's seed.
 * @param config Sizes.
 */
export function buildWorld(
  sources: Sources,
  seed: number,
  config: WorldConfig = DEFAULT_WORLD,
): World {
  const pools = buildPools(sources, seed);
  const benignDropped: Record<string, number> = {};
  const seenUrls = new Set<string>();
  let benignDuplicates = 0;
  const groups: string[][] = Array.from(
    { length: config.fwafGroups },
    () => [],
  );
  for (const e of sources.fwafGood) {
    const why = attackLikeReason(e.raw);
    if (why) {
      benignDropped[why] = (benignDropped[why] ?? 0) + 1;
      continue;
    }
    if (seenUrls.has(e.record.url)) {
      benignDuplicates++;
      continue;
    }
    seenUrls.add(e.record.url);
    groups[hashString(firstSegment(e.record.url), seed) % config.fwafGroups]
      .push(e.record.url);
  }
  const ud = urldetectUrls(sources, seenUrls);
  const urldetect = ud.urls;
  benignDuplicates += ud.duplicates;
  const maker = trainAttackMaker(pools, config);
  const cap = (
    urls: string[],
    r: Rng,
  ) => (urls.length > config.maxBases ? r.sample(urls, config.maxBases) : urls);

  const train: TenantRecords[] = [];
  const evalTenants: EvalTenant[] = [];
  const evalGroupIds = new Set(
    new Rng(seed, "eval-groups").sampleIndices(
      config.fwafGroups,
      config.evalGroups,
    ),
  );
  for (let g = 0; g < config.fwafGroups; g++) {
    const id = `fwaf-${String(g).padStart(2, "0")}`;
    // Every tenant has its own stream, so one tenant can be rebuilt alone (`heldOutTenant`).
    const r = new Rng(seed, id);
    if (groups[g].length < 50) continue;
    if (evalGroupIds.has(g)) {
      evalTenants.push(
        evalTenant(id, "fwaf", cap(groups[g], r), r, maker, config),
      );
    } else {
      const tenant = makeTenant(id, "fwaf", cap(groups[g], r), r);
      train.push(
        trainTenant(tenant, config.trainBenign, (rr) => benignRequest(tenant, rr).req, maker, config, r),
      );
    }
  }
  evalTenants.push(urldetectTenant(urldetect, seed, maker, config));
  return {
    sources,
    pools,
    train,
    eval: evalTenants,
    stats: {
      benignDropped,
      benignDuplicates,
      fwafLinesKept: groups.reduce((a, g) => a + g.length, 0),
      urldetectLinesKept: urldetect.length,
      trainTenants: train.map((t) => t.tenant.id),
      evalTenants: evalTenants.map((t) => t.tenant.id),
      heldOutFamilies: HELD_OUT_FAMILIES,
      guardRetries: maker.guardRetries,
      limitRetries: maker.limitRetries,
    },
  };
}

/** The unseen site: the whole `urldetect` benign source, with twice the benign records of the others. */
function urldetectTenant(
  urls: string[],
  seed: number,
  maker: AttackMaker,
  config: WorldConfig,
): EvalTenant {
  return evalTenant(
    "urldetect",
    "urldetect",
    urls,
    new Rng(seed, "urldetect"),
    maker,
    {
      ...config,
      supportBenign: config.supportBenign * 2,
      queryBenign: config.queryBenign * 2,
    },
  );
}

/** The `urldetect` benign lines, deduplicated (first occurrence kept). */
function urldetectUrls(
  sources: Sources,
  seen: Set<string>,
): { urls: string[]; duplicates: number } {
  const urls: string[] = [];
  let duplicates = 0;
  for (const e of sources.urldetectGood) {
    if (seen.has(e.record.url)) {
      duplicates++;
      continue;
    }
    seen.add(e.record.url);
    urls.push(e.record.url);
  }
  return { urls, duplicates };
}

/**
 * An evaluation tenant: its source lines are split in two, so that the query's benign requests come from
 * lines the support pool never used; attacks come from the `support` and `query` payload splits.
 */
function evalTenant(
  id: string,
  source: string,
  urls: string[],
  rng: Rng,
  maker: AttackMaker,
  config: WorldConfig,
): EvalTenant {
  const shuffled = rng.shuffle([...urls]);
  const half = Math.floor(shuffled.length / 2);
  const base = makeTenant(id, source, shuffled, rng);
  const supportT: Tenant = { ...base, bases: base.bases.slice(0, half) };
  const queryT: Tenant = { ...base, bases: base.bases.slice(half) };
  return {
    tenant: base,
    support: [
      ...benignRecords(supportT, config.supportBenign, rng),
      ...maker.make(
        supportT,
        config.supportAttacks,
        config.mix,
        "support",
        rng,
        false,
      ),
    ],
    query: [
      ...benignRecords(queryT, config.queryBenign, rng),
      ...maker.make(
        queryT,
        config.queryAttacks,
        config.mix,
        "query",
        rng,
        false,
      ),
    ],
  };
}

/**
 * The records of the unseen evaluation tenant (`urldetect`, a benign source never meta-trained on), for
 * tests that need "a site the model never saw" without running the CLI.
 *
 * @param dataDir The data folder.
 * @param seed The seed (the shipped model used 1).
 */
export function heldOutTenant(
  dataDir: string,
  seed = 1,
  config: WorldConfig = DEFAULT_WORLD,
): EvalTenant {
  const sources = loadSources(dataDir);
  const pools = buildPools(sources, seed);
  // The fwaf lines come first in the deduplication, as in `buildWorld`.
  const seen = new Set<string>();
  for (const e of sources.fwafGood) {
    if (!attackLikeReason(e.raw)) seen.add(e.record.url);
  }
  const { urls } = urldetectUrls(sources, seen);
  return urldetectTenant(
    urls,
    seed,
    new AttackMaker(pools.values, pools.targets),
    config,
  );
}

export { SCANNER_FAMILY };

/** How a real site's requests are dressed: share left exactly as logged, share replaced by synthetic ones. */
export interface SiteDress {
  /** Requests with nothing but the log's user agent and referer (the rest is synthesised otherwise). */
  asLogged: number;
  /** Requests that are the tenant's synthetic ones (bodies, forms, JSON, cookies) on the site's own paths. */
  synthetic: number;
}

/** The shipped dress of real sites in training and in the attack bases of evaluation. */
export const SITE_DRESS: SiteDress = { asLogged: 0.35, synthetic: 0.25 };

/** Methods a browser sends without an `Origin` header (to its own site). */
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A real site's logged request as a request under construction: its method and target as logged, its user
 * agent and referer, the rest of its client's headers synthesised from real distributions (or not, with
 * probability `asLogged`), and the tenant's cookies on a browser's request.
 */
export function siteReq(t: Tenant, rec: SiteRecord, rng: Rng, asLogged: number): Req {
  const { path, query } = splitTarget(rec.url);
  const host = rec.headers?.["host"] ?? t.host;
  const headers = contextHeaders(rng, rec.headers ?? {}, asLogged, host);
  const browser = agentKind(rec.headers?.["user-agent"]) === "browser";
  const dressed = headers.length > 2 || (headers.length > 0 && !browser);
  const client: ClientKind = browser ? "desktop" : "api";
  // A browser's POST (or PUT, PATCH, DELETE) carries its page's origin.
  if (browser && headers.length > 2 && !SAFE_METHODS.has(rec.method) && rng.chance(0.9)) {
    headers.push(["origin", `https://${host}`]);
  }
  return {
    method: rec.method,
    path: path === "" ? "/" : path,
    query: parseQuery(query),
    headers,
    cookies: browser && dressed && rng.chance(0.6) ? cookiesFor(rng, t, client) : [],
    body: null,
  };
}

/** A request of a real site's tenant: a logged one (dressed), or a synthetic one on its own paths. */
export function siteRequest(t: Tenant, records: SiteRecord[], rng: Rng, dress: SiteDress = SITE_DRESS): Req {
  if (rng.chance(dress.synthetic)) return benignRequest(t, rng).req;
  return siteReq(t, rng.pick(records), rng, dress.asLogged);
}

/**
 * A real site as a meta-training tenant: its ordinary requests (the documented filter, deduplicated) are its
 * benign traffic, dressed; attacks are implanted into the same requests at their real parameter positions.
 *
 * @param id The site id.
 * @param records Its ordinary records.
 * @param seed The run's seed.
 * @param maker Attack pools (train split).
 * @param config Sizes.
 */
export function siteTrainTenant(
  id: string,
  records: SiteRecord[],
  seed: number,
  maker: AttackMaker,
  config: WorldConfig,
): TenantRecords {
  const r = new Rng(seed, `site:${id}`);
  const tenant = makeTenant(`site-${id}`, "site", records.map((x) => x.url), r);
  const nBenign = Math.min(config.trainBenign, Math.max(200, records.length));
  const requestOf = (rr: Rng) => {
    const req = siteRequest(tenant, records, rr);
    return rr.chance(DOUBLE_SLASH_SHARE) ? doubleSlash(req, rr) : req;
  };
  return trainTenant(tenant, nBenign, requestOf, maker, config, r);
}

/** Share of a real site's training requests (benign, and the bases of implanted attacks) given a `//`. */
export const DOUBLE_SLASH_SHARE = 0.03;

/**
 * The request with one of its path's slashes doubled, as real clients send them (a link built as
 * `base + "/" + path`, a crawler's join): `//index.php`, `/blog//2019/x`, `//`. Servers answer them as the
 * single-slash path, so a doubled slash alone is ordinary traffic; an attack implanted into such a request is
 * still the attack.
 */
export function doubleSlash(req: Req, rng: Rng): Req {
  const slashes: number[] = [];
  for (let i = 0; i < req.path.length; i++) if (req.path[i] === "/") slashes.push(i);
  if (slashes.length === 0) return req;
  const at = rng.chance(0.5) ? 0 : rng.pick(slashes);
  return { ...req, path: req.path.slice(0, at) + "/" + req.path.slice(at) };
}

/** A meta-training tenant's records: `nBenign` requests of its own, and attacks implanted into others. */
function trainTenant(
  tenant: Tenant,
  nBenign: number,
  requestOf: (rng: Rng) => Req,
  maker: AttackMaker,
  config: WorldConfig,
  r: Rng,
): TenantRecords {
  return {
    tenant,
    benign: Array.from({ length: nBenign }, () => toRecord(requestOf(r), 0, "benign", tenant.id)),
    attacks: maker.make(tenant, config.trainAttacks, config.mix, "train", r, true, requestOf),
  };
}

/** A held-out real site's evaluation records. */
export interface SiteEval {
  id: string;
  /** Every ordinary request as logged (not deduplicated): the block-rate figure. */
  logged: RequestRecord[];
  /** The same requests with a full client context synthesised (browser header sets, bots' headers). */
  dressed: RequestRecord[];
  /** Attacks implanted into the site's own requests (dressed like its benign traffic). */
  attacks: RequestRecord[];
}

/**
 * A real site's ordinary request as logged: method, target, user agent and referer, nothing synthesised (what
 * the block rate "as logged" counts).
 */
export function loggedRecord(x: SiteRecord, id: string): RequestRecord {
  return {
    method: x.method,
    url: x.url,
    headers: { ...x.headers },
    body: "",
    label: 0,
    family: "benign",
    tenant: id,
  };
}

/**
 * A held-out site's evaluation set: its ordinary traffic as logged and dressed, and `nAttacks` attacks
 * from the given payload split (seen and unseen families, anomalies of its own requests, scanner targets).
 */
export function siteEvalSet(
  id: string,
  ordinary: SiteRecord[],
  seed: number,
  maker: AttackMaker,
  config: WorldConfig,
  split: Split,
  nAttacks: number,
): SiteEval {
  const r = new Rng(seed, `site-eval:${id}`);
  const unique = [...new Map(ordinary.map((x) => [`${x.method} ${x.url}`, x])).values()];
  const tenant = makeTenant(`site-${id}`, "site", unique.map((x) => x.url), r);
  return {
    id,
    logged: ordinary.map((x) => loggedRecord(x, id)),
    dressed: ordinary.map((x) => toRecord(siteReq(tenant, x, r, 0), 0, "benign", id)),
    attacks: maker.make(
      tenant,
      nAttacks,
      config.mix,
      split,
      r,
      false,
      (rr) => siteRequest(tenant, unique, rr),
    ).map((a) => ({ ...a, tenant: id })),
  };
}
