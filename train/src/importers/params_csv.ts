/**
 * Importer of the CSV of attack parameter values (`httpparams/attacks.csv`: `payload,length,attack_type,
 * label`, RFC 4180 quoting with `""` for a quote, fields that may span lines).
 *
 * A row that does not parse (wrong number of fields, text after a closing quote, a quote never closed, an
 * empty payload, a label other than `anom`/`norm`) is skipped and reported with the line it starts on;
 * parsing then resumes on the next line, so one stray quote cannot swallow the rest of the file. Counts in
 * the report are of rows (the header counts as a comment), not of physical lines.
 *
 * @module
 */
import { type ImportReport, issue, newReport } from "./report.ts";

/** An attack (or benign) value with its family, as the payload importers produce it. */
export interface Payload {
  payload: string;
  family: string;
  /** 1 for attacks; the CSV's `norm` rows are benign values (0). */
  label: 0 | 1;
  /** Where it came from: input name and 1-based line. */
  source: string;
  line: number;
}

/** The CSV's attack types → taugate family names. */
export const CSV_FAMILIES: Readonly<Record<string, string>> = {
  sqli: "sqli",
  xss: "xss",
  "path-traversal": "traversal",
  cmdi: "cmdi",
};

const HEADER = ["payload", "length", "attack_type", "label"];

/**
 * Imports the parameter CSV.
 *
 * @param text The file's text.
 * @param source Name of the input for the report.
 */
export function importParamsCsv(
  text: string,
  source: string,
): { payloads: Payload[]; report: ImportReport } {
  const report = newReport(source);
  report.unterminatedLastLine = text.length > 0 && !text.endsWith("\n");
  const payloads: Payload[] = [];
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  }
  if (!report.unterminatedLastLine) lineStarts.pop();
  let li = 0;
  while (li < lineStarts.length) {
    const start = lineStarts[li];
    const row = parseRow(text, start);
    const lineNo = li + 1;
    const rawLine = text.slice(
      start,
      li + 1 < lineStarts.length ? lineStarts[li + 1] - 1 : text.length,
    );
    report.lines++;
    // A malformed row that spans lines is skipped alone: parsing resumes on the line after its first.
    const next = row.error ? li + 1 : lineIndexAt(lineStarts, row.end, li);
    li = next;
    if (row.error) {
      report.skipped.push(issue(lineNo, row.error, rawLine));
      continue;
    }
    const f = row.fields;
    if (f.length === 1 && f[0].trim() === "") {
      report.blank++;
      continue;
    }
    if (lineNo === 1 && f.join(",").toLowerCase() === HEADER.join(",")) {
      report.comments++;
      continue;
    }
    if (f.length !== 4) {
      report.skipped.push(
        issue(lineNo, `expected 4 fields, found ${f.length}`, rawLine),
      );
      continue;
    }
    const [payload, length, type, label] = f;
    if (payload === "") {
      report.skipped.push(issue(lineNo, "empty payload", rawLine));
      continue;
    }
    if (label !== "anom" && label !== "norm") {
      report.skipped.push(issue(lineNo, `unknown label "${label}"`, rawLine));
      continue;
    }
    const family = label === "norm" ? "benign" : CSV_FAMILIES[type] ?? type;
    if (label === "anom" && !(type in CSV_FAMILIES)) {
      report.warnings.push(
        issue(
          lineNo,
          `unknown attack_type "${type}", kept as a family of its own`,
          rawLine,
        ),
      );
    }
    if (String(payload.length) !== length) {
      report.warnings.push(
        issue(
          lineNo,
          `length column ${length} ≠ ${payload.length} characters`,
          rawLine,
        ),
      );
    }
    payloads.push({
      payload,
      family,
      label: label === "anom" ? 1 : 0,
      source,
      line: lineNo,
    });
    report.items++;
  }
  return { payloads, report };
}

/** The index of the line that starts at or after `offset` (rows end just before a line start). */
function lineIndexAt(
  lineStarts: number[],
  offset: number,
  from: number,
): number {
  let i = from + 1;
  while (i < lineStarts.length && lineStarts[i] < offset) i++;
  return i;
}

/** Parses one CSV row starting at `start`; `end` is the offset just after its newline. */
function parseRow(
  text: string,
  start: number,
): { fields: string[]; end: number; error?: string } {
  const fields: string[] = [];
  let i = start;
  for (;;) {
    let value = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) {
          return { fields, end: i, error: "quote never closed" };
        }
        const q = text.indexOf('"', i);
        if (q < 0) {
          return { fields, end: text.length, error: "quote never closed" };
        }
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      const c = text[i];
      if (c !== undefined && c !== "," && c !== "\n" && c !== "\r") {
        return { fields, end: i, error: "text after a closing quote" };
      }
    } else {
      let j = i;
      while (j < text.length && text[j] !== "," && text[j] !== "\n") j++;
      value = text.slice(i, j);
      if (value.endsWith("\r") && text[j] !== ",") value = value.slice(0, -1);
      if (value.includes('"')) {
        return { fields, end: j, error: "quote inside an unquoted field" };
      }
      i = j;
    }
    fields.push(value);
    if (text[i] === "\r") i++;
    if (i >= text.length || text[i] === "\n") return { fields, end: i + 1 };
    i++; // the comma
  }
}
