/**
 * `deno task train` end to end: import the data, build tenants and tasks, meta-train, train the baseline
 * with the same budget, choose τ, pick canaries, export int8 ONNX models, write the held-out evaluation
 * files, evaluate every held-out tenant with the exported models exactly as `deno task eval` does, and
 * write the model card.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { FEATURE_SPEC, featuresOfRecord, specId } from "@taugate/features/mod.ts";
import { encodeVector, goldenDigest } from "@taugate/features/golden.ts";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { scoreWithHead } from "@taugate/heads/score.ts";
import type { ModelMeta } from "@taugate/model/types.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { type EvalOutput, runEval } from "./cli/eval.ts";
import { toJsonl } from "./cli/records.ts";
import type { RunConfig } from "./config.ts";
import { HELD_OUT_FAMILIES } from "./data/families.ts";
import { loadSources } from "./data/sources.ts";
import { userRecordsAccount, type UserSource, userTrainTenants } from "./data/user_records.ts";
import { auc } from "./eval/metrics.ts";
import { embedWithEngine, loadModel } from "./eval/model_io.ts";
import { pickCanaries } from "./export/canary.ts";
import { writeCard } from "./export/card.ts";
import { exportModel, round } from "./export/model.ts";
import { flaggedShare, tauForFpr } from "./export/tau.ts";
import { train, type Trained } from "./learn/meta.ts";
import { selectProx } from "./learn/select.ts";
import { summarise } from "./importers/mod.ts";
import { featurise } from "./nn/features.ts";
import { buildWorld } from "./synth/world.ts";
import { log } from "./util/progress.ts";
import {
  calibratedHead,
  type Calibration,
  chooseTau,
  fitCalibration,
  loadSiteData,
  reliability,
  type Rotation,
  SHIPPED_CAL_FOLD,
  siteEvalSets,
  siteFigures,
  siteLogits,
  siteTrainTenants,
  TAU_TARGET,
  trainingTasks,
} from "./sites.ts";
import type { SitesSummary } from "./export/sites_card.ts";
import { sigmoid } from "@taugate/heads/score.ts";

/** Where a run reads and writes. */
export interface RunPaths {
  dataDir: string;
  /** `models/`: the shipped model, baseline and card. */
  outDir: string;
  /** `artifacts/`: held-out JSONL, float32 models, raw results (gitignored). */
  artifactsDir: string;
}

/** The result of a run, as the card reports it. */
export interface RunSummary {
  seconds: Record<string, number>;
  models: Record<string, unknown>;
  evals: Record<string, EvalOutput>;
  [k: string]: unknown;
}

function mkdirp(p: string): void {
  mkdirSync(p, { recursive: true });
}

/**
 * Starts the leave-sites-out rotations in child processes (`run.mjs rotations`), as many as there are
 * cores beside this process (at least one), each with its share of the rotations.
 *
 * @returns Every rotation, in order, once all children are done.
 * @throws {Error} (the promise rejects) when a child fails.
 */
function startRotations(paths: RunPaths, cfg: RunConfig, seed: number, quiet: boolean): Promise<Rotation[]> {
  const n = Math.min(cfg.siteRotations, cfg.siteFolds);
  const procs = Math.max(1, Math.min(n, availableParallelism()));
  mkdirSync(paths.artifactsDir, { recursive: true });
  const config = join(paths.artifactsDir, "rotations-config.json");
  writeFileSync(config, JSON.stringify(cfg));
  const runMjs = fileURLToPath(new URL("../bin/run.mjs", import.meta.url));
  const jobs = Array.from({ length: procs }, (_, p) => {
    const only = Array.from({ length: n }, (_, i) => i).filter((i) => i % procs === p);
    const out = join(paths.artifactsDir, `rotations-${p}.json`);
    const args = [
      runMjs,
      "rotations",
      "--config",
      config,
      "--data",
      paths.dataDir,
      "--seed",
      String(seed),
      "--only",
      only.join(","),
      "--out",
      out,
    ];
    if (quiet) args.push("--quiet");
    return new Promise<Rotation[]>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
      child.on("error", reject);
      child.on("exit", (code) => {
        if (code !== 0) reject(new Error(`rotations ${only.join(",")}: exit ${code}`));
        else resolve(JSON.parse(readFileSync(out, "utf8")) as Rotation[]);
      });
    });
  });
  return Promise.all(jobs).then((all) => all.flat().sort((a, b) => a.testFold - b.testFold));
}

