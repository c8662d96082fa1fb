/**
 * Canonicalisation of one field: bounded repeated decoding of the encodings attackers use to hide a payload
 * (percent, `%uXXXX`, `\uXXXX`, `\xXX`, HTML entities, Unicode compatibility forms), keeping the evidence
 * that decoding was needed. Hand-written scanners, linear in the input, no regular expressions.
 */
import { codeAt } from "./chars.ts";

/** Evidence of decoding, accumulated over the fields of one request. */
export interface DecodeEvidence {
  /**
   * Largest number of percent-decoding rounds that decoded an ASCII character (or a `%uXXXX`) in one field
   * (double encoding shows as 2); rounds that decoded only the UTF-8 bytes of non-ASCII text do not count.
   */
  depth: number;
  /** `%` not followed by two hex digits (or `u` and four), and `\x`/`\u` without their digits. */
  invalidEscapes: number;
  /** `%uXXXX`, `\uXXXX`, `\xXX` sequences decoded. */
  unicodeEscapes: number;
  /** HTML character references decoded. */
  htmlEntities: number;
  /** Percent-decoded byte sequences that were not valid UTF-8. */
  invalidUtf8: number;
}

export function newEvidence(): DecodeEvidence {
  return { depth: 0, invalidEscapes: 0, unicodeEscapes: 0, htmlEntities: 0, invalidUtf8: 0 };
}

const C_PERCENT = 37, C_AMP = 38, C_BACKSLASH = 92, C_PLUS = 43, C_SPACE = 32;

/**
 * True when `s` holds anything the decoder would change: `%`, `&`, `\`, non-ASCII, or `+` where it means a
 * space. Most benign fields hold none, and skip decoding entirely.
 */
export function needsDecoding(s: string, plusAsSpace: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = codeAt(s, i);
    if (c === C_PERCENT || c === C_AMP || c === C_BACKSLASH || c >= 128 || (plusAsSpace && c === C_PLUS)) {
      return true;
    }
  }
  return false;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

function hexAt(s: string, i: number, n: number): number {
  if (i + n > s.length) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = hexVal(codeAt(s, i + k));
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Named character references worth decoding: those attackers use to smuggle syntax. */
const ENTITIES: ReadonlyMap<string, number> = new Map([
  ["lt", 60],
  ["gt", 62],
  ["amp", 38],
  ["quot", 34],
  ["apos", 39],
  ["nbsp", 32],
  ["colon", 58],
  ["semi", 59],
  ["lpar", 40],
  ["rpar", 41],
  ["sol", 47],
  ["bsol", 92],
  ["comma", 44],
  ["period", 46],
  ["excl", 33],
  ["num", 35],
  ["dollar", 36],
  ["percnt", 37],
  ["plus", 43],
  ["equals", 61],
  ["tab", 9],
  ["newline", 10],
  ["grave", 96],
  ["lsqb", 91],
  ["rsqb", 93],
  ["lcub", 123],
  ["rcub", 125],
  ["verbar", 124],
  ["ast", 42],
  ["quest", 63],
  ["commat", 64],
  ["lowbar", 95],
  ["hyphen", 45],
]);

function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (codeAt(s, i) >= 128) return true;
  return false;
}

/**
 * Decodes fields (`decodeField`) with scratch buffers of its own: the code-unit output buffer (grown on
 * demand and kept), the bytes of a pending `%XX` run, and the value of the last character reference read.
 * Nothing is kept between calls but capacity, so each extractor owns one and no two share state.
 */
export class FieldDecoder {
  /** Output code units of the pass in progress; the first `unitLen` are valid. */
  private units = new Uint16Array(4096);
  private unitLen = 0;
  /** Bytes of a `%XX` run, decoded as UTF-8 when the run ends (or the buffer fills). */
  private readonly bytes = new Uint8Array(4096);
  /** Set by `percentPass` when it decoded a `%` sequence of an ASCII character or a `%uXXXX`. */
  private decoded = false;
  /** The value of the character reference `entityAt` last read. */
  private entityValue = 0;

