/**
 * Request ids for the 403 body and the log line: Cloudflare's `cf-ray` when present, else an id unique in
 * this isolate.
 *
 * @module
 */

let prefix = "";
let counter = 0;

/**
 * The request's id.
 *
 * @param req The request.
 * @returns `cf-ray` (cut to 64 characters), or `tg-<random hex per isolate>-<counter>`.
 */
export function requestIdOf(req: Request): string {
  const ray = req.headers.get("cf-ray");
  if (ray !== null && ray !== "") return ray.length > 64 ? ray.slice(0, 64) : ray;
  // Made on first use: workerd forbids random values at global scope.
  if (prefix === "") {
    const b = crypto.getRandomValues(new Uint8Array(6));
    for (const x of b) prefix += x.toString(16).padStart(2, "0");
  }
  return `tg-${prefix}-${(++counter).toString(36)}`;
}
