/**
 * The tenant API's zod schemas: query parameters (checked on every request) and answers (the OpenAPI
 * document is generated from them, and the tests check real answers against them).
 *
 * @module
 */
import { z } from "zod";
import { firstIssue } from "../util/zod.ts";
import { MODES } from "../middleware/options.ts";

const flag = z.enum(["0", "1", "true", "false"]).transform((v) => v === "1" || v === "true");
const unitInterval = z.string().trim().refine((s) => s !== "" && Number.isFinite(Number(s)), {
  message: "must be a number",
}).transform(Number).pipe(z.number().min(0).max(1));
const format = z.enum(["jsonl", "har", "clf", "raw"]);

/** Query of `POST /tenants/:tenant/examples`. */
export const uploadQuerySchema = z.strictObject({
  /** Label of every HAR entry (required for HAR) and of JSONL records without one. */
  label: z.enum(["0", "1"]).transform((v) => Number(v) as 0 | 1).optional(),
  format: format.optional(),
  /** Store even if the guard refuses (operator token only). */
  force: flag.optional(),
  /** The tenant's own τ for this head (default: matched on the canaries). */
  tau: unitInterval.optional(),
});

/** Query of `POST /tenants/:tenant/score`. */
export const scoreQuerySchema = z.strictObject({
  /** `tenant`: the head the worker uses for this tenant (its own, else the global one); `global`: the global head. */
  head: z.enum(["tenant", "global"]).optional(),
  /** Return the features that contributed most (default yes). */
  explain: flag.optional(),
  /** How many features per record (default 8, at most 32). */
  top: z.string().regex(/^\d{1,2}$/).transform(Number).pipe(z.number().int().min(1).max(32)).optional(),
  format: format.optional(),
});

/** Query of `POST /tenants/:tenant/import`. */
export const importQuerySchema = z.strictObject({
  /** The file's format; `auto` (default): guessed from its first line. */
  format: z.enum(["auto", "jsonl", "har", "raw", "clf"]).optional(),
});

/** Query of the routes without parameters. */
export const emptyQuerySchema = z.strictObject({});

/** Query of `GET /tenants/:tenant/learning`. */
export const learningQuerySchema = z.strictObject({
  /** Propose τ for the head with the learnt profile (default) or for the serving head as it is (`0`). */
  profile: flag.optional(),
});

/** Body of `POST /tenants/:tenant/learning/apply`. */
export const learningApplySchema = z.strictObject({
  /** The target false-positive rate on the site's ordinary traffic, e.g. 0.001. */
  fpr: z.number().min(1e-6, { message: "must be at least 1e-6" }).max(0.5, {
    message: "must be at most 0.5",
  }),
  /** Add the learnt site profile to the head (default true). */
  profile: z.boolean().optional(),
});

const counts = z.object({
  benign: z.number().int(),
  attack: z.number().int(),
  unlabeled: z.number().int(),
});

/** A head's counts as stored: an upload's, or a learnt head's (`learnt`: the requests its τ was chosen on). */
const storedCounts = counts.extend({ learnt: z.number().int() }).partial();

const guard = z.object({
  margin: z.number().describe(
    "the largest fall (canaries) or rise (benign flagged, plus one request) allowed, absolute",
  ),
  canaries: z.object({
    count: z.number().int(),
    global: z.number().describe("the global head's detection rate at globalTau"),
    globalTau: z.number(),
    tenant: z.number().describe("the new head's detection rate at tau"),
    tau: z.number(),
    drop: z.number().describe("global - tenant"),
    passed: z.boolean(),
  }),
  benign: z.object({
    count: z.number().int().describe("the upload's benign examples (0: fewer than two, not checked)"),
    global: z.number().describe("share the global head flags at globalTau"),
    tenant: z.number().describe("share the new head flags at tau, each scored by a head fitted without it"),
    rise: z.number().describe("tenant - global"),
    passed: z.boolean(),
  }),
  conflicts: z.number().int().describe(
    "requests of the upload labelled both benign and attack (any refuses)",
  ),
  passed: z.boolean(),
  forced: z.boolean(),
});

