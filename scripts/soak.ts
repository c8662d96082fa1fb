/**
 * `deno task soak [--seconds 60] [--connections 64]`: a bounded soak of the standalone worker.
 *
 * Starts `deno task start`'s command as a child process on 127.0.0.1 (the real model, a temporary Deno KV,
 * the tenant API on), uploads a head for one tenant through the API, then keeps `--connections` keep-alive
 * connections busy for `--seconds` with a mix of benign requests, attacks and hostile requests (malformed
 * percent-encoding, over-long targets, invalid hosts, TRACE, odd methods, deep JSON, binary and multi-MB
 * bodies, garbage bytes), written as raw HTTP/1.1 so that nothing the `Request` constructor would refuse is
 * left out. Every kind of request has the answers it may get (a decision, or its stated 4xx).
 *
 * It reports requests, answers by status, errors by kind (5xx, an answer a kind may not get, socket errors,
 * timeouts), latency p50/p90/p99/max, and the worker's memory after a warm-up and at the end after a short
 * idle, with a timeline: resident memory (VmRSS from /proc) and the V8 heap in use after a full garbage
 * collection (read through the inspector protocol: the worker runs with `--inspect` on a free local port,
 * which only reads it). It exits 1 when there was any error, when the worker logged an unhandled error, when
 * RSS grew by more than `--margin-mib` (default 64 MiB: a leak of 1 KB per request shows at about 65,000
 * requests) or the heap by more than `--heap-margin-mib` (default 16 MiB: 1 KB per request at about 16,000).
 *
 * ```sh
 * deno task soak [--seconds 60] [--connections 64] [--engine ort|ts] [--model models/taugate.onnx]
 *   [--margin-mib 64] [--heap-margin-mib 16] [--warmup 10] [--json soak.json]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { PAYLOADS, PRODUCTS, UA } from "../test/api/_model.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    connections: { type: "string", default: "64" },
    engine: { type: "string", default: "ort" },
    model: { type: "string", default: "models/taugate.onnx" },
    "margin-mib": { type: "string", default: "64" },
    "heap-margin-mib": { type: "string", default: "16" },
    warmup: { type: "string", default: "10" },
    json: { type: "string" },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const WARMUP = Math.min(Number(args.warmup), SECONDS / 3);
const MARGIN_MIB = Number(args["margin-mib"]);
const HEAP_MARGIN_MIB = Number(args["heap-margin-mib"]);
for (const [name, v] of Object.entries({ SECONDS, CONNECTIONS, MARGIN_MIB, HEAP_MARGIN_MIB })) {
  if (!(Number.isFinite(v) && v > 0)) {
    console.error(`soak: ${name.toLowerCase()} must be a positive number`);
    Deno.exit(2);
  }
}
const ROOT = new URL("../", import.meta.url).pathname;
const TENANT = "shop.soak.test";
const enc = new TextEncoder();
const dec = new TextDecoder();

// ---- the worker ---------------------------------------------------------------------------------------------

const dir = await Deno.makeTempDir({ prefix: "taugate-soak-" });
const admin = Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0"))
  .join("");
const task: string = JSON.parse(await Deno.readTextFile(ROOT + "deno.json")).tasks.start;
// A free port for the worker's inspector (only the heap is read through it).
const INSPECT_PORT = (() => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
})();
const startArgs = task.split(/\s+/).slice(1); // ["run", ...flags, "src/worker/deno.ts"]
const child = new Deno.Command(Deno.execPath(), {
  args: [startArgs[0], `--inspect=127.0.0.1:${INSPECT_PORT}`, ...startArgs.slice(1)],
  cwd: ROOT,
  env: {
    NO_COLOR: "1",
    PORT: "0",
    TAUGATE_MODEL: args.model!,
    TAUGATE_ENGINE: args.engine!,
    TAUGATE_KV_PATH: `${dir}/kv.sqlite3`,
    TAUGATE_MODE: "block",
    TAUGATE_ADMIN_TOKEN: admin,
  },
  stdout: "piped",
  stderr: "piped",
}).spawn();
let out = "", logLines = 0;
const problems: string[] = [];
const pump = async (s: ReadableStream<Uint8Array>, name: string) => {
  for await (const t of s.pipeThrough(new TextDecoderStream())) {
    for (const line of t.split("\n")) {
      if (line === "") continue;
      logLines++;
      if (out.length < 100_000) out += line + "\n";
      if (/unhandled|Uncaught|panicked/i.test(line)) problems.push(`${name}: ${line.slice(0, 300)}`);
    }
  }
};
const pumps = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr")]);
const started = performance.now();
while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out) || !/model \S+ ready/.test(out)) {
  if (performance.now() - started > 60_000 || /failed to load|invalid|cannot/.test(out)) {
    console.error(`the worker did not start:\n${out}`);
    child.kill("SIGKILL");
    Deno.exit(1);
  }
  await new Promise((r) => setTimeout(r, 50));
}
const PORT = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
const BASE = `http://127.0.0.1:${PORT}`;
const modelId = /model (\S+) ready/.exec(out)![1];
log(`worker pid ${child.pid} on ${BASE}, model ${modelId} (${args.engine})`);

function log(s: string) {
  console.error(s);
}

function rssKiB(): number {
  const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

/** The worker's V8 heap, through the inspector protocol (`Runtime.getHeapUsage`, `HeapProfiler.collectGarbage`). */
const inspector = await (async () => {
  const list = await (await fetch(`http://127.0.0.1:${INSPECT_PORT}/json/list`)).json();
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("the worker's inspector refused the connection"));
  });
  let next = 0;
  const waiting = new Map<number, (result: Record<string, number>) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (typeof m.id === "number") waiting.get(m.id)?.(m.result ?? {}), waiting.delete(m.id);
  };
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params: {} }));
    });
  return {
    /** Bytes of the JS heap in use now (garbage included). */
    heapUsed: async () => (await call("Runtime.getHeapUsage")).usedSize,
    /** Bytes of the JS heap in use after two full collections. */
    heapLive: async () => {
      await call("HeapProfiler.collectGarbage");
      await call("HeapProfiler.collectGarbage");
      return (await call("Runtime.getHeapUsage")).usedSize;
    },
    close: () => ws.close(),
  };
})();