  /**
   * Decodes a field in up to `rounds` rounds (percent, then escapes and entities, then NFKC and lower case
   * of non-ASCII), stopping when a round changes nothing. The result is at most `cap` code units.
   *
   * @param s The raw field, already cut to its cap.
   * @param plusAsSpace `+` means space (query strings and form bodies).
   * @param rounds Maximum rounds.
   * @param cap Maximum length of the result (NFKC can lengthen text).
   * @param ev Evidence, updated.
   * @returns The decoded field.
   */
  decodeField(s: string, plusAsSpace: boolean, rounds: number, cap: number, ev: DecodeEvidence): string {
    let depth = 0;
    for (let r = 0; r < rounds; r++) {
      const before = s;
      this.decoded = false;
      s = this.percentPass(s, plusAsSpace, ev);
      if (this.decoded) depth++;
      s = this.escapePass(s, ev);
      if (hasNonAscii(s)) s = s.normalize("NFKC").toLowerCase();
      if (s.length > cap) s = s.slice(0, cap);
      if (s === before) break;
    }
    if (depth > ev.depth) ev.depth = depth;
    return s;
  }

  /**
   * One percent-decoding pass: `%XX` runs as UTF-8, `%uXXXX` as a UTF-16 unit, `+` as space where asked.
   * Returns the decoded string and sets `decoded` when an ASCII `%XX` or a `%uXXXX` was decoded.
   */
  private percentPass(s: string, plusAsSpace: boolean, ev: DecodeEvidence): string {
    if (s.indexOf("%") < 0 && !(plusAsSpace && s.indexOf("+") >= 0)) return s;
    const bytes = this.bytes;
    this.unitLen = 0;
    let nb = 0;
    for (let i = 0; i < s.length;) {
      const c = codeAt(s, i);
      if (c === C_PERCENT) {
        const v = hexAt(s, i + 1, 2);
        if (v >= 0) {
          if (nb === bytes.length) {
            ev.invalidUtf8 += this.flushUtf8(nb);
            nb = 0;
          }
          bytes[nb++] = v;
          // Only an ASCII character counts as encoded on purpose: the bytes of non-ASCII text are what every
          // browser percent-encodes (`/%E5%85%AC.jpg`, a Thai category path), not an evasion.
          if (v < 0x80) this.decoded = true;
          i += 3;
          continue;
        }
        const next = i + 1 < s.length ? codeAt(s, i + 1) | 0x20 : 0;
        if (next === 117 /* u */) {
          const u = hexAt(s, i + 2, 4);
          if (u >= 0) {
            if (nb) ev.invalidUtf8 += this.flushUtf8(nb), nb = 0;
            this.push(u);
            ev.unicodeEscapes++;
            this.decoded = true;
            i += 6;
            continue;
          }
        }
        ev.invalidEscapes++;
      }
      if (nb) ev.invalidUtf8 += this.flushUtf8(nb), nb = 0;
      this.push(plusAsSpace && c === C_PLUS ? C_SPACE : c);
      i++;
    }
    if (nb) ev.invalidUtf8 += this.flushUtf8(nb);
    return this.takeString();
  }

  /** One pass over backslash escapes and HTML character references. */
  private escapePass(s: string, ev: DecodeEvidence): string {
    if (s.indexOf("\\") < 0 && s.indexOf("&") < 0) return s;
    this.unitLen = 0;
    for (let i = 0; i < s.length;) {
      const c = codeAt(s, i);
      if (c === C_BACKSLASH && i + 1 < s.length) {
        const n = codeAt(s, i + 1) | 0x20;
        if (n === 117 /* u */) {
          if (codeAt(s, i + 2) === 123 /* { */) {
            let j = i + 3, v = 0;
            for (; j < s.length && j < i + 10; j++) {
              const d = hexVal(codeAt(s, j));
              if (d < 0) break;
              v = v * 16 + d;
            }
            if (j > i + 3 && codeAt(s, j) === 125 && v <= 0x10ffff) {
              this.pushCodePoint(v);
              ev.unicodeEscapes++;
              i = j + 1;
              continue;
            }
          }
          const u = hexAt(s, i + 2, 4);
          if (u >= 0) {
            this.push(u);
            ev.unicodeEscapes++;
            i += 6;
            continue;
          }
          ev.invalidEscapes++;
        } else if (n === 120 /* x */) {
          const x = hexAt(s, i + 2, 2);
          if (x >= 0) {
            this.push(x);
            ev.unicodeEscapes++;
            i += 4;
            continue;
          }
          ev.invalidEscapes++;
        }
      } else if (c === C_AMP && i + 2 < s.length) {
        const r = this.entityAt(s, i);
        if (r > 0) {
          this.pushCodePoint(this.entityValue);
          ev.htmlEntities++;
          i += r;
          continue;
        }
      }
      this.push(c);
      i++;
    }
    return this.takeString();
  }

