/**
 * One entry point for every format.
 *
 * @module
 */
import { importClf } from "./clf.ts";
import { importHar } from "./har.ts";
import { importJsonl } from "./jsonl.ts";
import { importRawHttp } from "./raw_http.ts";
import type { ImportFormat, ImportOptions, ImportReport } from "./types.ts";

const IMPORTERS: Record<ImportFormat, (text: string, options?: ImportOptions) => ImportReport> = {
  jsonl: importJsonl,
  har: importHar,
  raw: importRawHttp,
  clf: importClf,
};

/** The formats {@linkcode importText} accepts. */
export const IMPORT_FORMATS: readonly ImportFormat[] = Object.freeze(["jsonl", "har", "raw", "clf"]);

/**
 * Imports a text in the given format.
 *
 * @param format `"jsonl"` (JSONL or a JSON array of records), `"har"`, `"raw"` (HTTP/1.x dump) or `"clf"`
 *   (Common/Combined Log Format).
 * @param text The input.
 * @param options Defaults for `label`, `family`, `tenant` and limits.
 * @returns The records and the skipped entries.
 * @throws {TypeError} When the format is unknown or an option is out of range.
 * @example
 * ```ts
 * const { records, skipped } = importText("raw", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { label: 0 });
 * ```
 */
export function importText(format: ImportFormat, text: string, options: ImportOptions = {}): ImportReport {
  if (!Object.hasOwn(IMPORTERS, format)) {
    throw new TypeError(
      `unknown format ${JSON.stringify(String(format))}: one of ${IMPORT_FORMATS.join(", ")}`,
    );
  }
  if (typeof text !== "string") throw new TypeError("text must be a string");
  return IMPORTERS[format](text, options);
}