// ---- a tenant head, through the API -------------------------------------------------------------------------

/** A request as the tenant API takes it (and as the soak sends it). */
interface Rec {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}
const benignRecord = (i: number): Rec => {
  const p = PRODUCTS[i % PRODUCTS.length];
  return i % 3 === 0
    ? { method: "GET", url: `/shop/${p}/${1000 + i}?sort=price&page=${i % 5}`, headers: { "user-agent": UA } }
    : i % 3 === 1
    ? { method: "GET", url: `/search?q=red+${p}&lang=en`, headers: { "user-agent": UA } }
    : {
      method: "POST",
      url: "/cart",
      headers: { "user-agent": UA, "content-type": "application/x-www-form-urlencoded" },
      body: `item=${p}&qty=${1 + (i % 3)}`,
    };
};
const attackRecord = (i: number): Rec => ({
  method: "GET",
  url: `/search?q=${encodeURIComponent(PAYLOADS[i % PAYLOADS.length])}`,
  headers: { "user-agent": UA },
});
{
  const records = [
    ...Array.from({ length: 40 }, (_, i) => ({ ...benignRecord(i), label: 0 })),
    ...Array.from({ length: 10 }, (_, i) => ({ ...attackRecord(i), label: 1 })),
  ];
  const upload = async (force: boolean) =>
    await fetch(`${BASE}/_taugate/tenants/${TENANT}/examples${force ? "?force=1" : ""}`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/x-ndjson" },
      body: records.map((r) => JSON.stringify(r)).join("\n"),
    });
  let res = await upload(false);
  let body = await res.json();
  if (res.status === 422 && body.error === "guard_refused") {
    log(`the guard refused the soak's head (${body.reason.slice(0, 120)}…): stored with force=1`);
    res = await upload(true);
    body = await res.json();
  }
  if (res.status !== 201) {
    console.error(`the upload failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    child.kill("SIGKILL");
    Deno.exit(1);
  }
  log(`tenant ${TENANT}: head v${body.version} (τ ${body.tau})`);
}
const tenantToken = (await (await fetch(`${BASE}/_taugate/tenants/${TENANT}/tokens`, {
  method: "POST",
  headers: { authorization: `Bearer ${admin}` },
})).json()).token as string;

// ---- the mix --------------------------------------------------------------------------------------------------

/** One kind of request: how often, its raw bytes, the answers it may get, whether it must close. */
interface Kind {
  name: string;
  weight: number;
  make: (i: number) => Uint8Array;
  ok: (status: number) => boolean;
  /** The request says Connection: close (big or malformed), or the server closes after it. */
  close?: boolean;
}

const HOSTS = [TENANT, TENANT, "other.soak.test", "127.0.0.1", `[::1]:${PORT}`];
const decision = (s: number) => s === 200 || s === 403;
const raw = (
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: Uint8Array,
  host?: string,
  close = false,
): Uint8Array => {
  let head = `${method} ${target} HTTP/1.1\r\nhost: ${host ?? TENANT}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (body !== undefined) head += `content-length: ${body.length}\r\n`;
  if (close) head += "connection: close\r\n";
  const h = enc.encode(head + "\r\n");
  if (body === undefined) return h;
  const all = new Uint8Array(h.length + body.length);
  all.set(h), all.set(body, h.length);
  return all;
};
/** Bytes from text (UTF-8) and byte lists: for requests that are not valid UTF-8. */
const bytesOf = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...enc.encode(p)] : p));
const random = (n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
};
// Big bodies a model lets through (so they are forwarded, not only refused): a JSON list and an image.
const BIG_1M = enc.encode(
  JSON.stringify({ items: Array.from({ length: 24_000 }, (_, i) => ({ sku: PRODUCTS[i % 8], qty: i % 4 })) }),
);
const BIG_8M = new Uint8Array(8 << 20).map((_, i) => (i * 7) & 255);
const BINARY = random(64 * 1024);
const DEEP_JSON = enc.encode("[".repeat(32_000) + "]".repeat(32_000));
const MULTIPART = enc.encode(
  '--x\r\nContent-Disposition: form-data; name="f"; filename="a.php"\r\n\r\n<?php system($_GET[1]); ?>\r\n--x--\r\n',
);
const std = { "user-agent": UA, accept: "text/html,application/xhtml+xml", "accept-language": "en" };

