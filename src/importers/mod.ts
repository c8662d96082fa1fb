/**
 * Importers: tenants' traffic, in the formats their tools export, turned into canonical records.
 *
 * Each importer takes the text and options, reads it in one linear pass, and returns every record that
 * passed the schema plus every entry it skipped with the line (or HAR entry) and the reason. It never
 * throws on bad input; only bad options throw.
 *
 * ```ts
 * import { detectFormat, importText } from "./mod.ts";
 * const text = 'GET /search?q=1 HTTP/1.1\r\nHost: shop.example\r\n\r\n';
 * const report = importText(detectFormat(text) ?? "jsonl", text, { label: 0, tenant: "shop-1" });
 * // report.records: [{ method: "GET", url: "/search?q=1", headers: { host: "shop.example" }, ... }]
 * ```
 *
 * @module
 */
export type { ImportFormat, ImportOptions, ImportReport, SkippedEntry } from "./types.ts";
export { formatJsonl, importJsonl } from "./jsonl.ts";
export { importHar } from "./har.ts";
export { importRawHttp } from "./raw_http.ts";
export { importClf } from "./clf.ts";
export { detectFormat } from "./detect.ts";
export { IMPORT_FORMATS, importText } from "./import_text.ts";
