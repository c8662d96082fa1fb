/**
 * Featurised records packed for training: the sparse parts of all rows in one CSR structure, the dense
 * blocks in one matrix and the structure tokens (for site profiles) in another CSR structure, so a batch is
 * just a list of row numbers. Records are featurised once and cached.
 *
 * @module
 */
import {
  DENSE_DIM,
  extractFeatures,
  FEATURE_SPEC,
  featuresOfRecord,
  type FeatureSpec,
  type FeatureVector,
  needsViews,
  overflowOfRecord,
  type RequestView,
} from "@taugate/features/mod.ts";
import type { RequestRecord } from "@taugate/record/record.ts";

/** Rows of features: CSR sparse part, dense block, labels. */
export interface FeatureSet {
  n: number;
  dim: number;
  denseDim: number;
  /** Row r's sparse entries are `idx/val[rowPtr[r] .. rowPtr[r+1])`. */
  rowPtr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  /** `[n][denseDim]`. */
  dense: Float32Array;
  label: Uint8Array;
  /** Soft training targets (`buildTaskSet`), where they differ from the labels; absent: the labels. */
  target?: Float32Array;
  /** Row r's structure tokens are `stTok[stPtr[r] .. stPtr[r+1])` (`FeatureVector.structure`). */
  stPtr: Int32Array;
  stTok: Int32Array;
  /** Row r's listed parameter values are `paTok[paPtr[r] .. paPtr[r+1])` (`FeatureVector.params`). */
  paPtr: Int32Array;
  paTok: Int32Array;
}

/** Rows of int32 values growing as they come (CSR: row r is `values()[ptr[r] .. ptr[r+1])`). */
class IntRows {
  readonly ptr: Int32Array;
  private data: Int32Array;
  private at = 0;

  constructor(rows: number, perRow: number) {
    this.ptr = new Int32Array(rows + 1);
    this.data = new Int32Array(Math.max(1, rows * perRow));
  }

  push(r: number, row: Int32Array): void {
    if (this.at + row.length > this.data.length) {
      const grown = new Int32Array(Math.max(this.data.length * 2, this.at + row.length));
      grown.set(this.data.subarray(0, this.at));
      this.data = grown;
    }
    this.data.set(row, this.at);
    this.at += row.length;
    this.ptr[r + 1] = this.at;
  }

  values(): Int32Array {
    return this.data.slice(0, this.at);
  }
}

/**
 * Featurises records with the shared extractor.
 *
 * @param records The records (labels default to 0).
 * @param spec The feature spec.
 */
export function featurise(
  records: readonly RequestRecord[],
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
): FeatureSet {
  return packRows(records.length, (r) => featuresOfRecord(records[r], spec), (r) => records[r].label, spec);
}

/** The overflow views of a set's records (`overflowViews`), each row with the record it belongs to. */
export interface OverflowSet {
  /** Row j of `set` is an overflow view of record `parent[j]`. */
  parent: Int32Array;
  set: FeatureSet;
}

/**
 * The overflow views of the records whose extraction was truncated, featurised: what the worker scores
 * besides the request itself (a request's score is the highest). `null` when no record has any.
 *
 * @param own The records' own features (`featurise`), when at hand: their truncation flags are read there.
 */
export function featuriseOverflow(
  records: readonly RequestRecord[],
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
  own?: FeatureSet,
): OverflowSet | null {
  const parent: number[] = [], views: RequestView[] = [];
  for (let r = 0; r < records.length; r++) {
    const truncated = own !== undefined
      ? needsViews({ dense: own.dense.subarray(r * own.denseDim, (r + 1) * own.denseDim) })
      : needsViews(featuresOfRecord(records[r], spec));
    if (!truncated) continue;
    for (const v of overflowOfRecord(records[r], spec).views) parent.push(r), views.push(v);
  }
  if (views.length === 0) return null;
  const labels = parent.map((r) => records[r].label);
  const set = packRows(views.length, (j) => extractFeatures(views[j], spec), (j) => labels[j], spec);
  return { parent: Int32Array.from(parent), set };
}

