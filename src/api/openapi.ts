/**
 * The tenant API's OpenAPI 3.1 document (`GET /_taugate/openapi.json`), its answers' schemas generated
 * from the zod schemas the handlers answer with.
 *
 * @module
 */
import { z } from "zod";
import { MAX_RECORD_BYTES, MAX_RECORDS, MAX_UPLOAD_BYTES, recordFieldsSchema } from "../record/schema.ts";
import {
  deleteResultSchema,
  errorSchema,
  headResultSchema,
  importResultSchema,
  learningApplyResultSchema,
  learningDeleteResultSchema,
  learningResultSchema,
  rollbackResultSchema,
  scoreResultSchema,
  tokenResultSchema,
  tokenRevokedSchema,
  uploadResultSchema,
} from "./schemas.ts";
import { UPLOAD_MEDIA_TYPES } from "./upload.ts";

/** Where the API lives. */
export const API_PREFIX = "/_taugate";

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "output", unrepresentable: "any" });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonOf = (name: string) => ({ "application/json": { schema: ref(name) } });
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const ERROR_TEXT: Record<number, string> = {
  400: "bad tenant id or query parameter",
  401: "no token, or a token that is not valid",
  403: "a tenant token of another tenant, or on an operator-only route (or with force)",
  404: "no such head (or route)",
  409: "no earlier version, concurrent changes, or too little traffic learnt to apply",
  413: `over ${MAX_UPLOAD_BYTES} bytes or over ${MAX_RECORDS} records`,
  415: `content-type not one of ${UPLOAD_MEDIA_TYPES.join(", ")}`,
  422:
    `a record is invalid (named by line, or HAR entry; at most ${MAX_RECORD_BYTES} bytes each), no labelled record, the guard refused the head (with its figures), or an import read no record or could not tell the file's format`,
  503: "the model or the store is unavailable, or the model ships no adaptation settings or canaries",
};
const tenantParam = {
  name: "tenant",
  in: "path",
  required: true,
  description: "lower-case hostname-like labels (a-z, 0-9, -) joined by dots, at most 253 characters",
  schema: { type: "string", maxLength: 253 },
};
const q = (name: string, description: string, s: Record<string, unknown>) => ({
  name,
  in: "query",
  required: false,
  description,
  schema: s,
});
const uploadBody = (what: string) => ({
  required: true,
  description: what,
  content: Object.fromEntries(UPLOAD_MEDIA_TYPES.map((t) => [
    t,
    {
      schema: t === "application/json"
        ? {
          oneOf: [
            { type: "array", items: ref("Record"), maxItems: MAX_RECORDS },
            { type: "object", required: ["log"], description: "a HAR archive" },
          ],
        }
        : t === "application/har+json"
        ? { type: "object", required: ["log"], description: "a HAR archive" }
        : t === "text/plain"
        ? {
          type: "string",
          description: "an access log (common or combined format), a raw HTTP dump, or JSONL",
        }
        : { type: "string", description: "one Record (JSON) per line" },
    },
  ])),
});

let built: Record<string, unknown> | undefined;

/**
 * The OpenAPI document (built once).
 *
 * @returns The document, as JSON-ready data.
 */