const KINDS: Kind[] = [
  {
    name: "benign page",
    weight: 300,
    make: (i) => {
      const r = benignRecord(i * 3);
      return raw("GET", r.url, std, undefined, HOSTS[i % HOSTS.length]);
    },
    ok: decision,
  },
  {
    name: "benign search",
    weight: 100,
    make: (i) => raw("GET", benignRecord(i * 3 + 1).url, std, undefined, HOSTS[i % HOSTS.length]),
    ok: decision,
  },
  {
    name: "benign form",
    weight: 80,
    make: (i) => {
      const r = benignRecord(i * 3 + 2);
      return raw("POST", r.url, { ...std, ...r.headers }, enc.encode(r.body!), HOSTS[i % HOSTS.length]);
    },
    ok: decision,
  },
  {
    name: "benign JSON",
    weight: 50,
    make: (i) =>
      raw(
        "POST",
        "/api/orders",
        { ...std, "content-type": "application/json" },
        enc.encode(JSON.stringify({ items: [{ sku: PRODUCTS[i % 8], qty: i % 4 }], note: "leave at door" })),
      ),
    ok: decision,
  },
  {
    name: "static asset",
    weight: 50,
    make: (i) => raw("GET", `/static/img/${PRODUCTS[i % 8]}-${i % 100}.png`, std),
    ok: decision,
  },
  {
    name: "attack in the query",
    weight: 120,
    make: (i) => raw("GET", attackRecord(i).url, std, undefined, HOSTS[i % HOSTS.length]),
    ok: decision,
  },
  {
    name: "attack in a form",
    weight: 60,
    make: (i) =>
      raw(
        "POST",
        "/cart",
        { ...std, "content-type": "application/x-www-form-urlencoded" },
        enc.encode(`item=${encodeURIComponent(PAYLOADS[i % PAYLOADS.length])}&qty=1`),
      ),
    ok: decision,
  },
  {
    name: "malformed percent-encoding",
    weight: 20,
    make: (i) =>
      raw("GET", `/a/%%zz/%C3%28/%ED%A0%80/${"%".repeat(i % 200)}?q=%u0041%G1%${"%25".repeat(50)}`, std),
    ok: decision,
  },
  {
    name: "encoded NUL, CRLF and control bytes",
    weight: 10,
    make: (i) =>
      raw("GET", `/p?q=%00%01%1b%7f&r=${"%0d%0a".repeat(i % 50)}&s=%00${"%FF".repeat(i % 30)}`, std),
    ok: decision,
  },
  {
    name: "invalid UTF-8 in a header (obs-text)",
    weight: 10,
    make: () =>
      bytesOf(
        `GET /x HTTP/1.1\r\nhost: ${TENANT}\r\nuser-agent: `,
        [0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80],
        "\r\n\r\n",
      ),
    ok: decision,
  },
  {
    name: "invalid UTF-8 in the target (400 from Deno)",
    weight: 5,
    make: () => bytesOf("GET /a", [0xff, 0xfe], "?q=", [0xc3, 0x28], ` HTTP/1.1\r\nhost: ${TENANT}\r\n\r\n`),
    ok: (s) => s === 400,
    close: true,
  },
  {
    name: "chunked body",
    weight: 10,
    make: (i) =>
      enc.encode(
        `POST /api/orders HTTP/1.1\r\nhost: ${TENANT}\r\ncontent-type: application/json\r\n` +
          `transfer-encoding: chunked\r\n\r\n` +
          `${(13).toString(16)}\r\n{"items":[1,2\r\n` +
          `${(3 + String(i).length).toString(16)}\r\n,${i}]}\r\n0\r\n\r\n`,
      ),
    ok: decision,
  },
  {
    name: "10 KB of '%' in the target",
    weight: 10,
    make: () => raw("GET", "/" + "%".repeat(10_000), std),
    ok: decision,
  },
  {
    name: "20 KB target (414)",
    weight: 10,
    make: (i) => raw("GET", `/p?${"a=1&".repeat(5000)}i=${i}`, std, undefined, TENANT, true),
    ok: (s) => s === 414,
    close: true,
  },
  {
    name: "invalid Host (400)",
    weight: 10,
    make: () => raw("GET", "/x", std, undefined, "[::1", true),
    ok: (s) => s === 400,
    close: true,
  },
  {
    name: "TRACE (405)",
    weight: 10,
    make: () => raw("TRACE", "/", std, undefined, TENANT, true),
    ok: (s) => s === 405,
    close: true,
  },
  {
    name: "odd method",
    weight: 10,
    make: (i) => raw(["PROPFIND", "FOO", "get", "M-SEARCH"][i % 4], "/x", std),
    ok: decision,
  },
  {
    name: "absolute-form target",
    weight: 10,
    make: () => raw("GET", `http://${TENANT}/search?q=1`, std, undefined, "other.soak.test"),
    ok: decision,
  },
  {
    name: "upper-case host",
    weight: 10,
    make: () => raw("GET", "/search?q=1", std, undefined, "SHOP.Soak.TEST"),
    ok: decision,
  },
  {
    name: "40 KB header",
    weight: 10,
    make: () => raw("GET", "/x", { ...std, cookie: "a=" + "b".repeat(40_000) }),
    ok: decision,
  },
  {
    name: "deep JSON 64 KB",
    weight: 10,
    make: () => raw("POST", "/api", { "content-type": "application/json" }, DEEP_JSON),
    ok: decision,
  },
  {
    name: "multipart without a boundary",
    weight: 10,
    make: () => raw("POST", "/upload", { "content-type": "multipart/form-data" }, MULTIPART),
    ok: decision,
  },
  {
    name: "64 KB of random bytes",
    weight: 10,
    make: () => raw("POST", "/upload", { "content-type": "application/octet-stream" }, BINARY),
    ok: decision,
  },
  {
    name: "1 MB JSON body",
    weight: 5,
    make: () =>
      raw(
        "POST",
        "/upload",
        { "user-agent": UA, "content-type": "application/json" },
        BIG_1M,
        "other.soak.test",
        true,
      ),
    ok: decision,
    close: true,
  },
  {
    name: "8 MB image body",
    weight: 1,
    make: () =>
      raw(
        "POST",
        "/upload",
        { "user-agent": UA, "content-type": "image/jpeg" },
        BIG_8M,
        "other.soak.test",
        true,
      ),
    ok: decision,
    close: true,
  },
  {
    name: "garbage bytes (400 from Deno)",
    weight: 5,
    make: () =>
      new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 13, 10, 13, 10]),
    ok: (s) => s === 400,
    close: true,
  },
  {
    name: "NUL in the target (400 from Deno)",
    weight: 5,
    make: () => enc.encode(`GET /a\x00b HTTP/1.1\r\nhost: ${TENANT}\r\n\r\n`),
    ok: (s) => s === 400,
    close: true,
  },
  {
    name: "tenant API read",
    weight: 5,
    make: () =>
      raw("GET", `/_taugate/tenants/${TENANT}/head`, { authorization: `Bearer ${tenantToken}` }, undefined),
    ok: (s) => s === 200,
  },
];
const TOTAL_WEIGHT = KINDS.reduce((s, k) => s + k.weight, 0);
const pick = (x: number): Kind => {
  let r = x * TOTAL_WEIGHT;
  for (const k of KINDS) if ((r -= k.weight) < 0) return k;
  return KINDS[0];
};

