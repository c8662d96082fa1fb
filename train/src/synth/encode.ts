/**
 * The encodings attackers wrap payloads in: evasions that change the text (mixed case, SQL comments for
 * spaces, other whitespace) and transport encodings (URL, every byte URL-encoded, double URL, IIS `%u`, HTML
 * entities, JSON `\u` escapes, base64 of the payload in a parameter its application decodes).
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { cdata, xmlEscape } from "./request.ts";

const utf8 = new TextEncoder();

/** `%XX` of every UTF-8 byte of `s` for which `pick` holds (control characters always). */
export function percent(s: string, pick: (c: string) => boolean): string {
  let out = "";
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code < 32 || code === 127 || code > 126 || pick(ch)) {
      for (const b of utf8.encode(ch)) {
        out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
      }
    } else out += ch;
  }
  return out;
}

/** What must be encoded in a query or form value to keep it one value: `& # +`, spaces as `%20`. */
export function minimalValue(s: string): string {
  return percent(s, (c) => c === "&" || c === "#" || c === " " || c === "+");
}

/** In a path segment, also `/ ? ;` (a `/` would be a segment, and `../` would be resolved away). */
export function minimalSegment(s: string): string {
  return percent(
    s,
    (c) =>
      c === "&" || c === "#" || c === " " || c === "/" || c === "?" ||
      c === "\\",
  );
}

/** In a cookie value: `;`, `,` and spaces would end it. */
export function minimalCookie(s: string): string {
  return percent(s, (c) => c === ";" || c === "," || c === " " || c === '"');
}

/** In a header value: no CR or LF can be sent raw. */
export function minimalHeader(s: string): string {
  return s.replace(/[\r\n]/g, (c) => (c === "\r" ? "%0d" : "%0a"));
}

/** Every non-alphanumeric character URL-encoded (`encodeURIComponent` and `'()*!`). */
export function urlEncode(s: string): string {
  return percent(s, (c) => !/[A-Za-z0-9\-_.~]/.test(c));
}

/** Every character URL-encoded, letters included (some scanners do this). */
export function urlEncodeAll(s: string): string {
  return percent(s, () => true);
}

/** URL-encoded twice: `'` → `%2527`. */
export function doubleUrlEncode(s: string): string {
  return urlEncode(s).replace(/%/g, "%25");
}

/** IIS `%uXXXX` for every special character. */
export function percentU(s: string): string {
  let out = "";
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    out += /[A-Za-z0-9]/.test(ch) ? ch : "%u" + code.toString(16).toUpperCase().padStart(4, "0");
  }
  return out;
}

/** HTML entities for special characters: decimal, hex, or named when one exists. */
export function htmlEntities(s: string, rng: Rng): string {
  const named: Record<string, string> = {
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "&": "&amp;",
  };
  let out = "";
  const style = rng.int(3);
  for (const ch of s) {
    if (/[A-Za-z0-9 ]/.test(ch)) out += ch;
    else if (style === 0 && named[ch]) out += named[ch];
    else if (style === 1) out += `&#${ch.charCodeAt(0)};`;
    else out += `&#x${ch.charCodeAt(0).toString(16)};`;
  }
  return out;
}

/** Random upper/lower case of letters (`SeLeCt`): SQL keywords and HTML tags ignore case. */
export function mixedCase(s: string, rng: Rng): string {
  let out = "";
  for (const ch of s) {
    out += rng.chance(0.5) ? ch.toUpperCase() : ch.toLowerCase();
  }
  return out;
}

/** Spaces as inline comments (`UNION/**\/SELECT`). */
export function sqlComments(s: string): string {
  return s.replace(/ +/g, "/**/");
}

/** Spaces as other whitespace (TAB, newline, `+`). */
export function otherWhitespace(s: string, rng: Rng): string {
  const ws = rng.pick(["\t", "\n", "\r\n", "\u000b", "  "]);
  return s.replace(/ /g, ws);
}

/** The JSON `\uXXXX` escape of every special character (a JSON parser decodes it back). */
export function jsonUnicode(s: string): string {
  return s.replace(
    /[^A-Za-z0-9 ]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** The evasions that apply to a family (changing letter case breaks paths and shell commands). */
const EVASIONS: Record<string, ("case" | "comment" | "ws")[]> = {
  sqli: ["case", "comment", "ws"],
  xss: ["case", "ws"],
  xpath: ["case"],
  ssi: ["case"],
  ldap: [],
};

/**
 * Applies an evasion to a payload with some probability; returns the new text and what was done.
 *
 * @param text The payload.
 * @param family Its family.
 * @param rng The random stream.
 */
export function evade(
  text: string,
  family: string,
  rng: Rng,
): { text: string; how: string } {
  const options = EVASIONS[family] ?? [];
  if (options.length === 0 || !rng.chance(0.35)) return { text, how: "" };
  const e = rng.pick(options);
  if (e === "case") return { text: mixedCase(text, rng), how: "case" };
  if (e === "comment") return { text: sqlComments(text), how: "comment" };
  return { text: otherWhitespace(text, rng), how: "ws" };
}

/** Transport encodings of a query or form value, with how often attackers use them. */
export const VALUE_ENCODINGS = [
  "minimal",
  "url",
  "url-all",
  "double",
  "percent-u",
  "html",
  "base64",
] as const;
const VALUE_ENCODING_WEIGHTS = [0.45, 0.28, 0.04, 0.1, 0.05, 0.08, 0.06];

/** Base64 (or base64url) of text's UTF-8 bytes or of raw bytes, padded or not. */
export function base64(data: string | Uint8Array, url = false, pad = true): string {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  let s = btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  if (url) s = s.replace(/\+/g, "-").replace(/\//g, "_");
  return pad ? s : s.replace(/=+$/, "");
}

/**
 * Base64 of the payload's UTF-8 bytes, as it goes into a parameter that the application decodes: the
 * standard alphabet URL-encoded (`%2B`, `%2F`, `%3D`), the URL-safe one without padding, or the standard one
 * raw.
 */
export function base64Value(s: string, rng: Rng): string {
  const style = rng.weighted([0, 1, 2], [0.5, 0.3, 0.2]);
  if (style === 0) return urlEncode(base64(s));
  if (style === 1) return base64(s, true, false);
  return base64(s);
}

/**
 * A payload encoded for a query or form value (what goes on the wire).
 *
 * @returns The wire text and the encoding's name.
 */
export function encodeValue(
  text: string,
  rng: Rng,
): { text: string; how: string } {
  const how = rng.weighted(VALUE_ENCODINGS, VALUE_ENCODING_WEIGHTS);
  switch (how) {
    case "minimal":
      return { text: minimalValue(text), how };
    case "url":
      return { text: urlEncode(text), how };
    case "url-all":
      return { text: urlEncodeAll(text), how };
    case "double":
      return { text: doubleUrlEncode(text), how };
    case "percent-u":
      return { text: percentU(text), how };
    case "html":
      return { text: urlEncode(htmlEntities(text, rng)), how };
    case "base64":
      return { text: base64Value(text, rng), how };
  }
}

/** A payload as an XML element's content, the ways clients write it: escaped (`&lt;`), as CDATA, or numeric (`&#60;`). */
export function xmlText(text: string, rng: Rng): { text: string; how: string } {
  const style = rng.weighted(["escaped", "cdata", "numeric"] as const, [0.6, 0.25, 0.15]);
  if (style === "cdata") {
    return { text: cdata(text), how: "xml-cdata" };
  }
  if (style === "numeric") {
    return { text: text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`), how: "xml-numeric" };
  }
  return { text: xmlEscape(text), how: "xml" };
}
