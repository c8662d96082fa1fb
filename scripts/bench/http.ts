/**
 * Throughput over HTTP: two servers of the same app (`serve.ts`), taugate `off` and taugate `block`, on
 * 127.0.0.1, driven in turn by wrk (one thread, keep-alive connections) with the benchmark's request mix.
 * The two are measured in alternating rounds of the same run, so load from elsewhere hits both alike; the
 * ratio is the median of the rounds' ratios.
 *
 * wrk comes from Debian (`apt-get install wrk`); without it the measurement is skipped with that hint.
 *
 * @module
 */
import { join } from "node:path";
import { type BenchRequest, requestSize } from "./mix.ts";
import { freePort, readyWatch, stop } from "./coldstart.ts";
import { median } from "./stats.ts";

/** What one throughput comparison measured. */
export interface ThroughputResult {
  app: string;
  engine: string;
  connections: number;
  seconds: number;
  /** Requests per second per round. */
  off: number[];
  on: number[];
  /** on / off per round, and their median. */
  ratios: number[];
  ratio: number;
  /** wrk's latency p50 and p99 (ms), median over rounds. */
  latency: { off: { p50: number; p99: number }; on: { p50: number; p99: number } };
}

/** The path of wrk, or `null` when it is not installed. */
export async function findWrk(): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const p = join(dir, "wrk");
      if ((await Deno.stat(p)).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

/** A Lua string literal of the bytes (every byte outside printable ASCII, quotes and backslashes escaped). */
function luaString(bytes: Uint8Array): string {
  let s = '"';
  for (const b of bytes) {
    s += b >= 32 && b < 127 && b !== 34 && b !== 92
      ? String.fromCharCode(b)
      : `\\${String(b).padStart(3, "0")}`;
  }
  return s + '"';
}

/** The raw HTTP/1.1 bytes of a request of the mix. */
function rawRequest(r: BenchRequest): Uint8Array {
  const body = r.body !== undefined ? new TextEncoder().encode(r.body) : undefined;
  let head = `${r.method} ${r.target} HTTP/1.1\r\nhost: ${r.host}\r\n`;
  for (const [k, v] of r.headers) head += `${k}: ${v}\r\n`;
  if (body !== undefined) head += `content-length: ${body.length}\r\n`;
  head += "\r\n";
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + (body?.length ?? 0));
  out.set(h);
  if (body) out.set(body, h.length);
  return out;
}

/** A wrk script that sends the mix's requests in turn on every connection. */
export function wrkScript(mix: BenchRequest[]): string {
  const items = mix.filter((r) => requestSize(r) < 2048).map((r) => "  " + luaString(rawRequest(r)) + ",");
  return [
    "local reqs = {",
    ...items,
    "}",
    "local i = 0",
    "request = function()",
    "  i = i % #reqs + 1",
    "  return reqs[i]",
    "end",
    "",
  ].join("\n");
}

interface WrkRun {
  rps: number;
  p50: number;
  p99: number;
}

function msOf(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "us" ? 1e-3 : m[2] === "s" ? 1e3 : 1);
}

async function wrk(bin: string, url: string, script: string, seconds: number, connections: number) {
  const out = await new Deno.Command(bin, {
    args: ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!out.success || !rps) throw new Error(`wrk failed: ${text}${new TextDecoder().decode(out.stderr)}`);
  const p50 = /^\s+50%\s+(\S+)/m.exec(text), p99 = /^\s+99%\s+(\S+)/m.exec(text);
  const errors = /Socket errors: (.*)/.exec(text);
  if (errors && /(connect|read|write) [1-9]/.test(errors[1])) {
    throw new Error(`wrk: socket errors: ${errors[1]}`);
  }
  return { rps: Number(rps[1]), p50: msOf(p50?.[1] ?? ""), p99: msOf(p99?.[1] ?? "") } satisfies WrkRun;
}

async function server(
  tmp: string,
  env: Record<string, string>,
): Promise<{ url: string; child: Deno.ChildProcess }> {
  const port = freePort();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      "--unstable-no-legacy-abort",
      new URL("./serve.ts", import.meta.url).pathname,
    ],
    env: { ...Deno.env.toObject(), ...env, PORT: String(port), NO_COLOR: "1" },
    cwd: tmp,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const ready = readyWatch(child, "ready", t0);
  while (Number.isNaN(ready.at())) {
    if (performance.now() - t0 > 60_000) throw new Error("bench server did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `http://127.0.0.1:${port}/`, child };
}

/**
 * Compares requests per second with taugate `off` and `block`.
 *
 * @param opts The wrk binary, the model file, the engine, the app, the stored head (JSON file), the mix,
 *   rounds, seconds per measurement, connections, and a temporary directory.
 */
export async function throughput(opts: {
  wrk: string;
  model: string;
  engine: "ort" | "ts";
  app: "min" | "worker";
  headFile: string;
  mix: BenchRequest[];
  rounds: number;
  seconds: number;
  connections: number;
  tmp: string;
}): Promise<ThroughputResult> {
  const script = join(opts.tmp, "mix.lua");
  await Deno.writeTextFile(script, wrkScript(opts.mix));
  const common = {
    BENCH_MODEL: opts.model,
    BENCH_ENGINE: opts.engine,
    BENCH_APP: opts.app,
    BENCH_HEAD: opts.headFile,
  };
  const off = await server(opts.tmp, { ...common, BENCH_MODE: "off" });
  let on: Awaited<ReturnType<typeof server>> | undefined;
  try {
    on = await server(opts.tmp, { ...common, BENCH_MODE: "block" });
    const run = (s: { url: string }, seconds = opts.seconds) =>
      wrk(opts.wrk, s.url, script, seconds, opts.connections);
    await run(off, 2); // warm-up: the JIT, the head cache
    await run(on, 2);
    const offRuns: WrkRun[] = [], onRuns: WrkRun[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      if (r % 2 === 0) offRuns.push(await run(off)), onRuns.push(await run(on));
      else onRuns.push(await run(on)), offRuns.push(await run(off));
    }
    const ratios = onRuns.map((x, i) => x.rps / offRuns[i].rps);
    const lat = (rs: WrkRun[]) => ({ p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)) });
    return {
      app: opts.app,
      engine: opts.engine,
      connections: opts.connections,
      seconds: opts.seconds,
      off: offRuns.map((x) => x.rps),
      on: onRuns.map((x) => x.rps),
      ratios,
      ratio: median(ratios),
      latency: { off: lat(offRuns), on: lat(onRuns) },
    };
  } finally {
    await stop(off.child);
    if (on) await stop(on.child);
  }
}