// ---- the load ---------------------------------------------------------------------------------------------

interface Stats {
  requests: number;
  byStatus: Map<number, number>;
  byKind: Map<string, { n: number; lat: number[]; status: Map<number, number> }>;
  errors: Map<string, number>;
  examples: string[];
  latencies: number[];
}
const stats: Stats = {
  requests: 0,
  byStatus: new Map(),
  byKind: new Map(),
  errors: new Map(),
  examples: [],
  latencies: [],
};
const error = (what: string, detail: string) => {
  stats.errors.set(what, (stats.errors.get(what) ?? 0) + 1);
  if (stats.examples.length < 20) stats.examples.push(`${what}: ${detail}`);
};

/** One keep-alive connection; reads one response at a time. */
class Conn {
  #conn: Deno.TcpConn | null = null;
  #buf = new Uint8Array(0);

  async exchange(bytes: Uint8Array): Promise<{ status: number; close: boolean }> {
    if (this.#conn === null) {
      this.#conn = await Deno.connect({ hostname: "127.0.0.1", port: PORT });
      this.#buf = new Uint8Array(0);
    }
    const conn = this.#conn;
    // Written while the answer is read: the server may answer (and close) before reading everything.
    const writing = (async () => {
      let at = 0;
      while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    })().catch(() => {});
    try {
      const res = await this.#read();
      await writing;
      if (res.close) this.close();
      return res;
    } catch (err) {
      this.close();
      await writing;
      throw err;
    }
  }

