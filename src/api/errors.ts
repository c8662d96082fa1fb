/**
 * The tenant API's errors: every one is JSON `{ error, reason, ... }` with its status.
 *
 * @module
 */

/** Headers of every API answer: JSON, never cached (answers carry per-tenant state and fresh tokens). */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
});

/** An error the API answers with: a status, a short code, a one-line reason and optional details. */
export class ApiError extends Error {
  /** The HTTP status of the answer (4xx or 5xx). */
  readonly status: number;
  /** The short machine-readable code, the body's `error` (e.g. `invalid_record`). */
  readonly code: string;
  /** More fields of the JSON body, beside `error` and `reason`. */
  readonly details: Record<string, unknown>;
  /** Extra headers of the answer (e.g. `www-authenticate`), beside `API_HEADERS`. */
  readonly headers: Record<string, string>;

  /**
   * Creates the error; its message is the body's `reason`.
   *
   * @param status HTTP status (4xx or 5xx).
   * @param code Short machine-readable code, e.g. `invalid_record`.
   * @param reason One line for a person.
   * @param details More fields of the JSON body (never a token).
   * @param headers Extra response headers (e.g. `www-authenticate`).
   */
  constructor(
    status: number,
    code: string,
    reason: string,
    details: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(reason);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  /** The JSON response. */
  toResponse(): Response {
    return json({ error: this.code, reason: this.message, ...this.details }, this.status, this.headers);
  }
}

/**
 * A JSON response with the API's headers.
 *
 * @param body Anything `JSON.stringify` takes.
 * @param status HTTP status.
 * @param headers Extra headers.
 * @returns The response.
 */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...API_HEADERS, ...headers } });
}