export function openApiDocument(): Record<string, unknown> {
  if (built) return built;
  const secured = [{ bearer: [] }];
  built = {
    openapi: "3.1.0",
    info: {
      title: "taugate tenant API",
      version: "1",
      description:
        "Tenants upload a few labelled requests and get a head adapted to their site, stored in KV and used " +
        "from their next request on. The operator's token comes from TAUGATE_ADMIN_TOKEN; tenant tokens, minted by " +
        "the operator, act on their own tenant only. Every error is JSON { error, reason, ... }.",
    },
    servers: [{ url: API_PREFIX }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: schema(errorSchema),
        Record: z.toJSONSchema(recordFieldsSchema, { io: "input", unrepresentable: "any" }),
        UploadResult: schema(uploadResultSchema),
        HeadResult: schema(headResultSchema),
        RollbackResult: schema(rollbackResultSchema),
        DeleteResult: schema(deleteResultSchema),
        ScoreResult: schema(scoreResultSchema),
        ImportResult: schema(importResultSchema),
        LearningResult: schema(learningResultSchema),
        LearningApplyResult: schema(learningApplyResultSchema),
        LearningDeleteResult: schema(learningDeleteResultSchema),
        TokenResult: schema(tokenResultSchema),
        TokenRevoked: schema(tokenRevokedSchema),
      },
      responses: Object.fromEntries(
        Object.entries(ERROR_TEXT).map(([c, d]) => [`E${c}`, { description: d, content: jsonOf("Error") }]),
      ),
    },
    paths: {
      "/openapi.json": {
        get: { summary: "this document", security: [], responses: { "200": { description: "OpenAPI 3.1" } } },
      },
      "/tenants/{tenant}/examples": {
        post: {
          summary: "upload labelled requests; fit, check and store a new head",
          security: secured,
          parameters: [
            tenantParam,
            q(
              "label",
              "label of every entry of a HAR, access log or raw HTTP dump (required for them) and of records " +
                "without one",
              { enum: ["0", "1"] },
            ),
            q(
              "format",
              "jsonl (JSONL or a JSON array of records), har, clf (an access log) or raw (HTTP dumps); default: " +
                "from the content type and the first line",
              { enum: ["jsonl", "har", "clf", "raw"] },
            ),
            q("force", "store even if the guard refuses (operator token only)", {
              enum: ["0", "1", "true", "false"],
            }),
            q(
              "tau",
              "the tenant's own threshold for this head, in [0, 1] (default: matched on the canaries)",
              {
                type: "string",
              },
            ),
          ],
          requestBody: uploadBody(
            `canonical records (JSONL or a JSON array), a HAR archive, an access log or raw HTTP dumps; at most ${MAX_RECORDS} records of ` +
              `${MAX_RECORD_BYTES} bytes, ${MAX_UPLOAD_BYTES} bytes in all; records without a label are unlabelled traffic`,
          ),
          responses: {
            "201": { description: "the new head is active", content: jsonOf("UploadResult") },
            ...errors(400, 401, 403, 413, 415, 422, 503),
          },
        },
      },
      "/tenants/{tenant}/head": {
        get: {
          summary: "the active head's version, time, counts, τ, fit and guard figures, and the versions kept",
          security: secured,
          parameters: [tenantParam],
          responses: {
            "200": { description: "the head", content: jsonOf("HeadResult") },
            ...errors(400, 401, 403, 404),
          },
        },
        delete: {
          summary: "remove the head and its history (back to the global head)",
          security: secured,
          parameters: [tenantParam],
          responses: {
            "200": { description: "removed", content: jsonOf("DeleteResult") },
            ...errors(400, 401, 403, 404),
          },
        },
      },
      "/tenants/{tenant}/head/rollback": {
        post: {
          summary: "make the previous version active again",
          security: secured,
          parameters: [tenantParam],
          responses: {
            "200": { description: "rolled back", content: jsonOf("RollbackResult") },
            ...errors(400, 401, 403, 404, 409),
          },
        },
      },
      "/tenants/{tenant}/score": {
        post: {
          summary: "dry-run: score records with the tenant's head, with the features that contributed most",
          security: secured,
          parameters: [
            tenantParam,
            q("head", "tenant (default: what the worker uses for this tenant) or global", {
              enum: ["tenant", "global"],
            }),
            q("explain", "return the features that contributed most (default 1)", {
              enum: ["0", "1", "true", "false"],
            }),
            q("top", "features per record (1 to 32, default 8)", { type: "string" }),
            q("format", "jsonl, har, clf or raw; default: from the content type and the first line", {
              enum: ["jsonl", "har", "clf", "raw"],
            }),
          ],
          requestBody: uploadBody("records to score (labels are ignored), with the upload's limits"),
          responses: {
            "200": { description: "scores", content: jsonOf("ScoreResult") },
            ...errors(400, 401, 403, 413, 415, 422, 503),
          },
        },
      },
      "/tenants/{tenant}/import": {
        post: {
          summary:
            "read a file of traffic (HAR, JSONL, raw HTTP, access log) into records, for review; stores nothing",
          security: secured,
          parameters: [
            tenantParam,
            q("format", "the file's format; auto (default): guessed from its first line", {
              enum: ["auto", "jsonl", "har", "raw", "clf"],
            }),
          ],
          requestBody: {
            required: true,
            description: `the file, any content type, at most ${MAX_UPLOAD_BYTES} bytes; entries past the ` +
              `${MAX_RECORDS}th are reported as skipped`,
            content: { "*/*": { schema: { type: "string" } } },
          },
          responses: {
            "200": { description: "the records and the skipped entries", content: jsonOf("ImportResult") },
            ...errors(400, 401, 403, 413, 422),
          },
        },
      },
      "/tenants/{tenant}/learning": {
        get: {
          summary: "learning mode: the tenant's learnt score distribution, profile and τ proposals",
          security: secured,
          parameters: [
            tenantParam,
            q(
              "profile",
              "propose τ for the head with the learnt profile (default 1) or for the serving head (0)",
              {
                enum: ["0", "1", "true", "false"],
              },
            ),
          ],
          responses: {
            "200": { description: "what was learnt", content: jsonOf("LearningResult") },
            ...errors(400, 401, 403, 503),
          },
        },
        delete: {
          summary: "start learning again (other isolates drop what they learnt up to their next write)",
          security: secured,
          parameters: [tenantParam],
          responses: {
            "200": { description: "started again", content: jsonOf("LearningDeleteResult") },
            ...errors(400, 401, 403, 503),
          },
        },
      },
      "/tenants/{tenant}/learning/apply": {
        post: {
          summary:
            "make a head version from what was learnt: the current head, the learnt profile, the proposed τ",
          security: secured,
          parameters: [tenantParam],
          requestBody: {
            required: true,
            description: 'JSON: {"fpr": 0.001} (a target false-positive rate), optionally "profile": false',
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["fpr"],
                  additionalProperties: false,
                  properties: {
                    fpr: { type: "number", minimum: 1e-6, maximum: 0.5 },
                    profile: { type: "boolean" },
                  },
                },
              },
            },
          },
          responses: {
            "201": { description: "the new version", content: jsonOf("LearningApplyResult") },
            ...errors(400, 401, 403, 409, 422, 503),
          },
        },
      },
      "/tenants/{tenant}/tokens": {
        post: {
          summary: "mint a token for this tenant (operator only); shown once, stored only as a hash",
          security: secured,
          parameters: [tenantParam],
          responses: {
            "201": { description: "the token", content: jsonOf("TokenResult") },
            ...errors(400, 401, 403),
          },
        },
      },
      "/tenants/{tenant}/tokens/{id}": {
        delete: {
          summary: "revoke a tenant token (operator only)",
          security: secured,
          parameters: [tenantParam, { name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": { description: "revoked", content: jsonOf("TokenRevoked") },
            ...errors(400, 401, 403, 404),
          },
        },
      },
    },
  };
  return built;
}
