// A tiny synthetic task set for fast tests of training and evaluation (no data folder needed).
import { FEATURE_SPEC } from "../../src/features/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";
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
