/**
 * Helpers shared by the importers: the report collector, headers as `Headers` combines them, line scanning.
 *
 * @module
 */
import { MAX_NAME_CHARS, MAX_RECORDS, MAX_UPLOAD_BYTES, parseRecord, utf8Length } from "../record/schema.ts";
import type { ImportOptions, ImportReport, SkippedEntry } from "./types.ts";
import type { RequestRecord } from "../record/record.ts";

/**
 * Collects records and skipped entries for one import, applying the options' defaults and limits.
 * Once a limit is reached, `done` turns true and the importer stops reading.
 */
export class Collector {
  readonly #records: RequestRecord[] = [];
  readonly #skipped: SkippedEntry[] = [];
  readonly #options: Required<Pick<ImportOptions, "maxRecords" | "maxSkipped" | "maxBytes">>;
  readonly #defaults: Pick<RequestRecord, "label" | "family" | "tenant">;
  #done = false;

  /** @throws {TypeError} When an option is out of range (a caller's bug, not bad input). */
  constructor(options: ImportOptions) {
    const { label, family, tenant } = options;
    if (label !== undefined && label !== 0 && label !== 1) throw new TypeError("label must be 0 or 1");
    for (const [name, v] of [["family", family], ["tenant", tenant]] as const) {
      if (v !== undefined && (typeof v !== "string" || v.length > MAX_NAME_CHARS)) {
        throw new TypeError(`${name} must be a string of at most ${MAX_NAME_CHARS} characters`);
      }
    }
    this.#options = {
      maxRecords: positiveInteger("maxRecords", options.maxRecords ?? MAX_RECORDS),
      maxSkipped: positiveInteger("maxSkipped", options.maxSkipped ?? MAX_RECORDS),
      maxBytes: positiveInteger("maxBytes", options.maxBytes ?? MAX_UPLOAD_BYTES),
    };
    this.#defaults = {};
    if (label !== undefined) this.#defaults.label = label;
    if (family !== undefined) this.#defaults.family = family;
    if (tenant !== undefined) this.#defaults.tenant = tenant;
  }

  /** A limit was reached: read no further. */
  get done(): boolean {
    return this.#done;
  }

  /** Refuses an input over `maxBytes` (reported as line 0); returns whether it did. */
  refuseOversize(text: string): boolean {
    const max = this.#options.maxBytes;
    // Each UTF-16 unit is at least 1 and at most 3 UTF-8 bytes: count only when it could matter.
    if (text.length * 3 <= max) return false;
    const bytes = text.length > max ? text.length : utf8Length(text);
    if (bytes <= max) return false;
    this.skip(0, `input is over the ${max}-byte limit${text.length > max ? "" : ` (${bytes} bytes)`}`);
    this.#done = true;
    return true;
  }

  /**
   * Validates a candidate (defaults filled in where it has none) and keeps it or reports why not.
   * Returns whether it was kept.
   */
  add(line: number, candidate: unknown): boolean {
    if (this.#done) return false;
    if (this.#records.length >= this.#options.maxRecords) {
      this.#stop(line, `record limit (${this.#options.maxRecords}) reached: this and later entries not read`);
      return false;
    }
    const result = parseRecord(withDefaults(candidate, this.#defaults));
    if (result.ok) this.#records.push(result.record);
    else this.skip(line, result.error);
    return result.ok;
  }

  /** Reports an entry that did not become a record. */
  skip(line: number, reason: string): void {
    if (this.#done) return;
    if (this.#skipped.length >= this.#options.maxSkipped) {
      this.#stop(
        line,
        `skipped-entry limit (${this.#options.maxSkipped}) reached: this and later entries not read`,
      );
      return;
    }
    this.#skipped.push({ line, reason });
  }

  /** The report so far. */
  report(): ImportReport {
    return {
      records: this.#records,
      skipped: this.#skipped,
      total: this.#records.length + this.#skipped.length,
    };
  }

  #stop(line: number, reason: string): void {
    this.#skipped.push({ line, reason });
    this.#done = true;
  }
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${name} must be a positive integer`);
  return v;
}

function withDefaults(candidate: unknown, defaults: Pick<RequestRecord, "label" | "family" | "tenant">) {
  if (typeof candidate !== "object" || candidate === null || Array.isArray(candidate)) return candidate;
  // Spread defines own properties, so even a "__proto__" key stays data for the schema to reject.
  const out: Record<string, unknown> = { ...candidate };
  for (const key of ["label", "family", "tenant"] as const) {
    if (out[key] === undefined && defaults[key] !== undefined) out[key] = defaults[key];
  }
  return out;
}

/** Request headers combined as `Headers` does: names lower-cased, values trimmed, duplicates joined. */
export class HeaderBag {
  readonly #map = new Map<string, string>();

  /** Adds one header; a repeated name is joined with `, ` (cookies with `; `, as HTTP/2 splits them). */
  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const v = trimHttpWhitespace(value);
    const prev = this.#map.get(key);
    this.#map.set(key, prev === undefined ? v : prev + (key === "cookie" ? "; " : ", ") + v);
  }

  /** Whether a header of that (lower-case) name was added. */
  has(name: string): boolean {
    return this.#map.has(name);
  }

  /** The headers as a record's `headers`, or `undefined` when there are none. */
  toObject(): Record<string, string> | undefined {
    // fromEntries defines own data properties: a "__proto__" name cannot reach the prototype.
    return this.#map.size === 0 ? undefined : Object.fromEntries(this.#map);
  }
}

/** Trims spaces, tabs, CR and LF from both ends. */
export function trimHttpWhitespace(s: string): string {
  let a = 0, b = s.length;
  while (a < b && isHttpWhitespace(s.charCodeAt(a))) a++;
  while (b > a && isHttpWhitespace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Space, tab, CR or LF. */
export function isHttpWhitespace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Whether a line holds nothing but whitespace. */
export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (!isHttpWhitespace(s.charCodeAt(i))) return false;
  }
  return true;
}

/** Index after a leading byte-order mark, if any. */
export function afterBom(text: string): number {
  return text.charCodeAt(0) === 0xfeff ? 1 : 0;
}

/**
 * Calls `fn` for each line (LF or CRLF ends, the end stripped) with its 1-based number, until `fn`
 * returns `false`.
 */
export function forEachLine(text: string, fn: (line: string, number: number) => boolean | void): void {
  let start = afterBom(text);
  for (let n = 1; start <= text.length; n++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (fn(text.slice(start, stop), n) === false) return;
    start = end + 1;
  }
}

/** The message of a caught value, in one line (it may quote input: controls escaped, length capped). */
export function errorMessage(e: unknown): string {
  return printable(e instanceof Error ? e.message : String(e), 200);
}

/** Text safe to show in a terminal or a page: control characters escaped as `\uXXXX`, at most `max` units. */
export function printable(s: string, max: number): string {
  let out = "";
  const n = Math.min(s.length, max);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c < 32 || (c >= 0x7f && c < 0xa0) ? "\\u" + c.toString(16).padStart(4, "0") : s[i];
  }
  return s.length > max ? out + "…" : out;
}

/** Whether `v` is a non-null, non-array object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An own property of a parsed JSON object (never one inherited from `Object.prototype`). */
export function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}
