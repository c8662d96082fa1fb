/**
 * Few-shot evaluation: for each K and episode, draw K benign + K attack records from a tenant's support pool
 * (and, if asked, N unlabelled records with at most a fraction C of attacks), adapt each method exactly as
 * the worker would (the same support and unlabelled traffic for every method; the site profile of the benign
 * shots and the unlabelled records), and score every query record as the worker would (novelty against the
 * profile included). Precision and recall are taken at the τ the worker would use: the global τ for the
 * unadapted head, the canary-matched τ (`tenantTau`) for an adapted one. Results per method and K, overall
 * and per subset (injections, anomalies, unseen families).
 *
 * @module
 */
import {
  type AdaptConfig,
  adaptHead,
  type Anchor,
  type HeadExample,
  headInputs,
  residualTau,
} from "@taugate/heads/adapt.ts";
import { tenantTau } from "@taugate/heads/calibrate.ts";
import { scoreWithHead, viewOf } from "@taugate/heads/score.ts";
import { VALUE_DIM, valueFeatures, type ValueProfileConfig } from "@taugate/heads/value_profile.ts";
import {
  NOVELTY_DIM,
  noveltyFeatures,
  type SiteProfileConfig,
  siteProfileOf,
} from "@taugate/heads/site_profile.ts";
import type { HeadParams } from "@taugate/model/types.ts";
import { categoryOf, HELD_OUT_FAMILIES } from "../data/families.ts";
import { type FeatureSet, type OverflowSet, rowFeatures, rowParams, rowStructure } from "../nn/features.ts";
import { Rng } from "../util/rng.ts";
import { fitLogReg, logRegLogit } from "./logreg.ts";
import { auc, meanStd, precisionRecall, tprAtFpr } from "./metrics.ts";

/** A support pool and a query set, featurised. */
export interface EvalData {
  support: FeatureSet;
  query: FeatureSet;
  queryFamily: string[];
  /**
   * The query's overflow views (`featuriseOverflow`): a query row's score is the highest of its own and its
   * views', as the worker scores (the head methods; `scratch-logreg` scores the rows alone).
   */
  queryOverflow?: OverflowSet | null;
  /**
   * The support's views (`featuriseOverflow`): a benign shot's views are fitted as benign rows too, as the
   * tenant API's fit adds them (`fitTenantHead`), so the head is the one the worker would use.
   */
  supportOverflow?: OverflowSet | null;
}

/** A method ready to run episodes on one `EvalData`. */
export interface Prepared {
  /**
   * Fills `out` with a score for every query row, after adapting on the shots (and unlabelled rows).
   *
   * @returns The decision threshold the worker would use with the adapted head.
   */
  run(
    shots: number[],
    labels: number[],
    unlabeled: number[],
    out: Float64Array,
  ): number;
}

/** A method under evaluation. */
export interface EvalMethod {
  name: string;
  prepare(data: EvalData): Prepared;
}

/** One row of results. */
export interface ResultRow {
  method: string;
  shots: number;
  episodes: number;
  auc: number;
  auc_std: number;
  "tpr_at_fpr_1e-2": number;
  "tpr_at_fpr_1e-3": number;
  precision_at_tau: number;
  recall_at_tau: number;
}

/** Results overall and per subset. */
export interface EvalResults {
  results: ResultRow[];
  subsets: Record<string, ResultRow[]>;
  counts: {
    support: { benign: number; attack: number };
    query: Record<string, number>;
  };
}

/** Episode settings. */
export interface EvalOptions {
  shots: number[];
  episodes: number;
  seed: number;
  /** N unlabelled support records per episode (0: none). */
  unlabeled: number;
  /** At most this fraction of them are attacks. */
  contamination: number;
}

/**
 * An embedding method (`taugate`, `erm-finetune`): embed once, adapt the head per episode with `adaptHead`
 * (shots with their structure tokens, unlabelled rows' structure tokens), score the query as the worker
 * would.
 *
 * @param name The method's name.
 * @param embed z of every row of a set (`[n][Z]`).
 * @param init The global head (the meta-learned init).
 * @param config The adaptation settings.
 * @param tau The worker's τ (the global head's).
 * @param canaries Canary embeddings for adapted heads' τ (`tenantTau`); without them, τ stays the global one.
 * @param anchors The canaries with their features, for a residual head's anchors (as the tenant API fits).
 */
