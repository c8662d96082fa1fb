/**
 * The canonical request record and its validation.
 *
 * ```ts
 * import { parseRecord } from "./mod.ts";
 * const r = parseRecord(JSON.parse('{"method":"GET","url":"/?q=1","label":0}'));
 * if (!r.ok) throw new Error(r.error);
 * ```
 *
 * @module
 */
export type { RequestRecord } from "./record.ts";
export {
  isHttpToken,
  MAX_BODY_CHARS,
  MAX_HEADER_NAME_CHARS,
  MAX_HEADER_VALUE_CHARS,
  MAX_HEADERS,
  MAX_METHOD_CHARS,
  MAX_NAME_CHARS,
  MAX_RECORD_BYTES,
  MAX_RECORDS,
  MAX_UPLOAD_BYTES,
  MAX_URL_CHARS,
  parseRecord,
  type ParseRecordResult,
  recordSchema,
} from "./schema.ts";
