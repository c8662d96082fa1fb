// Raw bytes over a real socket to the Deno entry (`deno task start`'s command, as its own process): what only
// a server exposes: request lines, absolute-form targets, IPv6 and malformed hosts, over-long targets and
// header blocks, invalid UTF-8 and control bytes, methods the Request constructor refuses, broken framing.
// Each case says who answers: Deno's HTTP server (a bare 400 before taugate sees anything) or taugate (JSON).
import assert from "node:assert/strict";
import { DenoKvHeadStore } from "../../src/store/deno_kv.ts";
import { rawExchange, type RawResponse, writeTestModel } from "./_world.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TENANT = "shop.example.com";
const enc = new TextEncoder();

/** The `start` task's arguments after `deno` (so the test runs what users run). */
function startArgs(): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(ROOT + "deno.json")).tasks.start;
  return task.split(/\s+/).slice(1);
}

interface Entry {
  child: Deno.ChildProcess;
  port: number;
  out: () => string;
  stop: () => Promise<Deno.CommandStatus>;
}

/**
 * Starts the entry: block mode, the TypeScript engine, `/static/*` excluded, global τ = 1 (nothing from
 * other hosts is blocked) and a head for `shop.example.com` that scores every request ≈ 1 at τ = 0.5
 * (everything of that tenant is blocked): so the status says which tenant and head scored a request.
 */
async function startEntry(dir: string, kind: "worker" | "library" = "worker"): Promise<Entry> {
  const kvPath = `${dir}/kv.sqlite3`;
  const kv = await Deno.openKv(kvPath);
  await new DenoKvHeadStore(kv).put(TENANT, {
    version: 3,
    head: { w: new Array(16).fill(0), b: 10 },
    tau: 0.5,
    createdAt: "2026-11-29T00:00:00Z",
  });
  kv.close();
  const model = await writeTestModel();
  const child = new Deno.Command(Deno.execPath(), {
    args: kind === "worker"
      ? startArgs()
      : ["run", "-A", "--unstable-kv", ROOT + "test/hostile/_library_server.ts", model, kvPath],
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      PORT: "0",
      TAUGATE_MODEL: model,
      TAUGATE_KV_PATH: kvPath,
      TAUGATE_ENGINE: "ts",
      TAUGATE_MODE: "block",
      TAUGATE_EXPOSE: "on",
      TAUGATE_TAU: "1",
      TAUGATE_EXCLUDE_PATHS: "/static/*",
      TAUGATE_LOG_SAMPLE: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const t of s.pipeThrough(new TextDecoderStream())) out += t;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out) || !/model \S+ ready/.test(out)) {
    await new Promise((r) => setTimeout(r, 20));
    if (out.includes("error")) throw new Error(`the entry did not start: ${out}`);
  }
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  return {
    child,
    port,
    out: () => out,
    stop: async () => {
      child.kill("SIGTERM");
      const status = await child.status;
      await pumps;
      await Deno.remove(model);
      return status;
    },
  };
}

/** Who answered: taugate always answers JSON; Deno's own refusals are a bare 400; `none` = no answer. */
type Who = "taugate" | "deno" | "none";
interface Case {
  name: string;
  bytes: string | Uint8Array;
  status: number | null;
  who: Who;
  /** Expected JSON `error` code (taugate's own answers). */
  error?: string;
  /** Expected `x-taugate-tenant` / `x-taugate-head` when scored. */
  tenant?: string;
  head?: string;
  /** The request was not scored at all (an exclusion). */
  unscored?: true;
}

const H = `Host: ${TENANT}\r\nConnection: close\r\n`;
const get = (target: string, headers = H) => `GET ${target} HTTP/1.1\r\n${headers}\r\n`;
const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...enc.encode(p)] : p));

