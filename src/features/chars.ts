/**
 * Reading a string's code units in the extractor's per-character loops.
 *
 * Field strings reach the extractor in many V8 representations (flat, sliced, concatenated, external;
 * one- or two-byte), each with its own hidden class. A loop that calls `s.charCodeAt(i)` on all of them
 * finds its inline cache megamorphic and looks the method up on every character (about 4× slower per
 * character on Deno 2.9); calling the builtin through a constant reference skips that lookup.
 *
 * @module
 */
const charCodeAt = String.prototype.charCodeAt;

/** `s.charCodeAt(i)` without a property lookup on `s` (see the module comment for why). */
export function codeAt(s: string, i: number): number {
  return charCodeAt.call(s, i);
}
