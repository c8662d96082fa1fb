/**
 * Exclusions: requests the middleware does not score (static assets, health checks, preflights), matched
 * with string comparisons only.
 *
 * @module
 */
import { timingSafeEqual } from "../util/bytes.ts";
import { cidrMatcher } from "./cidr.ts";
import type { Exclusions, HeaderRule } from "./options.ts";

/** Whether a request is excluded, given its method, URL path and `content-type` header. */
export type ExclusionTest = (method: string, path: string, contentType: string | null) => boolean;

/**
 * Compiles exclusion patterns once.
 *
 * @param ex Paths (`/exact`, `/prefix/*`, `*.suffix`), methods, content types (`type/sub` or `type/*`).
 * @returns A test, or `null` when nothing is excluded (the hot path then skips the call).
 * @example
 * ```ts
 * import { compileExclusions } from "./exclude.ts";
 * const test = compileExclusions({ paths: ["/static/*", "*.css"], methods: ["OPTIONS"], contentTypes: [] })!;
 * test("GET", "/static/app.js", null); // true
 * ```
 */
export function compileExclusions(
  ex: Required<Pick<Exclusions, "paths" | "methods" | "contentTypes">>,
): ExclusionTest | null {
  const exact = new Set<string>(), prefixes: string[] = [], suffixes: string[] = [];
  for (const p of ex.paths) {
    if (p.startsWith("*")) suffixes.push(p.slice(1));
    else if (p.endsWith("*")) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  const methods = new Set(ex.methods.map((m) => m.toUpperCase()));
  const types = new Set<string>(), typePrefixes: string[] = [];
  for (const t of ex.contentTypes.map((t) => t.toLowerCase())) {
    if (t.endsWith("/*")) typePrefixes.push(t.slice(0, -1));
    else types.add(t);
  }
  const anyPath = exact.size + prefixes.length + suffixes.length > 0;
  const anyType = types.size + typePrefixes.length > 0;
  if (!anyPath && methods.size === 0 && !anyType) return null;
  return (method, path, contentType) => {
    if (methods.has(method)) return true;
    if (anyPath) {
      if (exact.has(path)) return true;
      for (const p of prefixes) if (path.startsWith(p)) return true;
      for (const s of suffixes) if (path.endsWith(s)) return true;
    }
    if (anyType && contentType !== null) {
      const mt = mediaType(contentType);
      if (types.has(mt)) return true;
      for (const p of typePrefixes) if (mt.startsWith(p)) return true;
    }
    return false;
  };
}

/** The media type of a `content-type` value: before any `;`, trimmed, lower case. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Whether a request is excluded by who sent it: its client's address (read only when needed) or a header. */
export type RequestRuleTest = (req: Request, clientAddress: () => string | null | undefined) => boolean;

const utf8 = new TextEncoder();

/**
 * Compiles the client and header rules once: a client inside one of `clients` (addresses or CIDR ranges,
 * IPv4 and IPv6), or a request carrying one of `headers` (by name, or by name and value: a monitoring
 * secret, compared in constant time).
 *
 * @param clients Addresses and ranges.
 * @param headers Header rules.
 * @returns A test, or `null` when there is no rule.
 * @throws {TypeError} when a range does not parse.
 * @example
 * ```ts
 * import { compileRequestRules } from "./exclude.ts";
 * const test = compileRequestRules(["10.0.0.0/8"], [{ name: "x-monitor", value: "s3cret" }])!;
 * test(new Request("http://a.test/", { headers: { "x-monitor": "s3cret" } }), () => null); // true
 * test(new Request("http://a.test/"), () => "10.2.3.4"); // true
 * ```
 */
export function compileRequestRules(
  clients: readonly string[],
  headers: readonly HeaderRule[],
): RequestRuleTest | null {
  if (clients.length === 0 && headers.length === 0) return null;
  const inRange = clients.length > 0 ? cidrMatcher(clients) : null;
  const rules = headers.map((h) => ({
    name: h.name.toLowerCase(),
    value: h.value === undefined ? null : utf8.encode(h.value),
  }));
  return (req, clientAddress) => {
    for (const r of rules) {
      const got = req.headers.get(r.name);
      if (got === null) continue;
      if (r.value === null || timingSafeEqual(utf8.encode(got), r.value)) return true;
    }
    if (inRange !== null) {
      const address = clientAddress();
      if (typeof address === "string" && inRange(address)) return true;
    }
    return false;
  };
}
