/** 32-bit hashing for the hashed feature space: FNV-1a steps plus murmur3's finaliser. Integer-only, so
 * every engine (V8 in Deno, Node and workerd) gives the same bucket. */
import { codeAt } from "./chars.ts";

export const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** One FNV-1a step. */
export function fnvStep(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME);
}

/** murmur3 fmix32: spreads the low-entropy FNV state over all bits before masking. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** FNV-1a of a whole string (code units). */
export function fnvString(s: string, h: number = FNV_OFFSET): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ codeAt(s, i), FNV_PRIME);
  return h;
}

/** A seed for one (namespace, kind) pair under a spec seed. */
export function seedFor(specSeed: number, ns: number, kind: number): number {
  return fmix((Math.imul(ns + 1, 0x9e3779b1) ^ Math.imul(kind + 1, 0x85ebca77) ^ specSeed) | 0);
}