  /** Length of the character reference at `s[i] === '&'` (value in `entityValue`), or 0. */
  private entityAt(s: string, i: number): number {
    let j = i + 1;
    if (codeAt(s, j) === 35 /* # */) {
      j++;
      let v = 0, digits = 0;
      if ((codeAt(s, j) | 0x20) === 120 /* x */) {
        j++;
        for (; j < s.length && digits < 7; j++, digits++) {
          const d = hexVal(codeAt(s, j));
          if (d < 0) break;
          v = v * 16 + d;
        }
      } else {
        for (; j < s.length && digits < 8; j++, digits++) {
          const d = codeAt(s, j) - 48;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
        }
      }
      if (digits === 0) return 0;
      if (codeAt(s, j) === 59 /* ; */) j++;
      this.entityValue = v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || v === 0 ? 0xfffd : v;
      return j - i;
    }
    const start = j;
    for (; j < s.length && j - start < 8; j++) {
      const l = codeAt(s, j) | 0x20;
      if (l < 97 || l > 122) break;
    }
    if (j === start) return 0;
    const v = ENTITIES.get(s.slice(start, j).toLowerCase());
    if (v === undefined) return 0;
    if (codeAt(s, j) === 59) j++;
    this.entityValue = v;
    return j - i;
  }

  /** Decodes `n` bytes of UTF-8 from `bytes` into the unit buffer; returns the number of invalid sequences. */
  private flushUtf8(n: number): number {
    const bytes = this.bytes;
    let bad = 0;
    let i = 0;
    while (i < n) {
      const b = bytes[i];
      if (b < 0x80) {
        this.push(b);
        i++;
        continue;
      }
      let need = 0, cp = 0, min = 0;
      if (b >= 0xc2 && b <= 0xdf) {
        need = 1, cp = b & 0x1f, min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        need = 2, cp = b & 0x0f, min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3, cp = b & 0x07, min = 0x10000;
      } else {
        this.push(0xfffd);
        bad++;
        i++;
        continue;
      }
      let k = 1;
      let complete = true;
      for (; k <= need; k++) {
        if (i + k >= n || (bytes[i + k] & 0xc0) !== 0x80) {
          complete = false;
          break;
        }
        cp = (cp << 6) | (bytes[i + k] & 0x3f);
      }
      if (!complete || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        // Replace the maximal invalid prefix (lead byte and the continuation bytes that fitted).
        this.push(0xfffd);
        bad++;
        i += complete ? 1 : k;
        continue;
      }
      this.pushCodePoint(cp);
      i += need + 1;
    }
    return bad;
  }

  private push(c: number): void {
    if (this.unitLen === this.units.length) {
      const grown = new Uint16Array(this.units.length * 2);
      grown.set(this.units);
      this.units = grown;
    }
    this.units[this.unitLen++] = c;
  }

  private pushCodePoint(cp: number): void {
    if (cp > 0xffff) {
      cp -= 0x10000;
      this.push(0xd800 + (cp >> 10));
      this.push(0xdc00 + (cp & 0x3ff));
    } else {
      this.push(cp);
    }
  }

  /** The unit buffer as a string; empties the buffer. */
  private takeString(): string {
    const units = this.units, unitLen = this.unitLen;
    let out = "";
    for (let i = 0; i < unitLen; i += 8192) {
      out += String.fromCharCode.apply(
        null,
        units.subarray(i, Math.min(unitLen, i + 8192)) as unknown as number[],
      );
    }
    this.unitLen = 0;
    return out;
  }
}