function packRows(
  n: number,
  featuresOf: (r: number) => FeatureVector,
  labelOf: (r: number) => number | undefined,
  spec: Readonly<FeatureSpec>,
): FeatureSet {
  const rowPtr = new Int32Array(n + 1);
  const dense = new Float32Array(n * DENSE_DIM);
  const label = new Uint8Array(n);
  let idx = new Int32Array(n * 64);
  let val = new Float32Array(n * 64);
  let at = 0;
  const tokens = new IntRows(n, 24), params = new IntRows(n, 8);
  for (let r = 0; r < n; r++) {
    const f = featuresOf(r);
    params.push(r, f.params);
    tokens.push(r, f.structure);
    if (at + f.indices.length > idx.length) {
      const cap = Math.max(idx.length * 2, at + f.indices.length);
      const i2 = new Int32Array(cap), v2 = new Float32Array(cap);
      i2.set(idx.subarray(0, at));
      v2.set(val.subarray(0, at));
      idx = i2;
      val = v2;
    }
    idx.set(f.indices, at);
    val.set(f.values, at);
    at += f.indices.length;
    rowPtr[r + 1] = at;
    dense.set(f.dense, r * DENSE_DIM);
    label[r] = labelOf(r) === 1 ? 1 : 0;
  }
  return {
    n,
    dim: spec.dim,
    denseDim: DENSE_DIM,
    rowPtr,
    idx: idx.slice(0, at),
    val: val.slice(0, at),
    dense,
    label,
    stPtr: tokens.ptr,
    stTok: tokens.values(),
    paPtr: params.ptr,
    paTok: params.values(),
  };
}

/** The rows `rows` of a set as a new set (for held-out files, canaries). */
export function subset(set: FeatureSet, rows: ArrayLike<number>): FeatureSet {
  let nnz = 0, nst = 0, npa = 0;
  for (let i = 0; i < rows.length; i++) {
    nnz += set.rowPtr[rows[i] + 1] - set.rowPtr[rows[i]];
    nst += set.stPtr[rows[i] + 1] - set.stPtr[rows[i]];
    npa += set.paPtr[rows[i] + 1] - set.paPtr[rows[i]];
  }
  const out: FeatureSet = {
    n: rows.length,
    dim: set.dim,
    denseDim: set.denseDim,
    rowPtr: new Int32Array(rows.length + 1),
    idx: new Int32Array(nnz),
    val: new Float32Array(nnz),
    dense: new Float32Array(rows.length * set.denseDim),
    label: new Uint8Array(rows.length),
    stPtr: new Int32Array(rows.length + 1),
    stTok: new Int32Array(nst),
    paPtr: new Int32Array(rows.length + 1),
    paTok: new Int32Array(npa),
  };
  let at = 0, st = 0, pa = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i], a = set.rowPtr[r], b = set.rowPtr[r + 1];
    out.idx.set(set.idx.subarray(a, b), at);
    out.val.set(set.val.subarray(a, b), at);
    at += b - a;
    out.rowPtr[i + 1] = at;
    out.dense.set(
      set.dense.subarray(r * set.denseDim, (r + 1) * set.denseDim),
      i * set.denseDim,
    );
    out.label[i] = set.label[r];
    const sa = set.stPtr[r], sb = set.stPtr[r + 1];
    out.stTok.set(set.stTok.subarray(sa, sb), st);
    st += sb - sa;
    out.stPtr[i + 1] = st;
    const pa0 = set.paPtr[r], pb = set.paPtr[r + 1];
    out.paTok.set(set.paTok.subarray(pa0, pb), pa);
    pa += pb - pa0;
    out.paPtr[i + 1] = pa;
  }
  return out;
}

/** The structure tokens of one row. */
export function rowStructure(set: FeatureSet, r: number): Int32Array {
  return set.stTok.subarray(set.stPtr[r], set.stPtr[r + 1]);
}

/** The listed parameter values of one row (`FeatureVector.params`). */
export function rowParams(set: FeatureSet, r: number): Int32Array {
  return set.paTok.subarray(set.paPtr[r], set.paPtr[r + 1]);
}

/** The sparse and dense features of one row, as an engine consumes them. */
export function rowFeatures(
  set: FeatureSet,
  r: number,
): { indices: Int32Array; values: Float32Array; dense: Float32Array; params: Int32Array } {
  const a = set.rowPtr[r], b = set.rowPtr[r + 1];
  return {
    indices: set.idx.subarray(a, b),
    values: set.val.subarray(a, b),
    dense: set.dense.subarray(r * set.denseDim, (r + 1) * set.denseDim),
    params: rowParams(set, r),
  };
}
