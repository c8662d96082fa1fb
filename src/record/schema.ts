/**
 * The zod schema of the canonical request record, with the limits the tenant API enforces.
 *
 * @module
 */
import { z } from "zod";
import type { RequestRecord } from "./record.ts";

/** Largest record, in UTF-8 bytes of its JSON (after unknown keys are dropped). */
export const MAX_RECORD_BYTES = 65536;
/** Most records in one upload. */
export const MAX_RECORDS = 1000;
/** Largest upload, in bytes. */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;

/** Most characters in a method. */
export const MAX_METHOD_CHARS = 32;
/** Most characters in a URL. */
export const MAX_URL_CHARS = 8192;
/** Most headers in a record. */
export const MAX_HEADERS = 100;
/** Most characters in a header name. */
export const MAX_HEADER_NAME_CHARS = 256;
/** Most characters in a header value. */
export const MAX_HEADER_VALUE_CHARS = 16384;
/** Most characters in a body. */
export const MAX_BODY_CHARS = 65536;
/** Most characters in `family` and in `tenant`. */
export const MAX_NAME_CHARS = 128;

/** Keys that would reach an object's prototype if merged into it. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Whether `s` is a non-empty HTTP token (RFC 9110 `tchar`): what methods and header names are made of.
 *
 * @param s The text to test.
 * @returns `true` when every character is a `tchar` and there is at least one.
 * @example
 * ```ts
 * isHttpToken("X-Forwarded-For"); // true
 * isHttpToken("bad name"); // false
 * ```
 */
export function isHttpToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTchar(s.charCodeAt(i))) return false;
  }
  return true;
}

function isTchar(c: number): boolean {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return true;
  // ! # $ % & ' * + - . ^ _ ` | ~
  return c === 33 || (c >= 35 && c <= 39) || c === 42 || c === 43 || c === 45 || c === 46 ||
    c === 94 || c === 95 || c === 96 || c === 124 || c === 126;
}

/**
 * Shows untrusted text in a message: JSON-quoted (so controls are escaped) and cut to a readable length.
 *
 * @param s The text.
 * @param max Most characters kept before `…`.
 * @returns The quoted text.
 * @example
 * ```ts
 * quoteForMessage("a\u001bb"); // '"a\\u001bb"'
 * ```
 */
export function quoteForMessage(s: string, max = 40): string {
  return JSON.stringify(s.length > max ? s.slice(0, max) + "…" : s);
}

/**
 * UTF-8 length of a string, without encoding it; a lone surrogate counts as U+FFFD (3 bytes), as
 * `TextEncoder` would write it.
 *
 * @param s The text.
 * @returns Its length in UTF-8 bytes.
 * @example
 * ```ts
 * utf8Length("café"); // 5
 * ```
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) n += 4, i++;
      else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Finds a forbidden key anywhere in a JSON-like value; iterative, so deep nesting cannot overflow the
 * stack, and each object is visited once, so shared or cyclic references (which JSON cannot produce, but
 * a caller's object can) cost one visit each instead of a walk without end.
 */
function findForbiddenKey(value: unknown): { path: string; key: string } | null {
  interface Step {
    v: unknown;
    key: string | number;
    parent: Step | null;
  }
  const stack: Step[] = [{ v: value, key: "", parent: null }];
  const visited = new WeakSet<object>();
  while (stack.length > 0) {
    const step = stack.pop()!;
    const v = step.v;
    if (typeof v !== "object" || v === null || visited.has(v)) continue;
    visited.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], key: i, parent: step });
      continue;
    }
    for (const key of Object.keys(v)) {
      const next = { v: (v as Record<string, unknown>)[key], key, parent: step };
      if (FORBIDDEN_KEYS.has(key.toLowerCase())) return { path: pathOf(next), key };
      stack.push(next);
    }
  }
  return null;

  // The path is spelt out only once a key is found: building it at every step would be quadratic in depth.
  function pathOf(step: Step): string {
    const parts: string[] = [];
    for (let s: Step | null = step; s !== null && s.parent !== null; s = s.parent) {
      parts.push(typeof s.key === "number" ? `[${s.key}]` : s.parent.parent === null ? s.key : `.${s.key}`);
    }
    return parts.reverse().join("");
  }
}

const nameField = z.string().max(MAX_NAME_CHARS, { error: `at most ${MAX_NAME_CHARS} characters` });