function cases(port: number): Case[] {
  const blocked = { status: 403, who: "taugate" as Who, error: "blocked", tenant: TENANT, head: "tenant" };
  return [
    // Hosts and targets: the tenant is the canonical host, whatever form it came in.
    { name: "origin-form, the tenant's host", bytes: get("/x?q=1"), ...blocked },
    {
      name: "upper-case Host is the same tenant",
      bytes: get("/x", "Host: SHOP.Example.COM\r\nConnection: close\r\n"),
      ...blocked,
    },
    {
      name: "Host with a trailing default port",
      bytes: get("/x", `Host: ${TENANT}:80\r\nConnection: close\r\n`),
      ...blocked,
    },
    {
      name: "absolute-form: the target's authority wins over Host (RFC 9112)",
      bytes: get(`http://${TENANT}/x`, "Host: other.example\r\nConnection: close\r\n"),
      ...blocked,
    },
    {
      name: "absolute-form naming another host",
      bytes: get("http://other.example/x"),
      status: 200,
      who: "taugate",
      tenant: "other.example",
      head: "global",
    },
    {
      name: "absolute-form with an IPv6 authority",
      bytes: get("http://[::1]:9/x"),
      status: 200,
      who: "taugate",
      tenant: "-",
      head: "global",
    },
    {
      name: "IPv6 Host",
      bytes: get("/x", `Host: [::1]:${port}\r\nConnection: close\r\n`),
      status: 200,
      who: "taugate",
      tenant: "-",
      head: "global",
    },
    {
      name: "IPv4-mapped IPv6 Host, upper case",
      bytes: get("/x", "Host: [::FFFF:127.0.0.1]\r\nConnection: close\r\n"),
      status: 200,
      who: "taugate",
      tenant: "-",
    },
    { name: "OPTIONS *", bytes: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, ...blocked },
    // Dot segments resolve before exclusions match: /static/../x is /x, and scored.
    { name: "dot segments out of an excluded prefix", bytes: get("/static/../x?q=1"), ...blocked },
    { name: "encoded dot segments out of an excluded prefix", bytes: get("/static/%2e%2e/x"), ...blocked },
    { name: "backslashes as slashes", bytes: get("/static\\..\\x"), ...blocked },
    { name: "an excluded path", bytes: get("/static/app.js"), status: 200, who: "taugate", unscored: true },
    // Hosts that are not hosts: taugate's 400 (Deno hands them over as they came).
    {
      name: "Host with an unclosed IPv6 bracket",
      bytes: get("/x", "Host: [::1\r\nConnection: close\r\n"),
      status: 400,
      who: "taugate",
      error: "bad_request",
    },
    {
      name: "Host with port 99999",
      bytes: get("/x", `Host: ${TENANT}:99999\r\nConnection: close\r\n`),
      status: 400,
      who: "taugate",
      error: "bad_request",
    },
    {
      name: "Host with credentials",
      bytes: get("/x", `Host: u:p@${TENANT}\r\nConnection: close\r\n`),
      status: 400,
      who: "taugate",
      error: "bad_request",
    },
    {
      name: "Host with a percent sign",
      bytes: get("/x", "Host: a%zz.example\r\nConnection: close\r\n"),
      status: 400,
      who: "taugate",
      error: "bad_request",
    },
    {
      name: "Host with angle brackets",
      bytes: get("/x", "Host: a<b>.example\r\nConnection: close\r\n"),
      status: 400,
      who: "taugate",
      error: "bad_request",
    },
    // Methods.
    {
      name: "TRACE",
      bytes: `TRACE / HTTP/1.1\r\n${H}\r\n`,
      status: 405,
      who: "taugate",
      error: "method_not_allowed",
    },
    {
      name: "TRACK",
      bytes: `TRACK / HTTP/1.1\r\n${H}\r\n`,
      status: 405,
      who: "taugate",
      error: "method_not_allowed",
    },
    {
      name: "CONNECT",
      bytes: `CONNECT ${TENANT}:443 HTTP/1.1\r\n${H}\r\n`,
      status: 405,
      who: "taugate",
      error: "method_not_allowed",
    },
    { name: "lower-case get", bytes: `get /x HTTP/1.1\r\n${H}\r\n`, ...blocked },
    { name: "FOO", bytes: `FOO /x HTTP/1.1\r\n${H}\r\n`, ...blocked },
    { name: "PROPFIND", bytes: `PROPFIND /x HTTP/1.1\r\n${H}\r\n`, ...blocked },
    { name: "a 5,000-character method", bytes: `${"X".repeat(5000)} /x HTTP/1.1\r\n${H}\r\n`, ...blocked },
    { name: "a method that is not a token", bytes: `G(T /x HTTP/1.1\r\n${H}\r\n`, status: 400, who: "deno" },
    // Sizes: taugate's 414 from 16 KiB of target, Deno's bare 400 from 64 KiB of target or head.
    {
      name: "a 20 KB target",
      bytes: get("/" + "a".repeat(20_000)),
      status: 414,
      who: "taugate",
      error: "uri_too_long",
    },
    { name: "a 70 KB target", bytes: get("/" + "a".repeat(70_000)), status: 400, who: "deno" },
    {
      name: "20,000 query parameters",
      bytes: get("/p?" + Array.from({ length: 20_000 }, (_, i) => `k${i}=v`).join("&")),
      status: 400,
      who: "deno",
    },
    { name: "16 KB of '%' in the target", bytes: get("/" + "%".repeat(16_000)), ...blocked },
    { name: "a 40 KB header", bytes: get("/x", `${H}X-Big: ${"a".repeat(40_000)}\r\n`), ...blocked },
    {
      name: "a 64 KB header",
      bytes: get("/x", `${H}X-Big: ${"a".repeat(65_536)}\r\n`),
      status: 400,
      who: "deno",
    },
    {
      name: "130 header lines",
      bytes: get("/x", H + Array.from({ length: 130 }, (_, i) => `X-${i}: v\r\n`).join("")),
      status: 400,
      who: "deno",
    },
    // Bytes that are not text.
    {
      name: "invalid UTF-8 in the target",
      bytes: bytes("GET /a", [0xff, 0xfe], "?q=", [0xc3, 0x28], ` HTTP/1.1\r\n${H}\r\n`),
      status: 400,
      who: "deno",
    },
    { name: "NUL in the target", bytes: get("/a\x00b"), status: 400, who: "deno" },
    { name: "a control byte in the target", bytes: get("/a\x01b"), status: 400, who: "deno" },
    { name: "NUL in a header", bytes: get("/x", `${H}X-A: a\x00b\r\n`), status: 400, who: "deno" },
    {
      name: "bytes above 0x7f in a header (obs-text)",
      bytes: bytes(`GET /x HTTP/1.1\r\n${H}X-A: `, [0xff, 0xc3, 0x28], "\r\n\r\n"),
      ...blocked,
    },
    { name: "obs-fold", bytes: get("/x", `${H}X-A: a\r\n b\r\n`), status: 400, who: "deno" },
    {
      name: "TLS hello on the plain port",
      bytes: bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
      status: 400,
      who: "deno",
    },
    // Framing.
    {
      name: "Content-Length and Transfer-Encoding",
      bytes:
        `POST /x HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      status: 400,
      who: "deno",
    },
    {
      name: "two Content-Lengths",
      bytes: `POST /x HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
      status: 400,
      who: "deno",
    },
    {
      name: "a malformed chunk: the connection is closed, nothing is answered",
      bytes: `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
      status: null,
      who: "none",
    },
    {
      name: "a chunked body of 1 MB, well formed",
      bytes: `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n` +
        `10000\r\n${"a".repeat(0x10000)}\r\n`.repeat(16) + "0\r\n\r\n",
      ...blocked,
    },
  ];
}

function check(c: Case, res: RawResponse) {
  assert.equal(res.status, c.status, `${c.name}: ${res.status} ${res.text.slice(0, 200)}`);
  if (c.who === "deno") {
    assert.equal(res.body.length, 0, `${c.name}: Deno's own answer has no body`);
    return;
  }
  if (c.who === "none") return;
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, c.name);
  const body = JSON.parse(res.text);
  if (c.error !== undefined) assert.equal(body.error, c.error, c.name);
  else assert.equal(body.error, undefined, c.name);
  if (c.unscored) {
    assert.equal(res.headers.get("x-taugate-decision"), null, c.name);
  } else if (c.status === 200 || c.status === 403) {
    assert.ok(res.headers.get("x-taugate-decision"), c.name);
    if (c.tenant !== undefined) assert.equal(res.headers.get("x-taugate-tenant"), c.tenant, c.name);
    if (c.head !== undefined) assert.equal(res.headers.get("x-taugate-head"), c.head, c.name);
  } else {
    assert.equal(res.headers.get("x-taugate-decision"), null, `${c.name}: refused before scoring`);
    assert.ok(body.request_id, c.name);
  }
}

