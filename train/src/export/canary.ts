/**
 * The canary set shipped in the model's meta for the tenant API's guard: attacks of the training families
 * (training payloads injected into training tenants' requests), with their embeddings, so a newly adapted
 * tenant head can be checked to still catch known attacks before it is stored.
 *
 * @module
 */
import type { RequestRecord } from "@taugate/record/record.ts";
import { categoryOf } from "../data/families.ts";
import { Rng } from "../util/rng.ts";

/** The canaries: up to `perFamily` injection records of each family, chosen by seed. */
export function pickCanaries(
  records: RequestRecord[],
  perFamily: number,
  seed: number,
): RequestRecord[] {
  const by = new Map<string, RequestRecord[]>();
  for (const r of records) {
    if (r.label !== 1 || categoryOf(r.family) !== "injection") continue;
    if (!by.has(r.family!)) by.set(r.family!, []);
    by.get(r.family!)!.push(r);
  }
  const rng = new Rng(seed, "canaries");
  const out: RequestRecord[] = [];
  for (const family of [...by.keys()].sort()) {
    const rs = by.get(family)!;
    out.push(...rng.sample(rs, Math.min(perFamily, rs.length)));
  }
  return out;
}