  close() {
    try {
      this.#conn?.close();
    } catch { /* closed */ }
    this.#conn = null;
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn!.read(chunk);
    if (n === null) throw new Error("closed by the server before a full answer");
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf), next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
  }

  async #read(): Promise<{ status: number; close: boolean }> {
    let head = -1;
    while ((head = indexOfCrlf2(this.#buf)) < 0) await this.#fill();
    const lines = dec.decode(this.#buf.subarray(0, head)).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const h = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      if (c > 0) h.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
    }
    let at = head + 4;
    const len = h.get("content-length");
    if (len !== undefined) {
      while (this.#buf.length < at + Number(len)) await this.#fill();
      at += Number(len);
    } else if (h.get("transfer-encoding")?.includes("chunked")) {
      for (;;) {
        let eol: number;
        while ((eol = indexOfCrlf(this.#buf, at)) < 0) await this.#fill();
        const size = parseInt(dec.decode(this.#buf.subarray(at, eol)), 16);
        while (this.#buf.length < eol + 2 + size + 2) await this.#fill();
        at = eol + 2 + size + 2;
        if (size === 0) break;
      }
    }
    this.#buf = this.#buf.slice(at);
    return { status, close: h.get("connection")?.toLowerCase() === "close" };
  }
}

function indexOfCrlf2(b: Uint8Array): number {
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) return i - 3;
  }
  return -1;
}
function indexOfCrlf(b: Uint8Array, from: number): number {
  for (let i = from + 1; i < b.length; i++) if (b[i] === 10 && b[i - 1] === 13) return i - 1;
  return -1;
}

let stopAt = 0;
let measuring = false;
async function loop(id: number) {
  const conn = new Conn();
  let i = id * 7919;
  while (performance.now() < stopAt) {
    const kind = pick(((i++ * 2654435761) >>> 0) / 2 ** 32);
    const bytes = kind.make(i);
    const t0 = performance.now();
    let status: number;
    try {
      const timeout = new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error("no answer within 30 s")), 30_000)
      );
      const exchange = conn.exchange(bytes);
      exchange.catch(() => {});
      status = (await Promise.race([exchange, timeout])).status;
    } catch (err) {
      conn.close();
      if (measuring) error(/30 s/.test(String(err)) ? "timeout" : "socket", `${kind.name}: ${err}`);
      continue;
    }
    const ms = performance.now() - t0;
    if (kind.close) conn.close();
    if (!measuring) continue;
    stats.requests++;
    stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
    const k = stats.byKind.get(kind.name) ?? { n: 0, lat: [] as number[], status: new Map<number, number>() };
    k.n++, k.lat.push(ms), k.status.set(status, (k.status.get(status) ?? 0) + 1);
    stats.byKind.set(kind.name, k);
    stats.latencies.push(ms);
    if (status >= 500) error("5xx", `${kind.name}: ${status}`);
    else if (!kind.ok(status)) error("unexpected status", `${kind.name}: ${status}`);
  }
  conn.close();
}

const q = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const MiB = 1024 * 1024;

// Warm-up: the same load, not counted; then memory is read, the run measured, and memory read again.
log(`warm-up ${WARMUP} s, then ${SECONDS} s with ${CONNECTIONS} connections`);
const timeline: { s: number; rssMiB: number; heapMiB: number }[] = [];
stopAt = performance.now() + (WARMUP + SECONDS) * 1000;
const loops = Array.from({ length: CONNECTIONS }, (_, i) => loop(i));
await new Promise((r) => setTimeout(r, WARMUP * 1000));
// Read under load (a full collection takes a few ms): the heap's live size and RSS after it.
const heapBefore = await inspector.heapLive();
const rssBefore = rssKiB();
measuring = true;
const t0 = performance.now();
const sampler = setInterval(async () => {
  const s = Math.round((performance.now() - t0) / 1000);
  timeline.push({ s, rssMiB: r1(rssKiB() / 1024), heapMiB: r1(await inspector.heapUsed() / MiB) });
}, 5000);
await Promise.all(loops);
const elapsed = (performance.now() - t0) / 1000;
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 3000)); // a short idle
const heapAfter = await inspector.heapLive();
const rssAfter = rssKiB();
inspector.close();
const hwm = Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))![1]);