const tauSource = z.enum(["tenant", "canaries", "scale", "learning", "worker"]).describe(
  "tenant: the tau query parameter; canaries: where the head catches the same share of the model's canary " +
    "attacks as the global head at the worker's τ; scale: a residual head's, the worker's τ carried through " +
    "the head's trust in the global head (σ(α·logit τ + β)); learning: proposed by learning mode for a target " +
    "false-positive rate (POST .../learning/apply); worker: the worker's τ (heads stored without one)",
);

const fit = z.object({
  method: z.string().describe("residual (the shipped model's heads: src/heads/residual.ts), gd or proto"),
  steps: z.number().int(),
  loss: z.number(),
  endpoints: z.number().int().min(1).nullable().optional().describe(
    "a correction (benign labels only): how many endpoints (method and path shape) of the upload it applies " +
      "to; every other request keeps the global head's score. null: it applies everywhere",
  ),
  gate: z.object({ from: z.number(), to: z.number() }).nullable().optional().describe(
    "a correction: on its endpoints it applies in full to a request whose feature mass is at least `to` made " +
      "of the upload's features (the uploaded requests and their recombinations), not at all at `from` or below " +
      "(an attack carries words the upload never had), linearly between. null: in full on its endpoints",
  ),
  bounds: z.array(z.string()).nullable().optional().describe(
    "a correction with a gate: the counts (dense slots) it bounds by the upload's largest; a request with more " +
      "of one (a repeated parameter, another escape or keyword) gets nothing of it. null: none",
  ),
  shape: z.number().int().nullable().optional().describe(
    "a correction with a gate: how many (endpoint, parameter name) entries of the upload's shape it keeps; a " +
      "request of a corrected endpoint that sends a name the upload never sent there, repeats one, or has a value " +
      "with a character class the upload's never had (a tampered copy) gets nothing of it. null: none",
  ),
  ms: z.object({
    features: z.number(),
    embed: z.number(),
    adapt: z.number(),
    calibrate: z.number(),
    guard: z.number(),
    total: z.number().describe("synchronous work of the fit, measured with performance.now() (0 on workerd)"),
  }),
});

/** Every error. */
export const errorSchema = z.looseObject({
  error: z.string().describe("a short code, e.g. invalid_record"),
  reason: z.string().describe("one line for a person"),
});

/** Answer of an upload (201), and the body of a guard refusal (422, with `error` and `reason`). */
export const uploadResultSchema = z.object({
  tenant: z.string(),
  version: z.number().int().describe(
    "the new head's version (increasing: a time in ms × 1000 plus a random part)",
  ),
  previousVersion: z.number().int().nullable(),
  createdAt: z.string(),
  modelId: z.string(),
  tau: z.number().describe("the τ the new head is used with (stored with it)"),
  tauSource,
  counts,
  fit,
  guard,
});

/** How a learnt head was made (`POST .../learning/apply`). */
const learningFit = z.object({
  method: z.literal("learning"),
  requests: z.number().int().describe("requests learnt"),
  basis: z.enum(["profile", "served"]),
  fpr: z.number(),
  settled: z.boolean(),
  expected_block_rate: z.number(),
  limit: z.enum(["canaries", "floor"]).nullable(),
  contamination: z.number(),
});

/** A version in the history. */
const versionSummary = z.object({
  version: z.number().int(),
  createdAt: z.string(),
  active: z.boolean(),
  counts: storedCounts.optional(),
});

/** Answer of `GET /tenants/:tenant/head`. */
export const headResultSchema = z.object({
  tenant: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
  modelId: z.string().nullable(),
  stale: z.boolean().describe("fitted for another model: the worker uses the global head instead"),
  tau: z.number().nullable().describe("the τ the head is used with (null while the model is not loaded)"),
  tauSource,
  counts: storedCounts.nullable(),
  fit: z.union([fit, learningFit]).nullable(),
  guard: guard.nullable(),
  history: z.array(versionSummary).describe("the versions kept for rollback, oldest first"),
});