/**
 * The digest of the fixture requests' feature vectors under this build's extractor (`test/fixtures`): the
 * model records it, and a test fails when the extractor changes without a retrained model.
 */
function fixtureDigest(): string {
  const path = fileURLToPath(new URL("../../test/fixtures/requests.jsonl", import.meta.url));
  const records = readFileSync(path, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l));
  return goldenDigest(records.map((r) => encodeVector(featuresOfRecord(r))));
}

/** Header names of a client's dressing (never where a canary's payload is): dropped from canaries. */
const DRESSING =
  /^(accept|accept-encoding|accept-language|sec-ch-.*|sec-fetch-.*|upgrade-insecure-requests|connection|cache-control|pragma|dnt|priority|te)$/;
/** Characters an injected header value carries and a client's own rarely does. */
const INJECTED = /[<>'"{}$|`\\]|\.\.\/|%[0-9a-f]{2}/i;

/**
 * A canary as the model ships it: the request without its client's dressing (content type kept, and any
 * header whose value looks injected), so that 176 of them fit the model's size budget.
 */
export function canaryRecord(r: RequestRecord): RequestRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    const name = k.toLowerCase();
    if (name === "content-type" || (!DRESSING.test(name) && INJECTED.test(v))) headers[k] = v;
  }
  return { ...r, headers };
}

/** Meta of an exported model (a₀ of the profile rounded; canaries and τ filled in by the caller). */
function metaOf(
  t: Trained,
  prefix: string,
  extra: Record<string, unknown>,
): ModelMeta {
  const Z = t.backbone.embedDim;
  const adapt = t.adapt.profile
    ? {
      ...t.adapt,
      profile: { ...t.adapt.profile, a0: t.adapt.profile.a0.map((x) => round(x, 5)) },
    }
    : t.adapt;
  return {
    modelId: prefix,
    specId: specId(FEATURE_SPEC),
    goldenDigest: fixtureDigest(),
    dim: FEATURE_SPEC.dim,
    denseDim: t.backbone.shape.denseDim,
    embedDim: Z,
    tau: 0.5,
    head: { w: Array.from(t.head.w), b: t.head.b },
    adapt,
    ...extra,
  };
}

/**
 * Runs everything.
 *
 * @param paths Data, output and artifacts folders.
 * @param cfg The configuration.
 * @param seed The seed of everything random.
 * @param quiet No progress lines.
 * @param userRecords A user's own labelled records (`--records`): extra meta-training tenants of the shipped
 *   model and the baseline (see `data/user_records.ts`). None: the run is exactly the corpus's.
 */
