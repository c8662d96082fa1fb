/**
 * Reading an upload: the body within the byte limit, its format from the content type, its records through
 * the importers. Every failure is an `ApiError` (413, 415 or 422) naming the record at fault.
 *
 * @module
 */
import { detectFormat, importText } from "../importers/mod.ts";
import type { RequestRecord } from "../record/record.ts";
import { MAX_RECORDS, MAX_UPLOAD_BYTES } from "../record/schema.ts";
import { ApiError } from "./errors.ts";

/** The formats uploads come in: JSONL (or a JSON array), HAR, access logs (`clf`), raw HTTP dumps (`raw`). */
export type UploadFormat = "jsonl" | "har" | "clf" | "raw";

/** Formats whose entries carry no label: their upload needs the `label` query parameter. */
export const UNLABELLED_FORMATS: readonly UploadFormat[] = Object.freeze(["har", "clf", "raw"]);

const JSONL_TYPES = new Set(["application/x-ndjson", "application/jsonl", "application/x-jsonlines"]);
const HAR_TYPES = new Set(["application/har+json"]);
/** The media types the API reads. */
export const UPLOAD_MEDIA_TYPES: readonly string[] = Object.freeze([
  ...JSONL_TYPES,
  "application/json",
  ...HAR_TYPES,
  "text/plain",
]);

/** Skipped entries listed in an error answer. */
const SHOWN_SKIPPED = 10;

/**
 * The media type of a request, if the API reads it.
 *
 * @param contentType The `content-type` header.
 * @returns The media type.
 * @throws {ApiError} 415 when absent or unsupported.
 */
export function uploadMediaType(contentType: string | null): string {
  const semi = contentType?.indexOf(";") ?? -1;
  const mt = (semi < 0 ? contentType ?? "" : contentType!.slice(0, semi)).trim().toLowerCase();
  if (!UPLOAD_MEDIA_TYPES.includes(mt)) {
    throw new ApiError(
      415,
      "unsupported_media_type",
      `content-type ${JSON.stringify(mt.slice(0, 80))} is not one of ${UPLOAD_MEDIA_TYPES.join(", ")}`,
      { accepted: UPLOAD_MEDIA_TYPES },
    );
  }
  return mt;
}

/**
 * The format of an upload: the query's `format` if given, else the media type's (`application/json` holds
 * a JSON array of records, one record, or a HAR archive, told apart by its first key).
 *
 * @param mediaType From `uploadMediaType`.
 * @param text The body.
 * @param asked The `format` query parameter.
 * @returns The format.
 */
export function uploadFormat(mediaType: string, text: string, asked?: UploadFormat): UploadFormat {
  if (asked !== undefined) return asked;
  if (HAR_TYPES.has(mediaType)) return "har";
  if (JSONL_TYPES.has(mediaType)) return "jsonl";
  const detected = detectFormat(text);
  // Plain text: whatever the file is (an access log, a raw HTTP dump, JSONL); JSON: HAR or records.
  if (mediaType === "text/plain" && (detected === "clf" || detected === "raw" || detected === "har")) {
    return detected;
  }
  return detected === "har" ? "har" : "jsonl";
}

/**
 * Reads a body as UTF-8 text, refusing it as soon as it exceeds `maxBytes`: a `content-length` over the
 * limit is refused before reading, a stream is cut at the limit.
 *
 * @param req The request.
 * @param maxBytes The limit (default 8 MiB).
 * @returns The text.
 * @throws {ApiError} 413 over the limit; 422 when the bytes are not UTF-8.
 */
export async function readBodyText(req: Request, maxBytes: number = MAX_UPLOAD_BYTES): Promise<string> {
  const tooLarge = (n: string) =>
    new ApiError(413, "upload_too_large", `the body is ${n} bytes, over the ${maxBytes}-byte limit`, {
      limit: maxBytes,
    });
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw tooLarge(declared);
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (req.body !== null) {
    const reader = req.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(`more than ${maxBytes}`);
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) bytes.set(c, at), at += c.byteLength;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(422, "invalid_upload", "the body is not valid UTF-8");
  }
}

/** What an upload holds. */
export interface ParsedUpload {
  /** The format the upload was read as. */
  format: UploadFormat;
  /** Its records, in upload order, each with the uploading tenant's id as `tenant`. */
  records: RequestRecord[];
}

/**
 * Imports the records of an upload, all or nothing.
 *
 * @param text The body.
 * @param format Its format.
 * @param options `label` sets the label of every HAR entry and of JSONL records that have none; `tenant`
 *   is set on every record.
 * @returns The records.
 * @throws {ApiError} 413 over 1,000 records; 422 for the first entry that is not a valid record (its
 *   `line`, or HAR `entry`, and reason, plus the first few others) or an upload with no record.
 */
export function parseUpload(
  text: string,
  format: UploadFormat,
  options: { label?: 0 | 1; tenant: string },
): ParsedUpload {
  // One more than the limit, so that an upload over it is told apart from one at it.
  const report = importText(format, text, {
    label: options.label,
    maxRecords: MAX_RECORDS + 1,
    maxBytes: MAX_UPLOAD_BYTES,
  });
  if (report.records.length > MAX_RECORDS) {
    throw new ApiError(413, "too_many_records", `more than ${MAX_RECORDS} records in one upload`, {
      limit: MAX_RECORDS,
    });
  }
  const where = format === "har" ? "entry" : "line";
  if (report.skipped.length > 0) {
    const first = report.skipped[0];
    const skipped = report.skipped.slice(0, SHOWN_SKIPPED).map((s) => ({
      [where]: s.line,
      reason: s.reason,
    }));
    if (first.line === 0) {
      throw new ApiError(422, "invalid_upload", first.reason, { format, skipped });
    }
    throw new ApiError(422, "invalid_record", `${where} ${first.line}: ${first.reason}`, {
      format,
      [where]: first.line,
      invalid: report.skipped.length,
      skipped,
    });
  }
  if (report.records.length === 0) throw new ApiError(422, "empty_upload", "the upload holds no record");
  const records = report.records.map((r) => ({ ...r, tenant: options.tenant }));
  return { format, records };
}
