/**
 * The small subset of the protobuf wire format that ONNX needs: varints (int32, int64, enums), fixed32
 * floats, length-delimited fields (bytes, strings, sub-messages, packed repeated scalars).
 *
 * The decoder is defensive: every length is checked against what remains, varints are at most ten bytes and
 * wire types 3 and 4 (groups, unused by ONNX) are refused, so malformed bytes give a clear error, never a
 * hang or an out-of-bounds read.
 *
 * @module
 */

/** Wire types of the protobuf encoding. */
export const WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5;

/** A malformed protobuf message. */
export class ProtobufError extends Error {
  override name = "ProtobufError";
}

/** Builds one message; sub-messages are encoded separately and appended as length-delimited bytes. */
export class ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;
  #view = new DataView(this.#buf.buffer);

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /**
   * Appends a varint. Negative numbers are written as 64-bit two's complement (ten bytes), as protobuf does
   * for `int32` and `int64`.
   *
   * @param n An integer within ±2^53.
   * @throws {RangeError} if `n` is not a safe integer.
   */
  varint(n: number): this {
    if (!Number.isSafeInteger(n)) throw new RangeError(`protobuf: varint must be a safe integer, got ${n}`);
    this.#reserve(10);
    if (n < 0) {
      let v = BigInt.asUintN(64, BigInt(n));
      while (v >= 0x80n) {
        this.#buf[this.#len++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      this.#buf[this.#len++] = Number(v);
      return this;
    }
    while (n >= 0x80) {
      this.#buf[this.#len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#len++] = n;
    return this;
  }

  /** Appends a field key. */
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  /** Appends raw bytes. */
  raw(bytes: Uint8Array): this {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  /** A varint field (int32, int64, enum, bool). */
  int(field: number, n: number): this {
    return this.tag(field, WIRE_VARINT).varint(n);
  }

  /** A float field (fixed32, little-endian). */
  float(field: number, x: number): this {
    this.tag(field, WIRE_FIXED32);
    this.#reserve(4);
    this.#view.setFloat32(this.#len, x, true);
    this.#len += 4;
    return this;
  }

  /** A bytes field (or an encoded sub-message). */
  bytes(field: number, bytes: Uint8Array): this {
    return this.tag(field, WIRE_LEN).varint(bytes.length).raw(bytes);
  }

  /** A string field, UTF-8. */
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** A packed repeated varint field (nothing is written for an empty list). */
  packedInts(field: number, ns: ArrayLike<number>): this {
    if (ns.length === 0) return this;
    const inner = new ProtoWriter();
    for (let i = 0; i < ns.length; i++) inner.varint(ns[i]);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field (nothing is written for an empty list). */
  packedFloats(field: number, xs: ArrayLike<number>): this {
    if (xs.length === 0) return this;
    const out = new Uint8Array(xs.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < xs.length; i++) view.setFloat32(i * 4, xs[i], true);
    return this.bytes(field, out);
  }

  /** The encoded message (a copy of exactly its bytes). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** One decoded field. Varints keep their 64-bit halves so that int64 and uint64 readings can differ. */
export type ProtoField =
  | { field: number; wire: typeof WIRE_VARINT; lo: number; hi: number }
  | { field: number; wire: typeof WIRE_FIXED64; bytes: Uint8Array }
  | { field: number; wire: typeof WIRE_LEN; bytes: Uint8Array }
  | { field: number; wire: typeof WIRE_FIXED32; bytes: Uint8Array };

/** The 64-bit value of a varint's halves as a signed int64, if it is a safe integer. */
export function int64Of(lo: number, hi: number, what: string): number {
  if (hi & 0x80000000) {
    // Two's complement: -(~v + 1).
    const v = (~hi >>> 0) * 0x100000000 + (~lo >>> 0) + 1;
    if (v > Number.MAX_SAFE_INTEGER) throw new ProtobufError(`protobuf: ${what} is out of the safe range`);
    return -v;
  }
  const v = hi * 0x100000000 + lo;
  if (v > Number.MAX_SAFE_INTEGER) throw new ProtobufError(`protobuf: ${what} is out of the safe range`);
  return v;
}

/** Reads varints from a byte range; `pos` advances. */
export class ProtoReader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  /** Whether bytes remain. */
  get more(): boolean {
    return this.pos < this.end;
  }

  /**
   * The next varint as its low and high 32-bit halves.
   *
   * @throws {ProtobufError} on a truncated varint or one longer than ten bytes.
   */
  varint64(what: string): { lo: number; hi: number } {
    let lo = 0, hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError(`protobuf: truncated varint in ${what}`);
      const b = this.bytes[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    throw new ProtobufError(`protobuf: varint longer than ten bytes in ${what}`);
  }

  /** The next varint as a non-negative safe integer (a length or a key). */
  uint(what: string): number {
    const { lo, hi } = this.varint64(what);
    const v = hi * 0x100000000 + lo;
    if (v > Number.MAX_SAFE_INTEGER) throw new ProtobufError(`protobuf: ${what} is out of the safe range`);
    return v;
  }

  /** The next `n` bytes (a view, not a copy). */
  take(n: number, what: string): Uint8Array {
    if (n > this.end - this.pos) {
      throw new ProtobufError(`protobuf: ${what} needs ${n} bytes but ${this.end - this.pos} remain`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/**
 * Splits one message into its fields, in order.
 *
 * @param bytes The encoded message.
 * @param what The message's name, for errors.
 * @returns Every field, unknown ones included.
 * @throws {ProtobufError} on malformed bytes.
 * @example
 * ```ts
 * import { decodeFields, ProtoWriter } from "./protobuf.ts";
 * const fields = decodeFields(new ProtoWriter().int(1, 8).string(2, "x").finish(), "example");
 * console.log(fields.length); // 2
 * ```
 */
export function decodeFields(bytes: Uint8Array, what: string): ProtoField[] {
  const r = new ProtoReader(bytes);
  const out: ProtoField[] = [];
  while (r.more) {
    const key = r.uint(`${what} field key`);
    const field = Math.floor(key / 8), wire = key % 8;
    if (field === 0) throw new ProtobufError(`protobuf: field number 0 in ${what}`);
    switch (wire) {
      case WIRE_VARINT: {
        const { lo, hi } = r.varint64(`${what} field ${field}`);
        out.push({ field, wire, lo, hi });
        break;
      }
      case WIRE_FIXED64:
        out.push({ field, wire, bytes: r.take(8, `${what} field ${field}`) });
        break;
      case WIRE_LEN: {
        const n = r.uint(`${what} field ${field} length`);
        out.push({ field, wire, bytes: r.take(n, `${what} field ${field}`) });
        break;
      }
      case WIRE_FIXED32:
        out.push({ field, wire, bytes: r.take(4, `${what} field ${field}`) });
        break;
      default:
        throw new ProtobufError(`protobuf: unsupported wire type ${wire} in ${what} field ${field}`);
    }
  }
  return out;
}

/**
 * The values of a repeated varint field, packed or not (a decoder must accept both).
 *
 * @param fields The message's fields.
 * @param field The field number.
 * @param what The field's name, for errors.
 */
export function repeatedInt64(fields: ProtoField[], field: number, what: string): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire === WIRE_VARINT) out.push(int64Of(f.lo, f.hi, what));
    else if (f.wire === WIRE_LEN) {
      const r = new ProtoReader(f.bytes);
      while (r.more) {
        const { lo, hi } = r.varint64(what);
        out.push(int64Of(lo, hi, what));
      }
    } else throw new ProtobufError(`protobuf: ${what} has wire type ${f.wire}, expected a varint`);
  }
  return out;
}

/**
 * The values of a repeated float field, packed or not.
 *
 * @param fields The message's fields.
 * @param field The field number.
 * @param what The field's name, for errors.
 */
export function repeatedFloat(fields: ProtoField[], field: number, what: string): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire !== WIRE_FIXED32 && f.wire !== WIRE_LEN) {
      throw new ProtobufError(`protobuf: ${what} has wire type ${f.wire}, expected fixed32`);
    }
    if (f.bytes.length % 4 !== 0) {
      throw new ProtobufError(`protobuf: ${what} is not a whole number of floats`);
    }
    const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
    for (let i = 0; i < f.bytes.length; i += 4) out.push(view.getFloat32(i, true));
  }
  return out;
}

/**
 * The last value of a singular varint field as a signed int64 (protobuf: the last one wins).
 *
 * @param fields The message's fields.
 * @param field The field number.
 * @param what The field's name, for errors.
 * @returns The value, or `undefined` if absent.
 */
export function int64Field(fields: ProtoField[], field: number, what: string): number | undefined {
  let out: number | undefined;
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire !== WIRE_VARINT) {
      throw new ProtobufError(`protobuf: ${what} has wire type ${f.wire}, expected a varint`);
    }
    out = int64Of(f.lo, f.hi, what);
  }
  return out;
}