/** Answer of a rollback. */
export const rollbackResultSchema = z.object({
  tenant: z.string(),
  version: z.number().int().describe("the active version now"),
  rolledBackFrom: z.number().int(),
  createdAt: z.string(),
});

const histogram = z.strictObject({
  scale: z.literal("logit"),
  lo: z.number().describe("lower edge (a logit) of the first bucket"),
  step: z.number().describe("bucket width (logit)"),
  counts: z.array(z.number().int().min(0)).length(256).describe(
    "requests per bucket; bucket i covers logits [lo + i·step, lo + (i+1)·step), the end buckets take the tails",
  ),
});

const proposal = z.strictObject({
  fpr: z.number().describe("target false-positive rate on the tenant's ordinary traffic"),
  tau: z.number().describe("proposed τ (a score)"),
  expected_block_rate: z.number().describe(
    "share of everything learnt (contamination included) at or above τ",
  ),
  settled: z.boolean().describe("enough ordinary requests for the 95 % bound (n·fpr ≥ 3)"),
  needed: z.number().int().describe("ordinary requests still needed to settle"),
  progress: z.number().describe("n·fpr / 3, at most 1"),
  limit: z.enum(["canaries", "floor"]).nullable().describe(
    "canaries: τ held at the highest τ that still catches the canaries the guard asks for; floor: at even odds",
  ),
});

/** Answer of `GET /tenants/:tenant/learning`. */
export const learningResultSchema = z.strictObject({
  tenant: z.string(),
  requests: z.number().int().describe("requests learnt (under the tenant's current head, this epoch)"),
  seen: z.number().int().describe("requests seen (learnt, or past their client's share)"),
  since: z.string().nullable(),
  updated: z.string().nullable(),
  epochSince: z.string().nullable().describe("when learning was last started again (DELETE), if ever"),
  head: z.strictObject({ source: z.enum(["tenant", "global"]), version: z.number().int().nullable() }),
  shards: z.strictObject({
    read: z.number().int().describe("shards of other isolates or processes read from the store"),
    stale: z.number().int().describe("shards of an earlier epoch or head version, left out"),
    invalid: z.number().int(),
    live: z.boolean().describe("this process's own learning was added as it is now"),
  }),
  flushMs: z.number().nullable().describe("how often each isolate writes its shard (null: no learner here)"),
  clients: z.strictObject({
    capped: z.number().int().describe("requests not learnt: their client had given its share"),
    anonymous: z.number().int().describe("requests learnt without a client address"),
  }),
  basis: z.enum(["profile", "served"]).describe(
    "profile: proposals are for the head apply makes (with the learnt profile); served: for the serving head",
  ),
  histogram: histogram.describe("scores the proposals are chosen on"),
  histogramRequests: z.number().int(),
  served: z.strictObject({
    tau: z.number(),
    flaggedRate: z.number(),
    histogram: histogram.describe("scores as served"),
  }),
  contamination: z.number().describe("share of what was learnt at or above tauMax (attack-like)"),
  tauMax: z.number().describe("highest τ at which the head still catches the canaries the guard asks for"),
  settled: z.boolean(),
  progress: z.number(),
  proposals: z.array(proposal),
  profile: z.strictObject({
    tokens: z.number().int(),
    minCount: z.number().int(),
    byKind: z.record(z.string(), z.number().int()),
  }).nullable(),
});

/** Answer of `POST /tenants/:tenant/learning/apply`. */
export const learningApplyResultSchema = z.strictObject({
  tenant: z.string(),
  version: z.number().int(),
  previousVersion: z.number().int().nullable(),
  createdAt: z.string(),
  tau: z.number(),
  tauSource: z.literal("learning"),
  fpr: z.number(),
  settled: z.boolean(),
  needed: z.number().int(),
  expected_block_rate: z.number(),
  limit: z.enum(["canaries", "floor"]).nullable(),
  requests: z.number().int(),
  profile: z.strictObject({ tokens: z.number().int(), requests: z.number().int() }).nullable(),
  guard,
});

