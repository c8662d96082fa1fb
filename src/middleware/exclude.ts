/**
 * Exclusions: requests the middleware does not score (static assets, health checks, preflights), matched
 * with string comparisons only.
 *
 * @module
 */
import type { Exclusions } from "./options.ts";

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
export function compileExclusions(ex: Required<Exclusions>): ExclusionTest | null {
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
