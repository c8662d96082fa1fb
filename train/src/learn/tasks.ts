/**
 * Tasks for meta-training: every tenant's records featurised once into one shared feature set, with each
 * tenant's benign and attack row numbers.
 *
 * @module
 */
import type { FeatureSpec } from "@taugate/features/mod.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { type FeatureSet, featurise } from "../nn/features.ts";

/** One task: a tenant's rows in the shared set. */
export interface Task {
  id: string;
  benign: Int32Array;
  attack: Int32Array;
}

/** All tasks over one feature set. */
export interface TaskSet {
  set: FeatureSet;
  tasks: Task[];
  /** Family of every row. */
  family: string[];
}

/**
 * The task set with the tasks `from` (inclusive) to `to` (exclusive) listed `times` times in all (the rows are
 * shared, not copied): training draws tasks uniformly, so those tenants are drawn `times` as often.
 *
 * @param ts The task set.
 * @param from First task repeated.
 * @param to End of the tasks repeated.
 * @param times How many times each is listed (1: the set as it is).
 */
export function repeatTasks(ts: TaskSet, from: number, to: number, times: number): TaskSet {
  if (!(times > 1)) return ts;
  const extra: Task[] = [];
  for (let k = 1; k < Math.round(times); k++) extra.push(...ts.tasks.slice(from, to));
  return { ...ts, tasks: [...ts.tasks, ...extra] };
}

/**
 * Featurises every tenant's records into one set.
 *
 * @param tenants Each tenant's id, benign and attack records.
 * @param spec The feature spec.
 */
export function buildTaskSet(
  tenants: { id: string; benign: RequestRecord[]; attacks: RequestRecord[] }[],
  spec: Readonly<FeatureSpec>,
  soft?: { families: readonly string[]; target: number },
): TaskSet {
  const records: RequestRecord[] = [];
  const tasks: Task[] = [];
  for (const t of tenants) {
    const b0 = records.length;
    records.push(...t.benign);
    const a0 = records.length;
    records.push(...t.attacks);
    tasks.push({
      id: t.id,
      benign: Int32Array.from({ length: t.benign.length }, (_, i) => b0 + i),
      attack: Int32Array.from({ length: t.attacks.length }, (_, i) => a0 + i),
    });
  }
  const set = featurise(records, spec);
  const family = records.map((r) => r.family ?? "");
  // Attacks of the soft families train toward `soft.target` instead of 1 (`WorldConfig.softAnomalies`).
  if (soft !== undefined && soft.families.length > 0) {
    const target = Float32Array.from(set.label);
    for (let r = 0; r < set.n; r++) {
      if (set.label[r] === 1 && soft.families.includes(family[r])) target[r] = soft.target;
    }
    set.target = target;
  }
  return { set, tasks, family };
}