export async function runTraining(
  paths: RunPaths,
  cfg: RunConfig,
  seed: number,
  quiet = false,
  userRecords: readonly UserSource[] = [],
): Promise<RunSummary> {
  const seconds: Record<string, number> = {};
  let t0 = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    seconds[name] = round((now - t0) / 1000, 1);
    t0 = now;
    log(quiet, name, `done in ${seconds[name]} s`);
  };

  // 1. Import.
  const sources = loadSources(paths.dataDir);
  for (const r of sources.reports) {
    if (r.skipped.length || !r.source.startsWith("payloads/")) {
      log(quiet, "import", summarise(r));
    }
  }
  const bad = sources.checksums.filter((c) => c.ok === false);
  if (bad.length) {
    log(quiet, "import", `WARNING: ${bad.length} files differ from SHA256SUMS`);
  }
  phase("import");

  // 2. Tenants and tasks.
  const world = buildWorld(sources, seed, cfg.world);
  log(
    quiet,
    "tasks",
    `${world.train.length} meta-training tenants, ${world.eval.length} held-out tenants`,
  );
  // The real sites: leave-sites-out rotations first (the card's headline), then the shipped model's split.
  const siteData = loadSiteData(paths.dataDir, cfg.siteFolds);
  let sites: SitesSummary | null = null;
  // The rotations train models of their own: they run in child processes (one per core beside this one)
  // while this process trains the shipped model and the baseline.
  const pendingRotations = siteData.length > 0 && cfg.siteRotations > 0
    ? startRotations(paths, cfg, seed, quiet)
    : Promise.resolve([] as Rotation[]);
  const shippedTrainSites = siteData.filter((s) => s.fold !== SHIPPED_CAL_FOLD);
  const calSites = siteData.filter((s) => s.fold === SHIPPED_CAL_FOLD);
  const siteTenants = siteTrainTenants(shippedTrainSites, world.pools, seed, cfg.world);
  log(
    quiet,
    "tasks",
    `${siteTenants.length} real-site tenants (${calSites.length} calibration sites held out)`,
  );
  const userTenants = userTrainTenants(userRecords, world.pools, seed, cfg.world);
  if (userTenants.length > 0) log(quiet, "tasks", `${userTenants.length} tenants of the user's records`);
  const tasks = trainingTasks(world.train, siteTenants, cfg.world, userTenants);
  log(quiet, "tasks", `${tasks.set.n} training records featurised`);
  const calSets = siteEvalSets(calSites, world.pools, seed, cfg.world, "support", cfg.siteAttacks);
  phase("tasks");

  // 3. Meta-training and the baseline, same budget.
  const trainCfg = { ...cfg.train, seed };
  const taugate = train(tasks, trainCfg, quiet);
  phase("meta-train");
  const erm = train(tasks, { ...trainCfg, method: "erm" }, quiet);
  phase("baseline");
  // λ of the shipped adaptation, chosen on validation data (see select.ts); the baseline gets the same fit.
  const validation = world.eval.filter((e) => e.tenant.id !== "urldetect").map((e) => e.support);
  const prox = selectProx(taugate, validation, seed);
  taugate.adapt = prox.adapt;
  erm.adapt = { ...erm.adapt, prox: prox.adapt.prox };
  log(quiet, "select", `adaptation λ: ${JSON.stringify(prox.table)} → ${prox.adapt.prox}`);
  phase("select");

  // 4. τ on held-out benign traffic (the evaluation tenants' support pools), canaries, export.
  const heldOutBenign = world.eval.flatMap((e) => e.support.filter((r) => r.label === 0));
  const canaryRecords = pickCanaries(
    world.train.flatMap((t) => t.attacks),
    cfg.canariesPerFamily,
    seed,
  ).map(canaryRecord);
  const models: Record<string, unknown> = {};
  mkdirp(join(paths.outDir, "baselines"));
  mkdirp(paths.artifactsDir);
  const benignSet = featurise(heldOutBenign);
  const canarySet = featurise(canaryRecords);
  const exported: Record<string, string> = {};
  for (
    const [name, t, prefix] of [["taugate", taugate, "taugate"], [
      "erm-finetune",
      erm,
      "erm-finetune",
    ]] as const
  ) {
    const draft = exportModel(
      t.backbone.toWeights(),
      t.head,
      metaOf(t, prefix, {}),
      prefix,
    );
    let draftPath = join(paths.artifactsDir, `${name}-draft.onnx`);
    writeFileSync(draftPath, draft.int8);
    let m = loadModel(draftPath);
    // Calibration on the held-out calibration sites, folded into the global head (the adaptation's init too).
    let siteTau: ReturnType<typeof chooseTau> | null = null;
    let calibration: Calibration | null = null;
    if (calSets.length > 0) {
      const logits = siteLogits(m.engine, m.head, calSets);
      calibration = fitCalibration(logits);
      siteTau = chooseTau(logits, calibration);
      t.head = calibratedHead(t.head, calibration);
      const calibrated = exportModel(t.backbone.toWeights(), t.head, metaOf(t, prefix, {}), prefix);
      draftPath = join(paths.artifactsDir, `${name}-draft-calibrated.onnx`);
      writeFileSync(draftPath, calibrated.int8);
      m = loadModel(draftPath);
      if (name === "taugate") {
        const identity = { a: 1, c: 0 };
        const calLogits = siteLogits(m.engine, m.head, calSets);
        const figures = siteFigures(
          calLogits,
          new Map(calSites.map((x) => [x.id, x.fold])),
          identity,
          siteTau.tau,
        );
        const p: number[] = [], y: number[] = [];
        for (const l of calLogits) {
          for (const x of [...l.logged, ...l.dressed]) p.push(sigmoid(x)), y.push(0);
          for (const x of l.attacks) p.push(sigmoid(x)), y.push(1);
        }
        const dropped: Record<string, number> = {};
        for (const d of siteData) {
          for (const [k, v] of Object.entries(d.dropped)) dropped[k] = (dropped[k] ?? 0) + v;
        }
        sites = {
          folds: cfg.siteFolds,
          sites: siteData.length,
          filter: {
            requests: siteData.reduce((a, d) => a + d.total, 0),
            kept: siteData.reduce((a, d) => a + d.ordinary.length, 0),
            dropped,
          },
          rotations: [],
          shipped: {
            calFold: SHIPPED_CAL_FOLD,
            calSites: calSites.map((x) => x.id),
            trainSites: shippedTrainSites.map((x) => x.id),
            calibration: { a: round(calibration.a, 5), c: round(calibration.c, 5) },
            tau: siteTau.tau,
            calBlock: { median: siteTau.median, worst: siteTau.worst, worstMet: siteTau.worstMet },
            calFigures: figures,
            reliability: reliability(p, y),
          },
        };
      }
    }
    const zb = embedWithEngine(m.engine, benignSet);
    const Z = m.model.meta.embedDim;
    const scores = Array.from(
      { length: benignSet.n },
      (_, i) => scoreWithHead(m.head, zb.subarray(i * Z, (i + 1) * Z)),
    );
    const tau = siteTau ? siteTau.tau : tauForFpr(scores, cfg.tauFpr);
    const zc = embedWithEngine(m.engine, canarySet);
    const canaryScores = Array.from(
      { length: canarySet.n },
      (_, i) => scoreWithHead(m.head, zc.subarray(i * Z, (i + 1) * Z)),
    );
    const canary = {
      source: "training families: training payloads injected into meta-training tenants' requests",
      families: canaryRecords.map((r) => r.family),
      detectionRate: round(flaggedShare(canaryScores, tau), 4),
      tau,
      // The requests themselves (the worker embeds them once): the tenant API's guard and a residual head's
      // anchors need their features, not only their embeddings.
      records: canaryRecords.map((r) => ({ method: r.method, url: r.url, headers: r.headers, body: r.body })),
    };
    const meta = metaOf(t, prefix, {
      tau,
      tauFpr: siteTau ? undefined : cfg.tauFpr,
      tauChosenOn: siteTau
        ? `calibration fold ${SHIPPED_CAL_FOLD} of the real sites (${calSites.length} sites never trained on): block rate of their ordinary traffic at most ${TAU_TARGET.median} on the median site and ${TAU_TARGET.worst} on the worst (measured ${siteTau.median} / ${siteTau.worst})`
        : `${heldOutBenign.length} held-out benign requests (support pools of ${world.eval.length} evaluation tenants never meta-trained on)`,
      calibration: calibration
        ? { a: round(calibration.a, 5), c: round(calibration.c, 5), folded: "into head.w and head.b" }
        : undefined,
      canary,
      training: {
        method: t.method,
        seed,
        updates: cfg.train.updates,
        rows: t.rows,
        data: dataChecksums(sources.checksums),
        userRecords: userRecords.length > 0 ? userRecordsAccount(userRecords) : undefined,
        heldOut: {
          tenants: world.stats.evalTenants,
          families: HELD_OUT_FAMILIES,
        },
      },
    });
    const final = exportModel(t.backbone.toWeights(), t.head, meta, prefix);
    const path = name === "taugate"
      ? join(paths.outDir, "taugate.onnx")
      : join(paths.outDir, "baselines", "erm-finetune.onnx");
    writeFileSync(path, final.int8);
    writeFileSync(join(paths.artifactsDir, `${name}-f32.onnx`), final.float32);
    exported[name] = path;
    models[name] = {
      path: relative(join(paths.outDir, ".."), path),
      modelId: final.meta.modelId,
      bytes: final.int8.length,
      float32Bytes: final.float32.length,
      tau,
      adapt: t.adapt,
      heldOutBenignFlagged: round(flaggedShare(scores, tau), 4),
      canaryDetection: canary.detectionRate,
      rows: t.rows,
      trainSeconds: round(t.seconds, 1),
      finalQueryLoss: round(t.finalLoss, 4),
    };
  }
  phase("export");

  // 5. The held-out files, and the evaluation of every held-out tenant with the exported models.
  const evals: Record<string, EvalOutput> = {};
  const quant = {
    float32: [] as number[],
    int8: [] as number[],
    labels: [] as number[],
  };
  for (const e of world.eval) {
    const dir = join(paths.artifactsDir, "eval", e.tenant.id);
    mkdirp(dir);
    writeFileSync(join(dir, "support.jsonl"), toJsonl(e.support));
    writeFileSync(join(dir, "query.jsonl"), toJsonl(e.query));
    const ns = e.tenant.id === "urldetect" ? cfg.eval.unlabeled : [0];
    for (const n of ns) {
      evals[`${e.tenant.id}${n ? `@unlabeled=${n}` : ""}`] = runEval({
        support: e.support,
        query: e.query,
        shots: cfg.eval.shots,
        episodes: cfg.eval.episodes,
        seed,
        unlabeled: n,
        contamination: cfg.eval.contamination,
        model: exported["taugate"],
        baseline: exported["erm-finetune"],
        profileAblation: true,
      });
    }
    // Quantisation: the global head's scores of the float32 and int8 models on the query set.
    const qs = featurise(e.query);
    for (
      const [kind, file] of [["float32", "taugate-f32.onnx"], [
        "int8",
        "",
      ]] as const
    ) {
      const m = loadModel(
        kind === "int8" ? exported["taugate"] : join(paths.artifactsDir, file),
      );
      const zq = embedWithEngine(m.engine, qs);
      const Z = m.model.meta.embedDim;
      for (let i = 0; i < qs.n; i++) {
        quant[kind].push(
          scoreWithHead(m.head, zq.subarray(i * Z, (i + 1) * Z)),
        );
      }
    }
    for (let i = 0; i < qs.n; i++) quant.labels.push(qs.label[i]);
    log(
      quiet,
      "eval",
      `${e.tenant.id}: ${e.support.length} support, ${e.query.length} query records`,
    );
  }
  const rotations = await pendingRotations;
  if (sites) (sites as SitesSummary).rotations = rotations;
  phase("site-rotations");
  const aucF = auc(quant.float32, quant.labels),
    aucI = auc(quant.int8, quant.labels);
  let maxDiff = 0;
  for (let i = 0; i < quant.int8.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(quant.int8[i] - quant.float32[i]));
  }
  const quantization = {
    records: quant.labels.length,
    aucFloat32: round(aucF, 5),
    aucInt8: round(aucI, 5),
    aucCost: round(aucF - aucI, 5),
    maxScoreDifference: round(maxDiff, 5),
  };
  phase("evaluate");

  const summary: RunSummary = {
    seconds,
    models,
    evals,
    quantization,
    sites,
    proxSelection: prox.table,
    config: cfg,
    seed,
    world: world.stats,
    pools: world.pools.stats,
    reports: sources.reports.map((r) => ({
      source: r.source,
      lines: r.lines,
      items: r.items,
      blank: r.blank,
      comments: r.comments,
      skipped: r.skipped.length,
      warnings: r.warnings.length,
      firstSkipped: r.skipped.slice(0, 3),
    })),
    checksums: sources.checksums,
    userRecords: userRecords.length > 0 ? userRecordsAccount(userRecords) : undefined,
  };
  writeFileSync(
    join(paths.artifactsDir, "run-summary.json"),
    JSON.stringify(summary, null, 1) + "\n",
  );
  const ablationsPath = join(paths.outDir, "ablations.json");
  const ablations = existsSync(ablationsPath) ? JSON.parse(readFileSync(ablationsPath, "utf8")) : null;
  writeCard(paths.outDir, summary, ablations);
  phase("card");
  return summary;
}

/** The data checksums the meta carries: the main files, and a digest over all payload lists. */
function dataChecksums(
  sums: { path: string; sha256: string; ok: boolean | null }[],
): Record<string, string> {
  const out: Record<string, string> = {};
  const lists: string[] = [];
  for (const c of sums) {
    if (c.path.startsWith("payloads/")) lists.push(`${c.sha256}  ${c.path}`);
    else out[c.path] = c.sha256;
  }
  out[
    `payloads/ (${lists.length} files, sha256 of their sorted SHA256SUMS lines)`
  ] = sha256Hex(lists.sort().join("\n"));
  return out;
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