export function headMethod(
  name: string,
  embed: (set: FeatureSet) => Float32Array,
  init: HeadParams,
  config: AdaptConfig,
  tau: number,
  canaries: readonly Float32Array[] | null = null,
  anchors: readonly Anchor[] = [],
): EvalMethod {
  return {
    name,
    prepare(data) {
      const Z = init.w.length;
      const zs = embed(data.support), zq = embed(data.query);
      const ov = data.queryOverflow ?? null;
      const zo = ov !== null ? embed(ov.set) : null;
      const sov = data.supportOverflow ?? null;
      const zso = sov !== null ? embed(sov.set) : null;
      // Support row → its view rows.
      const viewRows = new Map<number, number[]>();
      if (sov !== null) {
        for (let j = 0; j < sov.set.n; j++) {
          const p = sov.parent[j];
          const rows = viewRows.get(p);
          if (rows) rows.push(j);
          else viewRows.set(p, [j]);
        }
      }
      return {
        run(shots, labels, unlabeled, out) {
          const examples: HeadExample[] = shots.map((r, i) => ({
            z: zs.subarray(r * Z, (r + 1) * Z),
            label: labels[i] as 0 | 1,
            structure: rowStructure(data.support, r),
            features: rowFeatures(data.support, r),
          }));
          shots.forEach((r, i) => {
            if (labels[i] !== 0) return;
            for (const j of viewRows.get(r) ?? []) {
              examples.push({
                z: zso!.subarray(j * Z, (j + 1) * Z),
                label: 0,
                structure: rowStructure(sov!.set, j),
                features: rowFeatures(sov!.set, j),
              });
            }
          });
          const unl = unlabeled.map((r) => ({
            structure: rowStructure(data.support, r),
            params: rowParams(data.support, r),
          }));
          const { head, trust } = adaptHead(init, examples, config, { unlabeled: unl, anchors, tau });
          for (let i = 0; i < data.query.n; i++) {
            out[i] = scoreWithHead(
              head,
              zq.subarray(i * Z, (i + 1) * Z),
              rowStructure(data.query, i),
              undefined,
              rowFeatures(data.query, i),
            );
          }
          if (ov !== null) {
            for (let j = 0; j < ov.set.n; j++) {
              const s = scoreWithHead(
                head,
                zo!.subarray(j * Z, (j + 1) * Z),
                rowStructure(ov.set, j),
                undefined,
                // A view is judged with its request by a correction's shape (`ofShape`).
                viewOf(rowFeatures(ov.set, j), rowFeatures(data.query, ov.parent[j])),
              );
              if (s > out[ov.parent[j]]) out[ov.parent[j]] = s;
            }
          }
          const adapted = shots.length > 0 || head.profile !== undefined;
          if (trust) return residualTau(trust, tau);
          return adapted && canaries && canaries.length > 0 ? tenantTau(head, canaries, init, tau) : tau;
        },
      };
    },
  };
}

/**
 * The `scratch-logreg` baseline: logistic regression on the raw features of the shots alone, plus, when a
 * profile config is given, the same novelty (and value) features as the heads (against the same profiles).
 *
 * @param profile The site-profile settings (`meta.adapt.profile` of the model under evaluation).
 * @param values The value-profile settings (`meta.adapt.values`), used with `profile`.
 */
export function scratchLogRegMethod(profile?: SiteProfileConfig, values?: ValueProfileConfig): EvalMethod {
  return {
    name: "scratch-logreg",
    prepare(data) {
      const E = NOVELTY_DIM + (values ? VALUE_DIM : 0);
      const noveltyQ = new Float32Array(data.query.n * E);
      return {
        run(shots, labels, unlabeled, out) {
          const inputs = headInputs(
            new Float32Array(0),
            labels,
            shots.length,
            0,
            shots.map((r) => rowStructure(data.support, r)),
            unlabeled.map((r) => rowStructure(data.support, r)),
            profile,
            values && {
              config: values,
              labelled: shots.map((r) => rowParams(data.support, r)),
              unlabeled: unlabeled.map((r) => rowParams(data.support, r)),
            },
          );
          let extra: { x: Float32Array; dim: number } | undefined;
          let query: Float32Array | undefined;
          if (inputs.counts) {
            extra = { x: inputs.X, dim: inputs.F };
            const p = siteProfileOf(inputs.counts, inputs.minCount, inputs.weight);
            const vp = inputs.values?.compact();
            for (let i = 0; i < data.query.n; i++) {
              noveltyFeatures(p, rowStructure(data.query, i), undefined, noveltyQ.subarray(i * E));
              if (vp) {
                valueFeatures(vp, rowParams(data.query, i), p.weight, false, noveltyQ, i * E + NOVELTY_DIM);
              }
            }
            query = noveltyQ;
          }
          const m = fitLogReg(data.support, shots, labels, undefined, extra);
          for (let i = 0; i < data.query.n; i++) {
            const x = query?.subarray(i * extra!.dim, (i + 1) * extra!.dim);
            out[i] = 1 / (1 + Math.exp(-logRegLogit(m, data.query, i, x)));
          }
          return 0.5;
        },
      };
    },
  };
}

/** The subsets results are broken down into: rows of benign records plus the attacks of the subset. */
export function subsetsOf(
  families: string[],
): Record<string, (i: number) => boolean> {
  return {
    injections: (i) => categoryOf(families[i]) === "injection",
    anomalies: (i) => categoryOf(families[i]) === "anomaly",
    // Parameter tampering (the `tamper-*` anomaly families), reported on its own.
    tampering: (i) => families[i].startsWith("tamper-"),
    "unseen-families": (i) => HELD_OUT_FAMILIES.includes(families[i]),
    "seen-injections": (i) =>
      categoryOf(families[i]) === "injection" &&
      !HELD_OUT_FAMILIES.includes(families[i]),
  };
}

