/**
 * Site-profile novelty for training: the same features as `noveltyOfCounts` in `src/heads/site_profile.ts`
 * (per kind of structure token, `weight · log1p(tokens seen in fewer than minCount of the profile's
 * requests)`, a benign example without its own tokens), computed from exact counts over tokens interned to
 * dense ids, so an episode's profile of a thousand requests costs a few array increments.
 *
 * @module
 */
import { NOVELTY_DIM } from "@taugate/heads/site_profile.ts";
import type { FeatureSet } from "../nn/features.ts";

/** A feature set's structure tokens interned to dense ids, with a reusable count per id. */
export class TokenIndex {
  /** The dense id of every entry of `set.stTok`. */
  readonly ids: Int32Array;
  /** The kind of every id. */
  readonly kind: Uint8Array;
  /** Requests of the current profile that use each id. */
  readonly counts: Int32Array;
  private readonly novel = new Int32Array(NOVELTY_DIM);

  constructor(readonly set: FeatureSet) {
    const map = new Map<number, number>();
    this.ids = new Int32Array(set.stTok.length);
    const kinds: number[] = [];
    for (let i = 0; i < set.stTok.length; i++) {
      const t = set.stTok[i];
      let id = map.get(t);
      if (id === undefined) {
        id = map.size;
        map.set(t, id);
        kinds.push((t >>> 28) & 7);
      }
      this.ids[i] = id;
    }
    this.kind = Uint8Array.from(kinds);
    this.counts = new Int32Array(map.size);
  }

  /** Adds (`sign` 1) or removes (`sign` −1) the tokens of rows to the counts. */
  count(rows: ArrayLike<number>, from: number, to: number, sign: 1 | -1): void {
    const { ids, counts } = this, ptr = this.set.stPtr;
    for (let i = from; i < to; i++) {
      const r = rows[i];
      for (let k = ptr[r]; k < ptr[r + 1]; k++) counts[ids[k]] += sign;
    }
  }

  /**
   * Row r's novelty features against the current counts, written to `out` at `at`.
   *
   * @param r The row.
   * @param minCount A token is normal once seen in this many requests.
   * @param weight The features' scale.
   * @param self The row is one of the counted requests (its own tokens are taken out).
   */
  novelty(r: number, minCount: number, weight: number, self: boolean, out: Float32Array, at: number): void {
    const { ids, counts, kind } = this, ptr = this.set.stPtr, novel = this.novel.fill(0);
    const own = self ? 1 : 0;
    for (let k = ptr[r]; k < ptr[r + 1]; k++) {
      const id = ids[k];
      if (counts[id] - own < minCount) novel[kind[id]]++;
    }
    for (let k = 0; k < NOVELTY_DIM; k++) out[at + k] = weight * Math.log1p(novel[k]);
  }
}
