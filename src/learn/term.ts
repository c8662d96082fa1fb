/**
 * The serving head's site-profile term, as learning needs it: the head's novelty weights (or the model's
 * meta-learned init `a0` for a head without them, such as the global head) and its profile, if any.
 *
 * @module
 */
import { NOVELTY_DIM } from "../heads/site_profile.ts";
import type { HeadParams, ModelMeta } from "../model/types.ts";
import type { ProfileTerm } from "./state.ts";

const a0s = new WeakMap<ModelMeta, Float32Array>();
const terms = new WeakMap<HeadParams, ProfileTerm>();

/**
 * The model's novelty-weight init `meta.adapt.profile.a0` (zeros when the model ships none or it is
 * malformed: the learnt profile then changes no score).
 */
export function noveltyInit(meta: ModelMeta): Float32Array {
  let a = a0s.get(meta);
  if (a === undefined) {
    a = new Float32Array(NOVELTY_DIM);
    const got = (meta.adapt as { profile?: { a0?: unknown } } | undefined)?.profile?.a0;
    if (Array.isArray(got) && got.length === NOVELTY_DIM && got.every((x) => Number.isFinite(x) && x >= 0)) {
      a.set(got as number[]);
    }
    a0s.set(meta, a);
  }
  return a;
}

/**
 * The profile term of a head (made once per head object). A learnt profile's novelty features have scale
 * 1 (`weight`).
 *
 * @param head The head that scores (a tenant's or the global one).
 * @param meta The model's card (for `a0`).
 */
export function profileTermOf(head: HeadParams, meta: ModelMeta): ProfileTerm {
  let t = terms.get(head);
  if (t === undefined) {
    const own = head.a !== undefined && head.profile !== undefined && head.a.length === NOVELTY_DIM;
    t = { a: own ? head.a! : noveltyInit(meta), profile: own ? head.profile! : null, weight: 1 };
    terms.set(head, t);
  }
  return t;
}
