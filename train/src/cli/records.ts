/**
 * Reading canonical records (JSONL) for the CLIs: each line is checked with the project's record schema; a
 * malformed line is skipped and reported with its line number, never fatal.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { parseRecord } from "@taugate/record/mod.ts";
import type { RequestRecord } from "@taugate/record/record.ts";

/** Records of a JSONL text and the lines that were skipped. */
export interface ReadRecords {
  records: RequestRecord[];
  skipped: { line: number; reason: string }[];
}

/**
 * Parses JSONL records.
 *
 * @param text The JSONL text.
 * @param needLabel Every record must carry `label` (evaluation, adaptation).
 */
export function parseJsonl(text: string, needLabel: boolean): ReadRecords {
  const out: ReadRecords = { records: [], skipped: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      out.skipped.push({
        line: i + 1,
        reason: `not JSON: ${(e as Error).message}`,
      });
      continue;
    }
    const r = parseRecord(value);
    if (!r.ok) {
      out.skipped.push({ line: i + 1, reason: r.error });
      continue;
    }
    if (needLabel && r.record.label === undefined) {
      out.skipped.push({ line: i + 1, reason: "no label" });
      continue;
    }
    out.records.push(r.record);
  }
  return out;
}

/** Reads a JSONL file (see `parseJsonl`). */
export function readJsonl(path: string, needLabel: boolean): ReadRecords {
  return parseJsonl(readFileSync(path, "utf8"), needLabel);
}

/** JSONL text of records. */
export function toJsonl(records: readonly RequestRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + "\n";
}
