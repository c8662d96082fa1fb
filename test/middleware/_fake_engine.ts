/**
 * A small fake `Engine` for the middleware's logic tests: z[0] grows with the SQL, shell and HTML/JS
 * keyword counts of the dense block, so with the head `w = [1, 0], b = 0` an injection scores near 1 and
 * a plain request near 0.05. The real engines are tested in `test/model/` and end to end in `test/worker/`.
 */
import { DENSE_DIM, DENSE_NAMES, FEATURE_SPEC, specId } from "../../src/features/mod.ts";
import type { Engine, ModelMeta, SparseFeatures } from "../../src/model/types.ts";

const SQL = DENSE_NAMES.indexOf("sql_keywords");
const SHELL = DENSE_NAMES.indexOf("shell_keywords");
const HTML = DENSE_NAMES.indexOf("html_js_keywords");

/** Options of the fake. */
export interface FakeEngineOptions {
  /** Throw from `embed` (a scoring failure). */
  throwOnEmbed?: boolean;
  /** Resolve `embed` after this many ms. */
  delayMs?: number;
  /** Override meta fields (e.g. a wrong `specId`). */
  meta?: Partial<ModelMeta>;
}

/** A fake engine; `calls` counts `embed` calls. */
export function fakeEngine(opts: FakeEngineOptions = {}): Engine & { calls: number; lastNnz: number } {
  const z = new Float32Array(2);
  const meta: ModelMeta = {
    modelId: "fake-1",
    specId: specId(FEATURE_SPEC),
    dim: FEATURE_SPEC.dim,
    denseDim: DENSE_DIM,
    embedDim: 2,
    tau: 0.5,
    head: { w: [1, 0], b: 0 },
    ...opts.meta,
  };
  const engine = {
    kind: "ts" as const,
    meta,
    calls: 0,
    lastNnz: 0,
    async embed(f: SparseFeatures): Promise<Float32Array> {
      engine.calls++;
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.throwOnEmbed) throw new Error("fake engine: embed failed");
      engine.lastNnz = f.nnz ?? f.indices.length;
      z[0] = 40 * (f.dense[SQL] + f.dense[SHELL] + f.dense[HTML]) - 3;
      z[1] = engine.lastNnz;
      return z;
    },
  };
  return engine;
}
