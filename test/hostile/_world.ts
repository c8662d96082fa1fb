/**
 * What the hostile-input, fault and API tests share: the standalone worker over the real TypeScript engine
 * (the test model: deterministic, fast), servers on free local ports, a raw HTTP/1.1 exchange over a
 * socket (for what the `Request` constructor refuses to build), SHA-256, and a body stream that counts the
 * bytes pulled from it.
 */
import type { Hono } from "hono";
import { FEATURE_SPEC } from "../../src/features/mod.ts";
import type { TaugateEnv } from "../../src/middleware/mod.ts";
import { createTsEngine, type TsEngine } from "../../src/model/mod.ts";
import type { HeadCache } from "../../src/store/cached.ts";
import type { HeadStore } from "../../src/store/types.ts";
import { createWorkerApp, type WorkerApiOptions } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { testModelBytes } from "../worker/_model.ts";

export { TEST_MODEL_ID, testModelBytes, writeTestModel } from "../worker/_model.ts";

let engine: TsEngine | undefined;
/** The real TypeScript engine on the test model (one per process: it holds no request state). */
export function tsEngine(): TsEngine {
  return engine ??= createTsEngine(testModelBytes());
}

/** A worker app and the log lines it wrote. */
export interface World {
  app: Hono<TaugateEnv>;
  lines: string[];
}

/**
 * The standalone worker app (echo, or `ORIGIN` in `env`) with every decision logged.
 *
 * @param env Worker variables (`TAUGATE_MODE`, `TAUGATE_TAU`, `ORIGIN`, ...).
 * @param extra Store, API, engine or other `createWorkerApp` options.
 */
export function world(
  env: Record<string, string> = {},
  extra: {
    store?: HeadStore | HeadCache;
    api?: WorkerApiOptions;
    engine?: Parameters<typeof createWorkerApp>[0]["engine"];
    engineTimeoutMs?: number;
  } = {},
): World {
  const lines: string[] = [];
  const app = createWorkerApp({
    config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_LOG_SAMPLE: "1", ...env }),
    engine: extra.engine ?? tsEngine(),
    store: extra.store,
    api: extra.api,
    engineTimeoutMs: extra.engineTimeoutMs,
    logSink: (l) => lines.push(l),
  });
  return { app, lines };
}

/** Serves `handler` on 127.0.0.1 for the duration of `f`. */
export async function serving<T>(
  handler: Deno.ServeHandler,
  f: (base: string, port: number) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    handler,
  );
  try {
    return await f(`http://127.0.0.1:${server.addr.port}`, server.addr.port);
  } finally {
    ac.abort();
    await server.finished;
  }
}

/** Lower-case hex SHA-256 (Web Crypto). */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** `n` bytes of a fixed pseudo-random sequence (every byte value, so never valid UTF-8 for long). */
export function randomBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

/** A body stream of `total` bytes of `byte` in `chunk`-byte chunks that counts what was pulled from it. */
export function countingStream(
  total: number,
  chunk = 64 * 1024,
  byte = 0x61,
): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0, cancelled = false;
  const block = new Uint8Array(chunk).fill(byte);
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const n = Math.min(chunk, total - pulled);
      if (n <= 0) return c.close();
      pulled += n;
      c.enqueue(n === chunk ? block.slice() : block.slice(0, n));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

/** What came back over a raw socket. */
export interface RawResponse {
  /** `null` when the server closed the connection without answering. */
  status: number | null;
  headers: Headers;
  body: Uint8Array;
  text: string;
}

const enc = new TextEncoder();

/**
 * Writes `bytes` on a new connection and reads one HTTP/1.1 response (content-length, chunked, or until
 * the server closes). Requests should say `Connection: close`.
 *
 * @param port The server's port on 127.0.0.1.
 * @param bytes The raw request.
 * @param options `closeAfterMs`: give up (close) after this long without a complete response.
 */
export async function rawExchange(
  port: number,
  bytes: Uint8Array | string,
  options: { closeAfterMs?: number } = {},
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const data = typeof bytes === "string" ? enc.encode(bytes) : bytes;
  // The server may answer (and close) before it has read everything: a failed write is not a failure here.
  const writing = (async () => {
    let at = 0;
    while (at < data.length) at += await conn.write(data.subarray(at));
  })().catch(() => {});
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, options.closeAfterMs ?? 10_000);
  const chunks: Uint8Array[] = [];
  let got = 0;
  const buf = new Uint8Array(64 * 1024);
  let parsed: { head: number; status: number; headers: Headers } | null = null;
  let complete = false;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      got += n;
      const all = concat(chunks, got);
      parsed ??= parseHead(all);
      if (parsed !== null && bodyComplete(all, parsed)) {
        complete = true;
        break;
      }
    }
  } catch { /* reset or closed by the timer */ }
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* closed */ }
  await writing;
  const all = concat(chunks, got);
  parsed ??= parseHead(all);
  if (parsed === null) return { status: null, headers: new Headers(), body: new Uint8Array(), text: "" };
  const raw = all.subarray(parsed.head);
  const body = parsed.headers.get("transfer-encoding")?.includes("chunked") && complete ? dechunk(raw) : raw;
  return { status: parsed.status, headers: parsed.headers, body, text: new TextDecoder().decode(body) };
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) out.set(c, at), at += c.length;
  chunks.length = 0;
  chunks.push(out);
  return out;
}

function parseHead(all: Uint8Array): { head: number; status: number; headers: Headers } | null {
  for (let i = 3; i < all.length; i++) {
    if (all[i] === 10 && all[i - 1] === 13 && all[i - 2] === 10 && all[i - 3] === 13) {
      const lines = new TextDecoder().decode(all.subarray(0, i - 3)).split("\r\n");
      const status = Number(lines[0].split(" ")[1]);
      const headers = new Headers();
      for (const l of lines.slice(1)) {
        const c = l.indexOf(":");
        if (c > 0) headers.append(l.slice(0, c).trim(), l.slice(c + 1).trim());
      }
      return { head: i + 1, status, headers };
    }
  }
  return null;
}

function bodyComplete(all: Uint8Array, p: { head: number; headers: Headers }): boolean {
  const len = p.headers.get("content-length");
  if (len !== null) return all.length - p.head >= Number(len);
  if (p.headers.get("transfer-encoding")?.includes("chunked")) {
    const tail = new TextDecoder().decode(all.subarray(Math.max(p.head, all.length - 7)));
    return tail.endsWith("0\r\n\r\n");
  }
  return false; // until the server closes
}

function dechunk(raw: Uint8Array): Uint8Array {
  const out: number[] = [];
  let at = 0;
  for (;;) {
    let end = at;
    while (end + 1 < raw.length && !(raw[end] === 13 && raw[end + 1] === 10)) end++;
    const size = parseInt(new TextDecoder().decode(raw.subarray(at, end)), 16);
    if (!(size > 0)) break;
    for (let i = 0; i < size; i++) out.push(raw[end + 2 + i]);
    at = end + 2 + size + 2;
  }
  return new Uint8Array(out);
}

/** An upper bound on the extractor's work for any request (see test/features/canonicalise.test.ts). */
export function extractionBound(): { chars: number; fields: number } {
  const caps = FEATURE_SPEC.caps;
  return {
    chars: caps.path + caps.query + caps.headers * caps.headerValue + caps.body + 4 * (2 * caps.params + 64),
    fields: 2 * caps.params * 2 + caps.headers + 2 * caps.cookies + 8,
  };
}
