/**
 * Fitting a tenant's head: each labelled record is featurised and embedded by the engine that scores the
 * tenant's traffic, each unlabelled one featurised (its structure tokens feed the site profile; it needs no
 * embedding), then `adaptHead` (the very function `deno task eval` adapts with) fits the head from the
 * model's meta-learned init. Same records, same order, same engine: the same head, bit for bit.
 *
 * @module
 */
import { featuresOfRecord, viewFeaturesOfRecord } from "../features/mod.ts";
import {
  type AdaptConfig,
  adaptHead,
  type Anchor,
  type HeadExample,
  type UnlabeledRequest,
} from "../heads/adapt.ts";
import type { Engine, HeadParams, SparseFeatures } from "../model/types.ts";
import type { RequestRecord } from "../record/record.ts";
import { contrastRecords } from "../heads/contrast.ts";

/** Examples per label. */
export interface LabelCounts {
  /** Records labelled 0 (benign). */
  benign: number;
  /** Records labelled 1 (attack). */
  attack: number;
  /** Records without a label: the tenant's unlabelled traffic (for the site profile, when the model has one). */
  unlabeled: number;
}

/** A fitted head and how the fit went. */
export interface TenantFit {
  /** The adapted head (with `a` and `profile` for a site profile, `ri`/`rv`/`rd` for a residual). */
  head: HeadParams;
  /** Gradient steps taken (0 for a `proto` fit, or without labelled examples). */
  steps: number;
  /** The fit's final objective (see `adaptHead`). */
  loss: number;
  /** The upload's records per label. */
  counts: LabelCounts;
  /** A residual head's trust in the global head (for its τ: `residualTau`). */
  trust?: { alpha: number; beta: number };
  /** The labelled examples (embeddings and structure tokens), in upload order. */
  examples: HeadExample[];
  /** A correction's attack copies of its requests (for the out-of-fold refits). */
  contrasts: Anchor[];
  /** The unlabelled records' structure tokens, in upload order. */
  unlabeled: UnlabeledRequest[];
  /**
   * Milliseconds of each phase, measured with `performance.now()` around synchronous work (there is no
   * per-request CPU timer in Deno or workerd; on workerd the clock only moves on I/O, so these read 0 there).
   */
  ms: { features: number; embed: number; adapt: number };
}

/** Embeds a request's features: synchronously when the engine can (the TypeScript engine), else awaited. */
export type Embedder = (f: SparseFeatures) => Float32Array | Promise<Float32Array>;

/**
 * The embedder of an engine: its `embedSync` when it has one.
 *
 * @param engine The engine.
 * @returns A function returning z (a copy the caller may keep, or a promise of one).
 */
export function embedderOf(engine: Engine): Embedder {
  if (engine.embedSync !== undefined) return (f) => engine.embedSync!(f).slice();
  return async (f) => (await engine.embed(f)).slice();
}

/**
 * Featurises, embeds and fits.
 *
 * @param engine The engine that scores the tenant's requests.
 * @param init The head to start from: the model's global head (the meta-learned init).
 * @param config The model's adaptation settings (`meta.adapt`).
 * @param records The upload; records with a label are examples, records without one unlabelled traffic.
 * @param anchors Known attacks for a residual head's anchors (the model's canaries with their features).
 * @param tau The τ the head will be used with before its change of scale (a benign-only upload is fitted as
 *   a correction that brings its requests just under it).
 * @returns The head, steps, final loss, counts and timings.
 * @throws {RangeError} when the engine's embeddings do not fit the head.
 * @example
 * ```ts ignore
 * const fit = await fitTenantHead(engine, engine.head, adaptConfigOf(engine.meta), records);
 * ```
 */
export async function fitTenantHead(
  engine: Engine,
  init: HeadParams,
  config: AdaptConfig,
  records: readonly RequestRecord[],
  anchors: readonly Anchor[] = [],
  tau?: number,
): Promise<TenantFit> {
  const embed = embedderOf(engine);
  const counts: LabelCounts = { benign: 0, attack: 0, unlabeled: 0 };
  const examples: HeadExample[] = [], unlabeled: UnlabeledRequest[] = [];
  // The views of the benign examples (`viewFeaturesOfRecord`), which the worker scores beside them: parts of
  // benign requests, fitted as benign too, so that a request a correction passes is not blocked by one of its
  // views (its most suspicious value alone, a piece past the caps). Not examples of their own: the guard and
  // the counts see the upload as sent.
  const viewExamples: HeadExample[] = [];
  let features = 0, embedding = 0;
  for (const rec of records) {
    const t0 = performance.now();
    const f = featuresOfRecord(rec);
    const views = rec.label === 0 ? viewFeaturesOfRecord(rec, f) : undefined;
    const t1 = performance.now();
    features += t1 - t0;
    if (rec.label === 0 || rec.label === 1) {
      const got = embed(f);
      const z = got instanceof Promise ? await got : got;
      examples.push({ z, label: rec.label, structure: f.structure, features: f });
      for (const fv of views ?? []) {
        const gv = embed(fv);
        viewExamples.push({
          z: gv instanceof Promise ? await gv : gv,
          label: 0,
          structure: fv.structure,
          features: fv,
        });
      }
      embedding += performance.now() - t1;
      if (rec.label === 1) counts.attack++;
      else counts.benign++;
    } else {
      unlabeled.push({ structure: f.structure, params: f.params });
      counts.unlabeled++;
    }
  }
  // A correction (benign labels only) is fitted against attack copies of its own requests (`contrast.ts`).
  const contrasts: Anchor[] = [];
  if (config.residual && counts.attack === 0 && counts.benign > 0 && tau !== undefined) {
    const t0 = performance.now();
    for (const rec of contrastRecords(records.filter((r) => r.label === 0))) {
      const f = featuresOfRecord(rec);
      const got = embed(f);
      contrasts.push({ z: got instanceof Promise ? await got : got, features: f });
    }
    embedding += performance.now() - t0;
  }
  const t2 = performance.now();
  const { head, steps, loss, trust } = adaptHead(init, [...examples, ...viewExamples], config, {
    unlabeled,
    anchors,
    tau,
    contrasts,
  });
  const adapt = performance.now() - t2;
  return {
    head,
    steps,
    loss,
    trust,
    counts,
    examples,
    unlabeled,
    contrasts,
    ms: { features, embed: embedding, adapt },
  };
}
