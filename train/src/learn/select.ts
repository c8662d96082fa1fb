/**
 * Choosing the adaptation's proximal strength λ on validation data: the held-out fwaf tenants' *support*
 * pools, split in two by page (`validation.ts`: shots and unlabelled traffic from one half, scored on the
 * other), so neither their query sets nor the unseen tenant (`urldetect`) take part. The best mean AUC at K = 10 (over N = 0 and
 * N = 500 unlabelled records, 2% attacks) wins; within 0.001 of it, the strongest pull wins (a handful of
 * examples should move a head little).
 *
 * @module
 */
import type { AdaptConfig } from "@taugate/heads/adapt.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { evaluate, headMethod } from "../eval/fewshot.ts";
import { featurise } from "../nn/features.ts";
import type { Trained } from "./meta.ts";
import { validationTenants } from "./validation.ts";

/** The λ values tried. */
export const PROX_CANDIDATES = [0.02, 0.2, 1];
/** Unlabelled records per episode the choice averages over. */
export const PROX_UNLABELED = [0, 500];

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
  const data = validationTenants(tenants.map((support, i) => ({ id: `v${i}`, support })), seed).map((v) => ({
    support: featurise(v.support),
    query: featurise(v.query),
    queryFamily: v.query.map((r) => r.family ?? ""),
  }));
  const table = PROX_CANDIDATES.map((prox) => {
    const adapt = { ...t.adapt, prox };
    let sum = 0, runs = 0;
    for (const d of data) {
      for (const unlabeled of PROX_UNLABELED) {
        const m = headMethod("m", (set) => t.backbone.embedAll(set), t.head, adapt, 0.5);
        const r = evaluate(d, [m], { shots: [10], episodes: 5, seed, unlabeled, contamination: 0.02 });
        sum += r.results[0].auc, runs++;
      }
    }
    return { prox, auc: sum / runs };
  });
  const best = Math.max(...table.map((r) => r.auc));
  const chosen = table.filter((r) => r.auc >= best - 0.001).reduce((a, b) => (b.prox > a.prox ? b : a));
  return { adapt: { ...t.adapt, prox: chosen.prox }, table };
}