/**
 * Runs the episodes.
 *
 * @param data The support pool and query set.
 * @param methods The methods.
 * @param options Shots, episodes, seed, unlabelled records.
 */
export function evaluate(
  data: EvalData,
  methods: EvalMethod[],
  options: EvalOptions,
): EvalResults {
  const benignS: number[] = [], attackS: number[] = [];
  for (let i = 0; i < data.support.n; i++) {
    (data.support.label[i] === 1 ? attackS : benignS).push(i);
  }
  const subsets = subsetsOf(data.queryFamily);
  const subsetRows: Record<string, number[]> = {};
  for (const [name, member] of Object.entries(subsets)) {
    subsetRows[name] = [];
    for (let i = 0; i < data.query.n; i++) {
      if (data.query.label[i] === 0 || member(i)) subsetRows[name].push(i);
    }
  }
  const out: EvalResults = {
    results: [],
    subsets: {},
    counts: {
      support: { benign: benignS.length, attack: attackS.length },
      query: {},
    },
  };
  out.counts.query.benign = data.query.n -
    data.query.label.reduce((a, b) => a + b, 0);
  for (const [name, rows] of Object.entries(subsetRows)) {
    out.counts.query[name] = rows.filter((r) => data.query.label[r] === 1).length;
    out.subsets[name] = [];
  }
  const scores = new Float64Array(data.query.n);
  for (const method of methods) {
    const prepared = method.prepare(data);
    for (const K of options.shots) {
      if (K > benignS.length || K > attackS.length) continue;
      const rng = new Rng(options.seed, `episodes-${K}`);
      const per: Record<
        string,
        { auc: number[]; t2: number[]; t3: number[]; p: number[]; r: number[] }
      > = {};
      for (const name of ["all", ...Object.keys(subsetRows)]) {
        per[name] = { auc: [], t2: [], t3: [], p: [], r: [] };
      }
      for (let e = 0; e < options.episodes; e++) {
        const b = rng.sample(benignS, K), a = rng.sample(attackS, K);
        const shots = [...b, ...a],
          labels = [...b.map(() => 0), ...a.map(() => 1)];
        const unlabeled = drawUnlabeled(
          rng,
          benignS,
          attackS,
          new Set(shots),
          options,
        );
        const tau = prepared.run(shots, labels, unlabeled, scores);
        record(per.all, scores, data.query.label, null, tau);
        for (const [name, rows] of Object.entries(subsetRows)) {
          record(per[name], scores, data.query.label, rows, tau);
        }
      }
      const row = (m: typeof per.all): ResultRow => {
        const a = meanStd(m.auc);
        return {
          method: method.name,
          shots: K,
          episodes: options.episodes,
          auc: a.mean,
          auc_std: a.std,
          "tpr_at_fpr_1e-2": meanStd(m.t2).mean,
          "tpr_at_fpr_1e-3": meanStd(m.t3).mean,
          precision_at_tau: meanStd(m.p).mean,
          recall_at_tau: meanStd(m.r).mean,
        };
      };
      out.results.push(row(per.all));
      for (const name of Object.keys(subsetRows)) {
        out.subsets[name].push(row(per[name]));
      }
    }
  }
  return out;
}

function record(
  into: { auc: number[]; t2: number[]; t3: number[]; p: number[]; r: number[] },
  scores: Float64Array,
  labels: Uint8Array,
  rows: number[] | null,
  tau: number,
): void {
  let s: ArrayLike<number> = scores, y: ArrayLike<number> = labels;
  if (rows) {
    s = rows.map((r) => scores[r]);
    y = rows.map((r) => labels[r]);
  }
  into.auc.push(auc(s, y));
  into.t2.push(tprAtFpr(s, y, 1e-2));
  into.t3.push(tprAtFpr(s, y, 1e-3));
  const pr = precisionRecall(s, y, tau);
  into.p.push(pr.precision);
  into.r.push(pr.recall);
}

/** N unlabelled support rows, not among the shots, of which ⌊C·N⌋ are attacks. */
function drawUnlabeled(
  rng: Rng,
  benign: number[],
  attack: number[],
  used: Set<number>,
  o: EvalOptions,
): number[] {
  if (o.unlabeled <= 0) return [];
  const nA = Math.floor(o.contamination * o.unlabeled);
  const freeB = benign.filter((r) => !used.has(r)),
    freeA = attack.filter((r) => !used.has(r));
  const nB = Math.min(freeB.length, o.unlabeled - nA);
  return [
    ...rng.sample(freeB, nB),
    ...rng.sample(freeA, Math.min(nA, freeA.length)),
  ];
}