child.kill("SIGTERM");
const exit = await child.status;
await pumps;
await Deno.remove(dir, { recursive: true });
if (exit.code !== 0) problems.push(`the worker exited with ${exit.code} on SIGTERM`);

// ---- the report -------------------------------------------------------------------------------------------

const errors = [...stats.errors.values()].reduce((a, b) => a + b, 0);
const growthMiB = (rssAfter - rssBefore) / 1024;
const heapGrowthMiB = (heapAfter - heapBefore) / MiB;
const report = {
  command:
    `deno task soak --seconds ${SECONDS} --connections ${CONNECTIONS} --engine ${args.engine} --warmup ${WARMUP}`,
  model: modelId,
  engine: args.engine,
  seconds: r1(elapsed),
  connections: CONNECTIONS,
  requests: stats.requests,
  perSecond: Math.round(stats.requests / elapsed),
  byStatus: Object.fromEntries([...stats.byStatus].sort((a, b) => a[0] - b[0])),
  errors: Object.fromEntries(stats.errors),
  errorExamples: stats.examples,
  workerProblems: problems,
  latencyMs: {
    p50: r1(q(stats.latencies, 0.5)),
    p90: r1(q(stats.latencies, 0.9)),
    p99: r1(q(stats.latencies, 0.99)),
    max: r1(q(stats.latencies, 1)),
  },
  byKind: Object.fromEntries(
    [...stats.byKind].map((
      [k, v],
    ) => [k, {
      n: v.n,
      status: Object.fromEntries(v.status),
      p50: r1(q(v.lat, 0.5)),
      p99: r1(q(v.lat, 0.99)),
    }]),
  ),
  memory: {
    rssBeforeMiB: r1(rssBefore / 1024),
    rssAfterMiB: r1(rssAfter / 1024),
    growthMiB: r1(growthMiB),
    peakMiB: r1(hwm / 1024),
    marginMiB: MARGIN_MIB,
    heapBeforeMiB: r1(heapBefore / MiB),
    heapAfterMiB: r1(heapAfter / MiB),
    heapGrowthMiB: r1(heapGrowthMiB),
    heapMarginMiB: HEAP_MARGIN_MIB,
    timeline,
  },
  workerLogLines: logLines,
  loadAverage: Deno.loadavg(),
};
console.log(JSON.stringify(report, null, 2));
if (args.json) await Deno.writeTextFile(args.json, JSON.stringify(report, null, 2) + "\n");
const failed = errors > 0 || problems.length > 0 || growthMiB > MARGIN_MIB || heapGrowthMiB > HEAP_MARGIN_MIB;
log(
  `${stats.requests} requests in ${r1(elapsed)} s (${report.perSecond}/s), ${errors} errors, p50 ` +
    `${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms; RSS ${report.memory.rssBeforeMiB} → ` +
    `${report.memory.rssAfterMiB} MiB (margin ${MARGIN_MIB} MiB), heap ${report.memory.heapBeforeMiB} → ` +
    `${report.memory.heapAfterMiB} MiB (margin ${HEAP_MARGIN_MIB} MiB): ${failed ? "FAILED" : "passed"}`,
);
Deno.exit(failed ? 1 : 0);
