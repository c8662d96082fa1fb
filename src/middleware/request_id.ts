/**
 * Request ids for the 403 body and the log line: Cloudflare's `cf-ray` when present, else an id unique in
 * this isolate.
 *
 * @module
 */
import { toHex } from "../util/bytes.ts";

let prefix = "";
let counter = 0;

/**
 * The request's id.
 *
 * @param req The request.
 * @returns `cf-ray` (cut to 64 characters), or `tg-<random hex per isolate>-<counter>`.
 */
export function requestIdOf(req: Request): string {
  return idOf(req.headers.get("cf-ray"));
}

/**
 * The request's id from its header list as `Headers` iterates it (names lower case, sorted), e.g. a
 * `RequestView`'s: the same id as `requestIdOf`, without another lookup in the request's `Headers`.
 *
 * @param headers `[name, value]` pairs, names lower case and sorted.
 * @returns `cf-ray` (cut to 64 characters), or `tg-<random hex per isolate>-<counter>`.
 */
export function requestIdOfHeaders(headers: readonly (readonly [string, string])[]): string {
  let ray: string | null = null;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    if (name === "cf-ray") {
      ray = headers[i][1];
      break;
    }
    if (name > "cf-ray") break; // sorted: it is not there
  }
  return idOf(ray);
}

function idOf(ray: string | null): string {
  if (ray !== null && ray !== "") return ray.length > 64 ? ray.slice(0, 64) : ray;
  // Made on first use: workerd forbids random values at global scope.
  if (prefix === "") {
    prefix = toHex(crypto.getRandomValues(new Uint8Array(6)));
  }
  return `tg-${prefix}-${(++counter).toString(36)}`;
}