/**
 * The last value of a singular float field.
 *
 * @param fields The message's fields.
 * @param field The field number.
 * @param what The field's name, for errors.
 */
export function floatField(fields: ProtoField[], field: number, what: string): number | undefined {
  let out: number | undefined;
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire !== WIRE_FIXED32) {
      throw new ProtobufError(`protobuf: ${what} has wire type ${f.wire}, expected fixed32`);
    }
    out = new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
  }
  return out;
}

/**
 * Every value of a length-delimited field (bytes, strings, sub-messages), in order.
 *
 * @param fields The message's fields.
 * @param field The field number.
 * @param what The field's name, for errors.
 */
export function lenFields(fields: ProtoField[], field: number, what: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire !== WIRE_LEN) {
      throw new ProtobufError(`protobuf: ${what} has wire type ${f.wire}, expected length-delimited`);
    }
    out.push(f.bytes);
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a string field's bytes.
 *
 * @throws {ProtobufError} on invalid UTF-8.
 */
export function utf8Of(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtobufError(`protobuf: ${what} is not valid UTF-8`);
  }
}

/** Every value of a repeated string field. */
export function stringsField(fields: ProtoField[], field: number, what: string): string[] {
  return lenFields(fields, field, what).map((b) => utf8Of(b, what));
}

/** The last value of a singular string field, or `undefined`. */
export function stringField(fields: ProtoField[], field: number, what: string): string | undefined {
  const all = lenFields(fields, field, what);
  return all.length ? utf8Of(all[all.length - 1], what) : undefined;
}