Deno.test("Deno entry, raw socket: every request line, host, method, size and framing gets its stated answer", async () => {
  const dir = await Deno.makeTempDir();
  const entry = await startEntry(dir);
  try {
    for (const c of cases(entry.port)) {
      check(c, await rawExchange(entry.port, c.bytes, { closeAfterMs: 5000 }));
    }

    // A body that trickles in holds its own request only: others are served meanwhile.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port: entry.port });
    await slow.write(
      enc.encode(`POST /slow HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\n` + "a".repeat(10)),
    );
    const others = await Promise.all(
      Array.from({ length: 30 }, (_, i) => rawExchange(entry.port, get(`/other?i=${i}`))),
    );
    for (const r of others) assert.equal(r.status, 403);
    // A client that gives up half-way through its body: nothing to answer, nothing broken.
    await slow.write(enc.encode("a".repeat(1000)));
    slow.close();
    const truncated = await rawExchange(
      entry.port,
      `POST /x HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\nabc`,
      { closeAfterMs: 300 },
    );
    assert.equal(truncated.status, null);

    // Still serving, and nothing went unhandled in the entry.
    assert.equal((await rawExchange(entry.port, get("/after"))).status, 403);
    await new Promise((r) => setTimeout(r, 100));
    const out = entry.out();
    assert.ok(!/unhandled|Uncaught|panicked/i.test(out), out.slice(-2000));
    for (const line of out.split("\n").filter((l) => l.includes('"decision":"error"'))) {
      // Only bodies that broke off (the malformed chunk, the clients that left): the client's fault.
      assert.match(JSON.parse(line).error, /^BodyReadError/, line);
    }
  } finally {
    const status = await entry.stop();
    assert.equal(status.code, 0, "stopped cleanly on SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("library middleware on Deno.serve, raw socket: the same cases get the same answers as the worker", async () => {
  // The library's request is canonicalised by the middleware itself (Hono has routed it raw): hosts,
  // dot segments out of an excluded prefix, refused methods and over-long targets are handled as the worker
  // handles them (test/hostile/_library_server.ts).
  const dir = await Deno.makeTempDir();
  const lib = await startEntry(dir, "library");
  try {
    for (const c of cases(lib.port)) {
      check(c, await rawExchange(lib.port, c.bytes, { closeAfterMs: 5000 }));
    }
  } finally {
    await lib.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
