// A tiny synthetic task set for fast tests of training and evaluation (no data folder needed).
import { FEATURE_SPEC } from "@taugate/features/mod.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { PROFILE_DEFAULT } from "../src/config.ts";
import type { TrainConfig } from "../src/learn/meta.ts";
import { buildTaskSet, type TaskSet } from "../src/learn/tasks.ts";
import { Rng } from "../src/util/rng.ts";

const PAYLOADS = [
  "' or 1=1--",
  "<script>alert(1)</script>",
  "../../etc/passwd",
  "; cat /etc/passwd",
  "1 union select 1,2",
];
const WORDS = ["shoes", "red", "page", "about", "cart", "news", "blue", "item"];

/** Benign and attack records of one small site. */
export function tinyTenant(
  id: string,
  seed: number,
  n = 40,
): { id: string; benign: RequestRecord[]; attacks: RequestRecord[] } {
  const rng = new Rng(seed, id);
  const path = () => `/${id}/${rng.pick(WORDS)}`;
  const benign = Array.from({ length: n }, () => ({
    method: "GET",
    url: `${path()}?q=${rng.pick(WORDS)}&page=${rng.int(9)}`,
    headers: { "user-agent": "Mozilla/5.0", accept: "text/html" },
    label: 0 as const,
    family: "benign",
    tenant: id,
  }));
  const attacks = Array.from({ length: n }, () => ({
    method: "GET",
    url: `${path()}?q=${encodeURIComponent(rng.pick(PAYLOADS))}&page=${rng.int(9)}`,
    headers: { "user-agent": "Mozilla/5.0", accept: "text/html" },
    label: 1 as const,
    family: "sqli",
    tenant: id,
  }));
  return { id, benign, attacks };
}

/** Four tiny tenants, featurised. */
export function tinyTasks(): TaskSet {
  return buildTaskSet(
    ["a", "b", "c", "d"].map((id, i) => tinyTenant(id, i)),
    FEATURE_SPEC,
  );
}

/** A training configuration small enough for the tiny task set (seconds, not minutes); override what differs. */
export function tinyConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    method: "anil",
    hidden: 8,
    layers: [{ out: 4, act: "tanh" }],
    updates: 40,
    metaBatch: 2,
    shots: [0, 2, 5],
    shotWeights: [1, 1, 1],
    query: 6,
    unlabeled: [0, 10],
    unlabeledWeights: [1, 1],
    contamination: 0.1,
    lr: 1e-2,
    decay: 1e-5,
    adapt: {
      method: "gd",
      steps: 5,
      lr: 0.5,
      prox: 0.05,
      profile: { ...PROFILE_DEFAULT, confidence: 5 },
    },
    seed: 7,
    ...overrides,
  };
}
