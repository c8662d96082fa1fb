/**
 * One engine per isolate, created lazily on first use and shared by every request and tenant. A failed
 * load is remembered for a while (requests fail fast under the fail mode) and then retried. No request
 * waits for the engine longer than a bound: a load or an asynchronous engine call that hangs gives that
 * request the fail mode instead of stalling it.
 *
 * @module
 */
import { DENSE_DIM, FEATURE_SPEC, specId } from "../features/mod.ts";
import type { Engine, HeadParams } from "../model/types.ts";
import { headFromJson } from "../store/head_doc.ts";
import type { EngineSource } from "./options.ts";
import { withTimeout } from "../util/timeout.ts";

/** A checked engine and its global head in scoring form. */
export interface ReadyEngine {
  /** The engine, checked against this build's feature spec (`checkEngine`). */
  engine: Engine;
  /** `engine.meta.head` as `HeadParams` (float32). */
  globalHead: HeadParams;
}

/**
 * Checks that an engine can score this build's features: its model was trained for this feature spec and
 * its dimensions and global head are consistent.
 *
 * @param engine The engine.
 * @returns The engine with its global head.
 * @throws {Error} naming the mismatch (the fail mode then applies).
 */
export function checkEngine(engine: Engine): ReadyEngine {
  const meta = engine?.meta;
  if (typeof meta !== "object" || meta === null || typeof engine.embed !== "function") {
    throw new TypeError("engine: not an Engine (no meta or embed)");
  }
  const want = specId(FEATURE_SPEC);
  if (meta.specId !== want) {
    throw new Error(
      `model ${meta.modelId} was trained for feature spec ${meta.specId}, this build extracts ${want}`,
    );
  }
  if (meta.dim !== FEATURE_SPEC.dim || meta.denseDim !== DENSE_DIM) {
    throw new Error(
      `model ${meta.modelId} expects D=${meta.dim}, Dd=${meta.denseDim}; features give ${FEATURE_SPEC.dim}, ${DENSE_DIM}`,
    );
  }
  const head = meta.head;
  if (!head || !Array.isArray(head.w) || head.w.length !== meta.embedDim || !Number.isFinite(head.b)) {
    throw new Error(
      `model ${meta.modelId}: meta.head must have embedDim (${meta.embedDim}) weights and a bias`,
    );
  }
  if (!(typeof meta.tau === "number" && meta.tau >= 0 && meta.tau <= 1)) {
    throw new Error(`model ${meta.modelId}: meta.tau must be in [0, 1]`);
  }
  return { engine, globalHead: headFromJson(head) };
}

/** Where the engine's load stands (what an operator asks: is taugate ready?). */
export interface EngineStatus {
  /** `idle` (not asked for yet), `loading`, `ready`, or `failed` (the last attempt failed). */
  state: "idle" | "loading" | "ready" | "failed";
  /** The model's id, once loaded. */
  model?: string;
  /** Why the last attempt failed. */
  error?: string;
}

/**
 * Gets the engine: synchronously once loaded; rejects (or throws) while the load fails. `status()` says
 * where the load stands without starting it.
 */
export type EngineGetter = (() => ReadyEngine | Promise<ReadyEngine>) & { status(): EngineStatus };

/** Default bound on a request's wait for the engine (its load, or one call of an asynchronous engine). */
export const DEFAULT_ENGINE_TIMEOUT_MS = 5_000;

/** The engine did not answer within the bound: the request gets the fail mode; the work itself goes on. */
export class EngineTimeoutError extends Error {
  /** @param message What did not finish, and the bound. */
  constructor(message: string) {
    super(message);
    this.name = "EngineTimeoutError";
  }
}

/** `p`, or an `EngineTimeoutError` after `ms` (one timer, set and cleared by the caller's own request). */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(p, ms, () => new EngineTimeoutError(`${what} took over ${ms} ms`));
}

/**
 * The engine with its `embed` bounded by `ms`, unless it computes synchronously (`embedSync`, the
 * TypeScript engine): no timer can cut synchronous work, and it has no wait to cut.
 */
function withBoundedEmbed(engine: Engine, ms: number): Engine {
  if (engine.embedSync !== undefined) return engine;
  const embed = engine.embed;
  // Everything else (meta, kind, weights, ...) is read through the prototype.
  return Object.create(engine, {
    embed: {
      value: (f: Parameters<Engine["embed"]>[0]) => bounded(embed.call(engine, f), ms, "the engine's embed"),
    },
  });
}

/**
 * Wraps an engine source in a lazy, shared, checked loader.
 *
 * @param source An engine, or a function that creates one.
 * @param retryMs How long a failure is served before the next attempt.
 * @param now Clock (tests).
 * @param timeoutMs Longest wait of one request for the load (which goes on for later requests) and for
 *   one `embed` of an engine without `embedSync`; a longer wait rejects with `EngineTimeoutError`.
 * @param onFirstFailure Called once, with the error, the first time a load fails (the middleware logs it
 *   at error level: fail-open must not hide a model that never loads).
 * @returns A getter; call it on each request.
 * @example
 * ```ts ignore
 * const get = lazyEngine(() => loadEngine("ort", bytes), 10_000);
 * const { engine, globalHead } = await get();
 * ```
 */
export function lazyEngine(
  source: EngineSource,
  retryMs: number,
  now: () => number = Date.now,
  timeoutMs: number = DEFAULT_ENGINE_TIMEOUT_MS,
  onFirstFailure?: (error: unknown) => void,
): EngineGetter {
  let ready: ReadyEngine | undefined;
  let pending: Promise<ReadyEngine> | undefined;
  let failure: { error: unknown; until: number } | undefined;
  let reported = false;
  const load = async (): Promise<ReadyEngine> => {
    try {
      const engine = typeof source === "function" ? await source() : source;
      const checked = checkEngine(engine);
      ready = { engine: withBoundedEmbed(checked.engine, timeoutMs), globalHead: checked.globalHead };
      failure = undefined;
      return ready;
    } catch (error) {
      failure = { error, until: now() + retryMs };
      if (!reported && onFirstFailure !== undefined) {
        reported = true;
        try {
          onFirstFailure(error);
        } catch { /* a reporter's fault is not the request's */ }
      }
      throw error;
    }
  };
  const get = () => {
    if (ready !== undefined) return ready;
    if (failure !== undefined && now() < failure.until) throw failure.error;
    // Cleared asynchronously, so even a synchronous failure leaves room for the retry.
    pending ??= load().finally(() => pending = undefined);
    return bounded(pending, timeoutMs, "the engine's load");
  };
  const status = (): EngineStatus => {
    if (ready !== undefined) return { state: "ready", model: ready.engine.meta.modelId };
    if (pending !== undefined) return { state: "loading" };
    if (failure !== undefined) {
      const e = failure.error;
      return {
        state: "failed",
        error: (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 300),
      };
    }
    return { state: "idle" };
  };
  return Object.assign(get, { status });
}
