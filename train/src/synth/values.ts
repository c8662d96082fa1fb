/**
 * Generators of realistic parameter values by kind: ids, pages, enums, free text, e-mails, dates, time
 * stamps, UUIDs, tokens, base64, paths, booleans, prices, slugs, phone numbers, postcodes, campaign tags.
 * Values come back raw (not URL-encoded); the request serialiser encodes them as a client would.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { ENUM_VALUES, PARAM_NAMES, WORDS } from "./vocab.ts";

/** The kind of value a parameter carries. */
export type ValueKind = keyof typeof PARAM_NAMES;

/** Every kind. */
export const VALUE_KINDS = Object.keys(PARAM_NAMES) as ValueKind[];

/** Kinds whose values are numbers (range tampering applies to them). */
export const NUMERIC_KINDS: readonly ValueKind[] = [
  "id",
  "page",
  "ts",
  "price",
  "zip",
];

const HEX = "0123456789abcdef";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `n` characters drawn from `alphabet`. */
export function randomString(rng: Rng, alphabet: string, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

/** A random UUID v4 string. */
export function uuid(rng: Rng): string {
  const h = randomString(rng, HEX, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

/** A JWT-shaped token (three base64url parts). */
export function jwt(rng: Rng): string {
  const b64url = B64.replace("+/", "-_");
  return `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ${randomString(rng, b64url, 40 + rng.int(40))}.${
    randomString(rng, b64url, 43)
  }`;
}

/** A session-token of one of the usual shapes. */
export function sessionToken(
  rng: Rng,
  shape: "hex" | "b64" | "jwt" | "alnum",
): string {
  if (shape === "jwt") return jwt(rng);
  if (shape === "hex") return randomString(rng, HEX, 32);
  if (shape === "b64") return randomString(rng, B64, 40) + "==";
  return randomString(rng, ALNUM, 26);
}

/** Base64 of a short ASCII text, as `uri=` and `ctx=` parameters carry. */
function base64Of(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i += 3) {
    const a = text.charCodeAt(i),
      b = text.charCodeAt(i + 1),
      c = text.charCodeAt(i + 2);
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += Number.isNaN(b) ? "=" : B64[(n >> 6) & 63];
    out += Number.isNaN(c) ? "=" : B64[n & 63];
  }
  return out;
}

/** Shapes of the values of an `opaque` parameter (one per parameter). */
const OPAQUE_SHAPES = [
  "digits",
  "alnum",
  "hex",
  "literal",
  "b64",
  "version",
  "list",
  "mixed",
] as const;

/** Parameters of one value kind that a tenant keeps stable (ranges, enum sets, word lists). */
export interface KindStyle {
  /** The value shape of an `opaque` parameter. */
  opaque: typeof OPAQUE_SHAPES[number];
  /** Its typical length. */
  length: number;
  /** Upper bound of ids. */
  idMax: number;
  /** The enum values this parameter takes. */
  enumValues: string[];
  /** Words this site's free text and slugs use. */
  words: string[];
}

/** A style for one parameter of a tenant. */
export function newStyle(rng: Rng): KindStyle {
  return {
    opaque: rng.pick(OPAQUE_SHAPES),
    length: 4 + rng.int(20),
    idMax: [99, 999, 9999, 99999, 999999][rng.int(5)],
    enumValues: rng.sample(ENUM_VALUES, 2 + rng.int(4)),
    words: rng.sample(WORDS, 12 + rng.int(20)),
  };
}

/**
 * A value of `kind` in `style`.
 *
 * @param rng The random stream.
 * @param kind The value kind.
 * @param style The parameter's stable style.
 */
export function valueOf(rng: Rng, kind: ValueKind, style: KindStyle): string {
  switch (kind) {
    case "id":
      return String(1 + rng.int(style.idMax));
    case "page":
      return String(
        rng.chance(0.5) ? 1 + rng.int(5) : [10, 20, 25, 50, 100][rng.int(5)],
      );
    case "enum":
      return rng.pick(style.enumValues);
    case "text":
      return Array.from({ length: 1 + rng.int(3) }, () => rng.pick(style.words))
        .join(" ");
    case "lang":
      return rng.pick([
        "en",
        "de",
        "fr",
        "es",
        "zh-CN",
        "ja",
        "pt-BR",
        "it",
        "ko",
      ]);
    case "email":
      return `${rng.pick(style.words)}.${rng.pick(WORDS)}${rng.int(100)}@${
        rng.pick(["gmail.com", "example.org", "outlook.com", "mail.example", "example.com", "example.net"])
      }`;
    case "date": {
      const y = 2019 + rng.int(7), m = 1 + rng.int(12), d = 1 + rng.int(28);
      return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
    }
    case "ts":
      return String(
        rng.chance(0.7) ? 1_490_000_000_000 + rng.int(2e9) * 100 : 1_490_000_000 + rng.int(3e8),
      );
    case "uuid":
      return uuid(rng);
    case "token":
      return rng.chance(0.5) ? randomString(rng, HEX, 32) : randomString(rng, ALNUM, 24 + rng.int(20));
    case "b64":
      return base64Of(
        `/${rng.pick(style.words)}/${rng.pick(style.words)}.action?id=${rng.int(1e6)}`,
      );
    case "path":
      return `/${rng.pick(style.words)}/${rng.pick(style.words)}`;
    case "bool":
      return rng.pick(["1", "0", "true", "false", "yes", "on"]);
    case "price":
      return rng.chance(0.5) ? String(rng.int(500)) : `${rng.int(500)}.${rng.int(100)}`;
    case "slug":
      return Array.from({ length: 1 + rng.int(3) }, () => rng.pick(style.words))
        .join("-");
    case "phone":
      return `+${1 + rng.int(90)}${randomString(rng, "0123456789", 9)}`;
    case "zip":
      return String(10000 + rng.int(89999));
    case "opaque":
      return opaqueValue(rng, style);
    case "utm":
      return rng.pick([
        "google",
        "newsletter",
        "facebook",
        "twitter",
        "email",
        "cpc",
        "spring_sale",
        "partner",
      ]);
  }
  return rng.pick(style.words);
}

/** A value of a parameter with a site-specific name and shape. */
function opaqueValue(rng: Rng, style: KindStyle): string {
  const n = Math.max(2, style.length + rng.int(4) - 2);
  switch (style.opaque) {
    case "digits":
      return randomString(rng, "0123456789", n);
    case "alnum":
      return randomString(rng, "abcdefghijklmnopqrstuvwxyz0123456789", n);
    case "hex":
      return randomString(rng, "0123456789ABCDEF", n);
    case "literal":
      return rng.pick([
        "null",
        "true",
        "false",
        "0",
        "1",
        "undefined",
        "none",
        "-1",
        "N",
        "Y",
      ]);
    case "b64":
      return randomString(
        rng,
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        n * 2,
      ) + rng.pick(["", "=", "=="]);
    case "version":
      return `${rng.int(10)}.${rng.int(20)}.${rng.int(50)}`;
    case "list":
      return Array.from({ length: 1 + rng.int(4) }, () => String(rng.int(1000)))
        .join(rng.pick([",", "|", ";", "-"]));
    case "mixed":
      return `${rng.pick(style.words)}_${rng.int(100)}${rng.pick(["", "-x", ".v2", "A"])}`;
  }
}

/** A made-up parameter name in one of the styles sites use (`NXXS`-like abbreviations, camelCase, ...). */
export function opaqueName(rng: Rng, words: readonly string[]): string {
  const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
  switch (rng.int(6)) {
    case 0:
      return randomString(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2 + rng.int(4));
    case 1:
      return `${rng.pick(words)}${cap(rng.pick(words))}`;
    case 2:
      return `${rng.pick(["str", "int", "is", "has", "n", "s"])}${cap(rng.pick(words))}`;
    case 3:
      return `${rng.pick(words)}${rng.int(10)}`;
    case 4:
      return `${rng.pick(["ctl00$main$", "__", "_", "f_", "x-"])}${rng.pick(words)}`;
    default:
      return `${rng.pick(words)}_${rng.pick(words)}_${rng.pick(["id", "no", "cd", "dt", "flag"])}`;
  }
}
