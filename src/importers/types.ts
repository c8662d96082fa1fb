/**
 * Types shared by the importers.
 *
 * @module
 */
import type { RequestRecord } from "../record/record.ts";

/** The formats an importer exists for. */
export type ImportFormat = "jsonl" | "har" | "raw" | "clf";

/** Options of every importer. */
export interface ImportOptions {
  /** Label given to records that carry none (every record, for formats without labels). */
  label?: 0 | 1;
  /** Family given to records that carry none. */
  family?: string;
  /** Tenant given to records that carry none. */
  tenant?: string;
  /** Most records imported; the entry that would exceed it is reported and reading stops. Default 1000. */
  maxRecords?: number;
  /** Most skipped entries reported; the one that would exceed it is reported and reading stops. Default 1000. */
  maxSkipped?: number;
  /** Largest input in UTF-8 bytes; a larger input is refused whole. Default 8 MiB. */
  maxBytes?: number;
}

/** An input entry that did not become a record, and why. */
export interface SkippedEntry {
  /**
   * Where the entry began: the 1-based line of the text (JSONL, the start of an element of a JSON array, raw
   * HTTP, access logs) or, for HAR, the 1-based index in `log.entries`. 0 means the input as a whole.
   */
  line: number;
  /** Why it was skipped, in one line. */
  reason: string;
}

/** What an importer made of its input. Every entry it read is either a record or a skipped entry. */
export interface ImportReport {
  /** Records that passed the schema, in input order. */
  records: RequestRecord[];
  /** Entries that did not, in input order. */
  skipped: SkippedEntry[];
  /** Entries read: always `records.length + skipped.length` (blank lines are not entries). */
  total: number;
}
