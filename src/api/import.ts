/**
 * Reading a file of traffic for review (`POST /tenants/:tenant/import`): any format the importers know,
 * guessed when not given, every readable record kept and every unreadable entry reported. Unlike an upload
 * it stores nothing and is not all-or-nothing: the console shows what was read and what was skipped.
 *
 * @module
 */
import { detectFormat, IMPORT_FORMATS, type ImportFormat, importText } from "../importers/mod.ts";
import type { RequestRecord } from "../record/record.ts";
import { MAX_RECORDS, MAX_UPLOAD_BYTES } from "../record/schema.ts";
import { ApiError } from "./errors.ts";

/** Skipped entries listed in an answer (the count says how many there were in all). */
export const SHOWN_SKIPPED = 20;

/** What a file held. */
export interface ImportResult {
  /** The format read: the one asked for, or the one guessed for `auto`. */
  format: ImportFormat;
  /** Entries read: records plus skipped. */
  total: number;
  /** Every entry that became a record, in file order (at most 1,000). */
  records: RequestRecord[];
  /** The first `SHOWN_SKIPPED` skipped entries: `line` (HAR: entry; 0: the file as a whole) and reason. */
  skipped: { line: number; reason: string }[];
  /** Entries skipped in all (`skipped` lists the first `SHOWN_SKIPPED`). */
  skippedCount: number;
}

/**
 * Imports a file's records, with the upload's limits (at most 1,000 records: later entries are reported as
 * not read).
 *
 * @param text The file's text.
 * @param format A format, or `auto` to guess it from the first line.
 * @returns The records and what was skipped.
 * @throws {ApiError} 422 `unknown_format` when the format cannot be guessed; 422 `empty_upload` when no
 *   entry became a record (with the first reasons).
 * @example
 * ```ts
 * import { importForReview } from "./import.ts";
 * importForReview('127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326', "auto").format; // "clf"
 * ```
 */
export function importForReview(text: string, format: ImportFormat | "auto"): ImportResult {
  const chosen = format === "auto" ? detectFormat(text) : format;
  if (chosen === null) {
    throw new ApiError(
      422,
      "unknown_format",
      `the file's format could not be recognised from its first line: give format=${
        IMPORT_FORMATS.join("|")
      }`,
    );
  }
  const report = importText(chosen, text, { maxRecords: MAX_RECORDS, maxBytes: MAX_UPLOAD_BYTES });
  const skipped = report.skipped.slice(0, SHOWN_SKIPPED).map((s) => ({ line: s.line, reason: s.reason }));
  if (report.records.length === 0) {
    const first = report.skipped[0];
    const where = chosen === "har" ? "entry" : "line";
    const reason = first === undefined
      ? "the file holds no request"
      : first.line === 0
      ? first.reason
      : `no request could be read: ${where} ${first.line}: ${first.reason}`;
    throw new ApiError(422, "empty_upload", reason, {
      format: chosen,
      skipped,
      skippedCount: report.skipped.length,
    });
  }
  return {
    format: chosen,
    total: report.total,
    records: report.records,
    skipped,
    skippedCount: report.skipped.length,
  };
}
