/**
 * Choosing the adaptation's proximal strength λ on validation data: the held-out fwaf tenants' *support*
 * pools, split in two (shots from one half, scored on the other), so neither their query sets nor the unseen
 * tenant (`urldetect`) take part. The best mean AUC at K = 10 wins; within 0.001 of it, the strongest pull
 * wins (a handful of examples should move a head little).
 *
 * @module
 */
import type { AdaptConfig } from "../../../src/heads/adapt.ts";
import type { RequestRecord } from "../../../src/record/record.ts";
import { evaluate, headMethod } from "../eval/fewshot.ts";
import { featurise } from "../nn/features.ts";
import type { Trained } from "./meta.ts";

/** The λ values tried. */
export const PROX_CANDIDATES = [0.02, 0.2, 1];

/** The result: the chosen config and the validation AUC of every candidate. */
export interface ProxChoice {
  adapt: AdaptConfig;
  table: { prox: number; auc: number }[];
}

/**
 * Picks λ for a trained model.
 *
 * @param t The trained model.
 * @param tenants Validation tenants' support pools.
 * @param seed Episode seed.
 */
export function selectProx(t: Trained, tenants: RequestRecord[][], seed: number): ProxChoice {
  const data = tenants.map((support) => {
    const a = support.filter((_, i) => i % 2 === 0), b = support.filter((_, i) => i % 2 === 1);
    return { support: featurise(a), query: featurise(b), queryFamily: b.map((r) => r.family ?? "") };
  });
  const table = PROX_CANDIDATES.map((prox) => {
    const adapt = { ...t.adapt, prox };
    let sum = 0;
    for (const d of data) {
      const m = headMethod("m", (set) => t.backbone.embedAll(set), t.head, adapt, 0.5);
      const r = evaluate(d, [m], { shots: [10], episodes: 5, seed, unlabeled: 0, contamination: 0 });
      sum += r.results[0].auc;
    }
    return { prox, auc: sum / data.length };
  });
  const best = Math.max(...table.map((r) => r.auc));
  const chosen = table.filter((r) => r.auc >= best - 0.001).reduce((a, b) => (b.prox > a.prox ? b : a));
  return { adapt: { ...t.adapt, prox: chosen.prox }, table };
}
