/**
 * The embedded default app: for any method and path it answers 200 with JSON describing what it received.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/** Headers whose values the echo does not send back (echoing cookies would defeat `HttpOnly`). */
const REDACTED = new Set(["authorization", "proxy-authorization", "cookie"]);

/** What the echo app answers. */
export interface EchoBody {
  method: string;
  path: string;
  /** Query parameters, each with every value it had, in order. */
  query: Record<string, string[]>;
  /** Request headers (names lower case); credentials shown as `[redacted]`. */
  headers: Record<string, string>;
  body_bytes: number;
  /** Lower-case hex SHA-256 of the whole body (of zero bytes when there is none). */
  body_sha256: string;
}

/**
 * Describes a request: the body is streamed through an incremental hash, so any size is fine.
 *
 * @param req The request (its body is consumed).
 * @returns A 200 JSON response with `{method, path, query, headers, body_bytes, body_sha256}`; a 400 JSON
 *   when the body cannot be read to its end.
 * @example
 * ```ts
 * import { echo } from "./echo.ts";
 * const res = await echo(new Request("http://x/a?b=1", { method: "POST", body: "hi" }));
 * console.log((await res.json()).body_bytes); // 2
 * ```
 */
export async function echo(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const query: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    if (Object.hasOwn(query, k)) query[k].push(v);
    else {Object.defineProperty(query, k, {
        value: [v],
        enumerable: true,
        writable: true,
        configurable: true,
      });}
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of req.headers) {
    Object.defineProperty(headers, k, {
      value: REDACTED.has(k) ? "[redacted]" : v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const hash = sha256.create();
  let length = 0;
  try {
    if (req.body !== null) {
      for await (const chunk of req.body) {
        hash.update(chunk);
        length += chunk.byteLength;
      }
    }
  } catch {
    // The client's body broke off (a truncated upload, bad chunked framing): its fault, not the app's.
    return Response.json(
      { error: "bad_request", reason: "the request body could not be read" },
      { status: 400, headers: { "cache-control": "no-store" } },
    );
  }
  const body: EchoBody = {
    method: req.method,
    path: url.pathname,
    query,
    headers,
    body_bytes: length,
    body_sha256: bytesToHex(hash.digest()),
  };
  return Response.json(body, { headers: { "cache-control": "no-store" } });
}