/** Answer of `DELETE /tenants/:tenant/learning`. */
export const learningDeleteResultSchema = z.strictObject({
  tenant: z.string(),
  deleted: z.literal(true),
  shards: z.number().int().describe("shards removed from the store"),
  since: z.string(),
});

/** Answer of a delete. */
export const deleteResultSchema = z.object({
  tenant: z.string(),
  deleted: z.literal(true),
  removedVersions: z.array(z.number().int()),
});

const contribution = z.object({
  feature: z.string(),
  kind: z.enum(["sparse", "dense"]),
  value: z.number(),
  contribution: z.number().describe("value × ∂logit/∂value (positive: toward attack)"),
});

/** Answer of a dry-run. */
export const scoreResultSchema = z.object({
  tenant: z.string(),
  head: z.object({
    source: z.enum(["tenant", "global", "stale", "store-error"]).describe(
      "store-error: the tenant's head could not be read (a store fault, a malformed document) and the global " +
        "head scored, as in the worker",
    ),
    version: z.number().int().nullable(),
  }),
  tau: z.number(),
  mode: z.enum(MODES),
  modelId: z.string(),
  explained: z.boolean(),
  results: z.array(z.object({
    index: z.number().int().describe("1-based position of the record in the upload"),
    score: z.number(),
    flagged: z.boolean().describe("score ≥ τ"),
    decision: z.enum(["allow", "tag", "block"]).describe("what the worker's mode does with it"),
    head: z.enum(["store-error"]).optional().describe(
      "present when this record was scored by the global head because the tenant's head gave no valid score " +
        "(a malformed head), as the worker does",
    ),
    label: z.number().int().optional(),
    inspected: z.literal("partial").optional().describe(
      "present when part of the request was not inspected (its body past the bytes read, or more overflow views " +
        "than allowed): the score is of what was, as in the worker's log line",
    ),
    logit: z.number().optional(),
    why: z.array(contribution).optional(),
  })),
});

const importedRecord = z.looseObject({
  method: z.string(),
  url: z.string(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.string().optional(),
  label: z.union([z.literal(0), z.literal(1)]).optional(),
  family: z.string().optional(),
});

/** Answer of an import: the file's records, for review; nothing is stored. */
export const importResultSchema = z.object({
  tenant: z.string(),
  format: z.enum(["jsonl", "har", "raw", "clf"]),
  total: z.number().int().describe("entries read: records plus skipped"),
  records: z.array(importedRecord).describe("canonical records, in the file's order (at most 1000)"),
  skipped: z.array(z.object({
    line: z.number().int().describe("1-based line (HAR: entry index); 0: the file as a whole"),
    reason: z.string(),
  })).describe("the first 20 entries that did not become records"),
  skippedCount: z.number().int(),
});

/** Answer of a token minting (201): the token is shown this once. */
export const tokenResultSchema = z.object({
  tenant: z.string(),
  id: z.string(),
  token: z.string().describe("shown once; only its SHA-256 is stored"),
  createdAt: z.string(),
});

/** Answer of a token revocation. */
export const tokenRevokedSchema = z.object({ tenant: z.string(), id: z.string(), revoked: z.literal(true) });

/**
 * Reads a query string against a schema; a repeated parameter is an error.
 *
 * @param url The request URL.
 * @param schema The schema.
 * @returns The parsed query, or the first problem.
 */
export function parseQuery<T extends z.ZodType>(
  url: string,
  schema: T,
): { ok: true; value: z.output<T> } | { ok: false; reason: string } {
  const params = new URL(url).searchParams;
  const raw: Record<string, string> = {};
  for (const [k, v] of params) {
    if (Object.hasOwn(raw, k)) {
      return { ok: false, reason: `query parameter ${JSON.stringify(k)} is repeated` };
    }
    raw[k] = v;
  }
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    // Quoted: a query's keys are the caller's text.
    return {
      ok: false,
      reason: `unknown query parameter(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`,
    };
  }
  return { ok: false, reason: `query parameter ${firstIssue(r.error).path}: ${issue.message}` };
}
