/**
 * Validation data for design choices: the held-out tenants' *support* pools, each split in two halves — one
 * to draw shots and unlabelled traffic from, one to score — so that no query set (and in particular not the
 * unseen tenant's, `urldetect`) drives a choice. The split follows the pages of the site, as the query sets'
 * does (their benign requests come from source lines the support never used): a record goes to a half by a
 * hash of its method, path and parameter names, so a page and its variants stay on one side.
 *
 * @module
 */
import type { RequestRecord } from "@taugate/record/record.ts";
import { hashString } from "../util/rng.ts";

/** One validation tenant: shots and unlabelled traffic come from `support`, scores from `query`. */
export interface ValidationTenant {
  id: string;
  support: RequestRecord[];
  query: RequestRecord[];
}

/** The page a record belongs to: method, path and sorted parameter names. */
export function pageKey(r: RequestRecord): string {
  let path = r.url, keys: string[] = [];
  try {
    const u = new URL(r.url, "http://x.invalid");
    path = u.pathname;
    keys = [...new Set(u.searchParams.keys())].sort();
  } catch {
    // Not a URL a parser takes: the whole target is the page.
  }
  return `${r.method.toUpperCase()} ${path}?${keys.join("&")}`;
}

/**
 * Splits support pools into validation tenants.
 *
 * @param tenants Each held-out tenant's id and support pool.
 * @param seed The hash seed.
 * @returns One validation tenant per support pool.
 */
export function validationTenants(
  tenants: { id: string; support: RequestRecord[] }[],
  seed: number,
): ValidationTenant[] {
  return tenants.map(({ id, support }) => {
    const a: RequestRecord[] = [], b: RequestRecord[] = [];
    for (const r of support) (hashString(pageKey(r), seed) % 2 === 0 ? a : b).push(r);
    return { id, support: a, query: b };
  });
}