const headersSchema = z
  .record(
    z.string(),
    z.string().max(MAX_HEADER_VALUE_CHARS, { error: `at most ${MAX_HEADER_VALUE_CHARS} characters` }),
  )
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_HEADERS) {
      ctx.addIssue({ code: "custom", message: `${names.length} headers, at most ${MAX_HEADERS} allowed` });
      return;
    }
    for (const name of names) {
      if (name.length > MAX_HEADER_NAME_CHARS) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `name over ${MAX_HEADER_NAME_CHARS} characters`,
        });
        return;
      }
      if (!isHttpToken(name)) {
        ctx.addIssue({ code: "custom", path: [name], message: "name is not an HTTP token" });
        return;
      }
    }
  });

/** The record's fields; unknown keys are dropped (zod's default for objects). */
const recordObject = z
  .object({
    method: z
      .string()
      .min(1, { error: "empty" })
      .max(MAX_METHOD_CHARS, { error: `at most ${MAX_METHOD_CHARS} characters` })
      .refine((m) => m === "" || isHttpToken(m), {
        error: "not an HTTP token (A-Z a-z 0-9 !#$%&'*+-.^_`|~)",
      }),
    url: z
      .string()
      .min(1, { error: "empty" })
      .max(MAX_URL_CHARS, { error: `at most ${MAX_URL_CHARS} characters` }),
    headers: headersSchema.optional(),
    body: z.string().max(MAX_BODY_CHARS, { error: `at most ${MAX_BODY_CHARS} characters` }).optional(),
    label: z.union([z.literal(0), z.literal(1)], { error: "must be 0 or 1" }).optional(),
    family: nameField.optional(),
    tenant: nameField.optional(),
  })
  .superRefine((record, ctx) => {
    const bytes = utf8Length(JSON.stringify(record));
    if (bytes > MAX_RECORD_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `record is ${bytes} bytes as JSON, over the ${MAX_RECORD_BYTES}-byte limit`,
      });
    }
  }, { when: (payload) => payload.issues.length === 0 }); // a record already rejected is not measured

/**
 * The zod schema of a {@linkcode RequestRecord}. Forbidden keys (`__proto__`, `constructor`, `prototype`)
 * anywhere in the value are rejected before anything is copied; unknown keys are dropped.
 *
 * @example
 * ```ts
 * const r = recordSchema.safeParse({ method: "GET", url: "/", extra: 1 });
 * r.success && r.data; // { method: "GET", url: "/" }
 * ```
 */
export const recordSchema: z.ZodType<RequestRecord, unknown> = z
  .unknown()
  .superRefine((value, ctx) => {
    const found = findForbiddenKey(value);
    if (found) {
      ctx.addIssue({
        code: "custom",
        message: `forbidden key ${quoteForMessage(found.key)} at ${quoteForMessage(found.path, 80)}`,
      });
    }
  })
  .pipe(recordObject);

/**
 * The record's fields alone (without the forbidden-key scan): what the OpenAPI document describes as a
 * `Record`. Parse with `recordSchema`.
 */
export const recordFieldsSchema: z.ZodType<RequestRecord> = recordObject as z.ZodType<RequestRecord>;

/** The outcome of {@linkcode parseRecord}. */
export type ParseRecordResult = { ok: true; record: RequestRecord } | { ok: false; error: string };

/**
 * Validates one value (typically from `JSON.parse`) as a canonical record.
 *
 * @param value Anything.
 * @returns The record with unknown keys dropped, or a one-line error naming each bad field.
 * @example
 * ```ts
 * parseRecord({ method: "GET", url: "/a?b=1", label: 1 }); // { ok: true, record: {...} }
 * parseRecord({ method: "GET", url: "" }); // { ok: false, error: "url: empty" }
 * ```
 */
export function parseRecord(value: unknown): ParseRecordResult {
  const result = recordSchema.safeParse(value);
  if (result.success) return { ok: true, record: result.data };
  return { ok: false, error: formatIssues(result.error.issues) };
}

/** At most this many issues are spelt out; a record with more is rejected for the first ones anyway. */
const MAX_ISSUES_SHOWN = 3;

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, MAX_ISSUES_SHOWN).map((issue) => {
    const path = formatPath(issue.path);
    return path === "" ? issue.message : `${path}: ${issue.message}`;
  });
  if (issues.length > MAX_ISSUES_SHOWN) parts.push(`and ${issues.length - MAX_ISSUES_SHOWN} more`);
  return parts.join("; ");
}

const FIELDS: ReadonlySet<PropertyKey> = new Set(Object.keys(recordObject.shape));

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (out === "" && FIELDS.has(key)) out = key as string;
    else out += `[${quoteForMessage(String(key))}]`;
  }
  return out;
}
