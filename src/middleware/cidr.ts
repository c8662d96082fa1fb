/**
 * IP addresses and CIDR ranges (IPv4 and IPv6), parsed without regular expressions, for the exclusions'
 * client rules (`exclude.clients`). An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is its IPv4 address.
 *
 * @example
 * ```ts
 * import { cidrMatcher } from "./cidr.ts";
 * const inside = cidrMatcher(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]);
 * inside("10.1.2.3"); // true
 * inside("2001:db8::1"); // true
 * inside("192.0.2.8"); // false
 * ```
 * @module
 */

/** An address as bytes: 4 (IPv4) or 16 (IPv6). */
export type IpBytes = Uint8Array;

function parseV4(s: string): IpBytes | null {
  const out = new Uint8Array(4);
  let part = 0, value = 0, digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final "."
    if (c === 46) {
      if (digits === 0 || part > 3) return null;
      out[part++] = value;
      value = 0, digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return null; // no leading zeros (octal ambiguity)
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else return null;
  }
  return part === 4 ? out : null;
}

function parseV6(s: string): IpBytes | null {
  if (s.length > 45) return null;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  let tail: IpBytes | null = null;
  const lastColon = s.lastIndexOf(":");
  if (lastColon >= 0 && s.indexOf(".", lastColon) > 0) {
    tail = parseV4(s.slice(lastColon + 1));
    if (tail === null) return null;
    s = s.slice(0, lastColon + 1) + "0:0"; // two placeholder groups, filled below
  }
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return null;
  const groupsOf = (t: string): number[] | null => {
    if (t === "") return [];
    const out: number[] = [];
    for (const g of t.split(":")) {
      if (g.length === 0 || g.length > 4) return null;
      let v = 0;
      for (let i = 0; i < g.length; i++) {
        const c = g.charCodeAt(i);
        const d = c >= 48 && c <= 57
          ? c - 48
          : c >= 97 && c <= 102
          ? c - 87
          : c >= 65 && c <= 70
          ? c - 55
          : -1;
        if (d < 0) return null;
        v = v * 16 + d;
      }
      out.push(v);
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = groupsOf(s.slice(0, dbl)), rest = groupsOf(s.slice(dbl + 2));
    if (head === null || rest === null || head.length + rest.length > 7) return null;
    groups = [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    const all = groupsOf(s);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) out[2 * i] = groups[i] >> 8, out[2 * i + 1] = groups[i] & 255;
  if (tail !== null) out.set(tail, 12);
  return out;
}

/**
 * Parses an IP address (IPv4 dotted quad, IPv6 with `::`, brackets or a zone); an IPv4-mapped IPv6 address
 * comes back as IPv4.
 *
 * @param text The address.
 * @returns 4 or 16 bytes, or `null` when it is not an address.
 */
export function parseIp(text: string): IpBytes | null {
  let s = text.trim();
  if (s.length === 0 || s.length > 64) return null;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (s.indexOf(":") < 0) return parseV4(s);
  const v6 = parseV6(s);
  if (v6 === null) return null;
  let mapped = v6[10] === 255 && v6[11] === 255;
  for (let i = 0; i < 10 && mapped; i++) if (v6[i] !== 0) mapped = false;
  return mapped ? v6.slice(12) : v6;
}

/** A parsed range: its address bytes and prefix length. */
export interface Cidr {
  bytes: IpBytes;
  prefix: number;
}

/**
 * Parses `address/prefix` (or a single address: the full prefix).
 *
 * @throws {TypeError} naming the text, when it is not a range.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (bytes === null) {
    throw new TypeError(`not an IP address or CIDR range: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const max = bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1).trim();
    prefix = p.length > 0 && p.length <= 3 && [...p].every((c) => c >= "0" && c <= "9") ? Number(p) : -1;
    // An IPv4-mapped range (::ffff:a.b.c.d/n) is an IPv4 range of n − 96.
    if (bytes.length === 4 && text.indexOf(":") >= 0) prefix -= 96;
    if (!(prefix >= 0 && prefix <= max)) {
      throw new TypeError(
        `not a CIDR prefix for ${bytes.length === 4 ? "IPv4" : "IPv6"}: ${JSON.stringify(text)}`,
      );
    }
  }
  return { bytes, prefix };
}

/** Whether `ip` is inside `range`. */
export function inCidr(ip: IpBytes, range: Cidr): boolean {
  if (ip.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (range.bytes[i] & mask)) return false;
  }
  return true;
}

/**
 * Compiles ranges into a test on address text.
 *
 * @param ranges Addresses and CIDR ranges.
 * @returns A test; an address that does not parse is outside every range.
 * @throws {TypeError} when a range does not parse.
 */
export function cidrMatcher(ranges: readonly string[]): (address: string) => boolean {
  const parsed = ranges.map(parseCidr);
  return (address) => {
    const ip = parseIp(address);
    if (ip === null) return false;
    for (const r of parsed) if (inCidr(ip, r)) return true;
    return false;
  };
}
