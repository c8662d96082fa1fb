/**
 * Cold start of the standalone worker on Deno: from spawning `deno task start`'s command to the first
 * scored response (a response whose `x-taugate-decision` is not `error`). Shared by `scripts/bench.ts` and
 * `scripts/coldstart.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "./model.ts";

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Polls `url` until a scored response arrives; returns the ms since `t0`. */
export async function firstScored(
  url: string,
  t0: number,
  child: Deno.ChildProcess,
  limitMs = 120_000,
): Promise<number> {
  let exited = false;
  let last = "no answer";
  child.status.then(() => exited = true);
  while (performance.now() - t0 < limitMs) {
    if (exited) throw new Error(`the process exited before answering (last: ${last})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      last = `${res.status} ${(await res.text()).slice(0, 200)}`;
      const d = res.headers.get("x-taugate-decision");
      if (d !== null && d !== "error") return performance.now() - t0;
    } catch (err) {
      last = String(err); // not listening yet
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`no scored response within ${limitMs} ms (last: ${last})`);
}

/** Stops a child: SIGTERM, then SIGKILL after 5 s. */
export async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 5000);
  await child.status;
  clearTimeout(timer);
}

/** Watches a child's stdout for `marker`; `at()` is the time it appeared (ms since `t0`), or NaN. */
export function readyWatch(child: Deno.ChildProcess, marker: string, t0: number): { at: () => number } {
  let at = NaN, seen = "";
  (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      if (Number.isNaN(at)) {
        seen += chunk;
        if (seen.includes(marker)) at = performance.now() - t0;
      }
    }
  })().catch(() => {});
  return { at: () => at };
}

/** One run: total ms to the first scored response, and the part after the process said it was listening. */
export interface ColdRun {
  total: number;
  afterReady: number;
}

/**
 * One cold start of `deno task start` (its exact command line, from `deno.json`).
 *
 * @param model The model file.
 * @param engine `ort` or `ts`.
 * @param tmp A directory for the run's Deno KV file.
 * @param env The environment.
 */
export async function denoColdStart(
  model: string,
  engine: "ort" | "ts",
  tmp: string,
  env: Record<string, string> = Deno.env.toObject(),
): Promise<ColdRun> {
  const port = freePort();
  const task: string = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.start;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: task.split(/\s+/).slice(1),
    cwd: ROOT,
    env: {
      ...env,
      NO_COLOR: "1",
      TAUGATE_EXPOSE: "on", // the first scored response is told by its decision header
      PORT: String(port),
      TAUGATE_MODEL: model,
      TAUGATE_ENGINE: engine,
      TAUGATE_KV_PATH: join(tmp, `kv-${port}.sqlite3`),
    },
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const ready = readyWatch(child, "taugate listening", t0);
  try {
    const total = await firstScored(`http://127.0.0.1:${port}/?q=coldstart`, t0, child);
    return { total, afterReady: total - ready.at() };
  } finally {
    await stop(child);
  }
}
