/**
 * What every importer reports besides its output: how many lines it read and what it did with each, so that
 * nothing is dropped silently. Invariant: `lines = items + blank + comments + skipped.length`.
 *
 * @module
 */

/** One line an importer skipped or kept with a remark, by its 1-based line number. */
export interface ImportIssue {
  line: number;
  reason: string;
  /** The start of the offending text, for the report. */
  text: string;
}

/** The account of one import. */
export interface ImportReport {
  /** The input's name (a path relative to the data folder, or a label). */
  source: string;
  /** Lines read; a last line without a newline counts too. */
  lines: number;
  /** Records or payloads produced. */
  items: number;
  /** Empty (or whitespace-only) lines. */
  blank: number;
  /** Comment lines (payload lists only). */
  comments: number;
  /** Malformed lines, skipped. */
  skipped: ImportIssue[];
  /** Lines kept but changed or notable (e.g. invalid UTF-8 read as Latin-1, a target given a leading `/`). */
  warnings: ImportIssue[];
  /** The input did not end with a newline (so `wc -l` counts one line fewer than `lines`). */
  unterminatedLastLine: boolean;
}

/** An empty report for `source`. */
export function newReport(source: string): ImportReport {
  return {
    source,
    lines: 0,
    items: 0,
    blank: 0,
    comments: 0,
    skipped: [],
    warnings: [],
    unterminatedLastLine: false,
  };
}

/** The issue record for a line: the reason and the line's first 120 characters. */
export function issue(line: number, reason: string, text: string): ImportIssue {
  return {
    line,
    reason,
    text: text.length > 120 ? text.slice(0, 120) + "…" : text,
  };
}

/** Checks the report's invariant; an importer that breaks it has lost or invented a line. */
export function balanced(r: ImportReport): boolean {
  return r.lines === r.items + r.blank + r.comments + r.skipped.length;
}

/** One line summary of a report, e.g. `fwaf/badqueries.txt: 48126 lines → 48126 items, 0 skipped`. */
export function summarise(r: ImportReport): string {
  const extra = [
    r.blank ? `${r.blank} blank` : "",
    r.comments ? `${r.comments} comments` : "",
    `${r.skipped.length} skipped`,
    r.warnings.length ? `${r.warnings.length} warnings` : "",
  ].filter((s) => s).join(", ");
  return `${r.source}: ${r.lines} lines → ${r.items} items (${extra})`;
}
