/**
 * Importers of the training data's formats, one module per format. Each turns its input into canonical
 * records (or payloads with a family) plus an `ImportReport`: a malformed line is skipped and counted with
 * its line number, the import never aborts half-way and never drops a good line silently.
 *
 * @module
 */
export { type Line, splitLines } from "./lines.ts";
export { balanced, type ImportIssue, type ImportReport, issue, newReport, summarise } from "./report.ts";
export {
  canonicalTarget,
  importUrlList,
  joinQuery,
  type UrlEntry,
  type UrlListOptions,
} from "./url_lines.ts";
export { CSV_FAMILIES, importParamsCsv, type Payload } from "./params_csv.ts";
export {
  FUZZDB_FAMILIES,
  importPayloadDir,
  importPayloadList,
  listFiles,
  PATT_FAMILIES,
} from "./payload_lists.ts";
