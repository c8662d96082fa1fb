// Whole requests, built by fast-check, through the real worker app (canonical URL, API guard, middleware,
// TypeScript engine, echo): every one gets an answer that is a decision or a clear 4xx, never a 5xx and never
// an unhandled rejection, the echo gets the body byte for byte, and the work done per request is bounded by
// the feature spec's caps, whatever the request's size (counted, not timed).
import assert from "node:assert/strict";
import fc from "fast-check";
import { Hono } from "hono";
import { INSPECT_BYTES, lastExtractionWork, MAX_OVERFLOW_VIEWS } from "../../src/features/mod.ts";
import { taugate, type TaugateEnv } from "../../src/middleware/mod.ts";
import type { SparseFeatures } from "../../src/model/types.ts";
import { MAX_TARGET_BYTES } from "../../src/middleware/canonical.ts";
import { countingStream, extractionBound, sha256Hex, tsEngine, world } from "./_world.ts";

const BOUND = extractionBound();

/** The TypeScript engine, counting its calls and the non-zero features it was given. */
function countingEngine() {
  const e = tsEngine();
  const counted = {
    kind: e.kind,
    meta: e.meta,
    calls: 0,
    maxNnz: 0,
    embedSync(f: SparseFeatures) {
      counted.calls++;
      counted.maxNnz = Math.max(counted.maxNnz, f.nnz ?? f.indices.length);
      return e.embedSync(f);
    },
    embed(f: SparseFeatures) {
      try {
        return Promise.resolve(counted.embedSync(f));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
  return counted;
}

/** Unhandled rejections seen while `f` runs (the test fails on any). */
async function noUnhandledRejections(f: () => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    seen.push(e.reason);
    e.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    await f();
    await new Promise((r) => setTimeout(r, 20)); // let late rejections surface
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
  assert.deepEqual(seen.map(String), [], "no unhandled rejection");
}

// ---- generators ------------------------------------------------------------------------------------------

/** Pieces of text the decoder, the URL parser and the router react to. */
const piece = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "%",
      "%%",
      "%z",
      "%G1",
      "%0",
      "%00",
      "%0a",
      "%0D%0A",
      "%C3%28", // invalid UTF-8
      "%ED%A0%80", // an encoded surrogate
      "%F4%90%80%80", // beyond U+10FFFF
      "%FF%FE",
      "%25",
      "%252e%252e%252f",
      "%u0041",
      "%uD800",
      "\\u003c",
      "\\x3c",
      "&#x3c;",
      "&lt",
      "+",
      "..",
      "./",
      "..%2f",
      "%2e%2e/",
      "//",
      "\\",
      "<script>",
      "'",
      '"',
      "`",
      "{{7*7}}",
      "${",
      "/*",
      "*/",
      "ﷺ", // NFKC: 18 characters
      "＜",
      "İ",
      "\ufffd",
      "\ud800",
      "\u0000",
      "\u0001",
      "\u007f",
      "#",
      "?",
      "&",
      "=",
      ";",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 4 }) },
);
const text = fc.array(piece, { maxLength: 30 }).map((p) => p.join(""));
/** Runs of one hostile unit, up to tens of KB: long enough to show a quadratic step, if there were one. */
const run = fc.tuple(
  fc.constantFrom("%", "%C3%28", "%25", "a", "/", "..%2f", "&a=", "%u", "[", "ﷺ"),
  fc.integer({ min: 1, max: 6000 }),
).map(([u, n]) => u.repeat(n));

const host = fc.constantFrom(
  "shop.example.com",
  "SHOP.Example.COM",
  "[::1]:8080",
  "[2001:db8::1]",
  "[::ffff:127.0.0.1]",
  "127.0.0.1:9",
  "0x7f.1",
  "xn--bcher-kva.example",
  "bücher.example",
  "a.b-c.example:65535",
);

const url = fc.tuple(
  fc.constantFrom("http", "https"),
  host,
  fc.oneof(text, run),
  fc.option(fc.oneof(text, run, fc.integer({ min: 0, max: 3000 }).map((n) => "k=v&".repeat(n))), {
    nil: undefined,
  }),
).map(([scheme, h, path, query]) => `${scheme}://${h}/${path}${query === undefined ? "" : "?" + query}`)
  .filter((u) => URL.canParse(u));

/** Text as a server delivers header bytes: its UTF-8 bytes as Latin-1 characters, without NUL, CR or LF. */
const asHeaderBytes = (t: string) =>
  Array.from(
    new TextEncoder().encode(t),
    (b) => b === 0 || b === 10 || b === 13 ? " " : String.fromCharCode(b),
  )
    .join("");

/** Header values as `Headers` takes them. */
const headerValue = fc.oneof(
  { weight: 6, arbitrary: text.map(asHeaderBytes) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 65_536 }).map((n) => "A".repeat(n)) },
);
const headers = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      "cookie",
      "user-agent",
      "referer",
      "accept",
      "x-forwarded-for",
      "x-taugate-decision",
      "x-taugate-score",
      "cf-ray",
      "authorization",
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  ),
  headerValue,
  { maxKeys: 12 },
);

const contentType = fc.constantFrom(
  "application/x-www-form-urlencoded",
  "application/json",
  "multipart/form-data",
  "multipart/form-data; boundary=",
  'multipart/form-data; boundary="b"',
  "multipart/form-data; boundary=" + "b".repeat(300),
  "text/plain; charset=utf-16",
  "application/octet-stream",
  "x/y; ;;;=",
  "",
);

/** Bodies: text, random bytes (never valid UTF-8 for long), deep JSON, broken multipart, many parameters. */
const body = fc.oneof(
  text.map((t) => new TextEncoder().encode(t)),
  fc.uint8Array({ maxLength: 20_000 }),
  fc.integer({ min: 1, max: 20_000 }).map((d) =>
    new TextEncoder().encode("[".repeat(d) + "1" + "]".repeat(d))
  ),
  fc.integer({ min: 1, max: 20_000 }).map((d) => new TextEncoder().encode('{"a":'.repeat(d))),
  fc.integer({ min: 0, max: 600 }).map((n) =>
    new TextEncoder().encode(
      "--b\r\n" + 'Content-Disposition: form-data; name="x"\r\n\r\nv\r\n--b\r\n'.repeat(n) + "--",
    )
  ),
  fc.integer({ min: 0, max: 5000 }).map((n) => new TextEncoder().encode("a=%ZZ&".repeat(n))),
);

const request = fc.record({
  method: fc.constantFrom(
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "PROPFIND",
    "FOO",
    "get",
  ),
  url,
  headers,
  contentType,
  body: fc.option(body, { nil: undefined }),
});

type Gen = typeof request extends fc.Arbitrary<infer T> ? T : never;

function build(r: Gen): { req: Request; sent: Uint8Array<ArrayBuffer> | undefined } {
  const h = new Headers(r.headers);
  if (r.contentType !== "") h.set("content-type", r.contentType);
  const sent = r.method === "GET" || r.method === "get" || r.method === "HEAD"
    ? undefined
    : (r.body as Uint8Array<ArrayBuffer> | undefined);
  return { req: new Request(r.url, { method: r.method, headers: h, body: sent }), sent };
}

/** The canonical target's length, as the worker measures it. */
function targetLength(u: string): number {
  const p = new URL(u);
  return p.href.length - p.origin.length - p.hash.length;
}

for (const mode of ["block", "tag"] as const) {
  Deno.test(`property (${mode}): any request gets a decision or a clear 4xx; bodies reach the echo byte-exact; work stays within the caps`, async () => {
    const engine = countingEngine();
    const w = world({ TAUGATE_MODE: mode }, { engine });
    const seen = new Map<number, number>();
    await noUnhandledRejections(async () => {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const { req, sent } = build(r);
          const calls = engine.calls;
          const res = await w.app.fetch(req);
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          const decision = res.headers.get("x-taugate-decision");
          if (res.status === 414) {
            assert.ok(targetLength(r.url) > MAX_TARGET_BYTES, "414 only over the limit");
            assert.equal((await res.json()).error, "uri_too_long");
            assert.equal(engine.calls, calls, "refused before scoring");
            return;
          }
          assert.ok(targetLength(r.url) <= MAX_TARGET_BYTES);
          if (!(res.status === 200 || (res.status === 403 && mode === "block"))) {
            assert.fail(`status ${res.status}: ${await res.text()}`);
          }
          assert.ok(decision === "allow" || decision === mode, `decision ${decision}`);
          // One engine call per request, and one per overflow view of a request past the caps.
          assert.ok(
            engine.calls - calls >= 1 && engine.calls - calls <= 1 + MAX_OVERFLOW_VIEWS,
            `${engine.calls - calls} engine calls`,
          );
          const work = lastExtractionWork();
          assert.ok(work.chars <= BOUND.chars, `${work.chars} chars`);
          assert.ok(work.fields <= BOUND.fields, `${work.fields} fields`);
          if (res.status === 200 && r.method !== "HEAD") {
            const echo = await res.json();
            const bytes = sent ?? new Uint8Array();
            assert.equal(echo.body_bytes, bytes.length);
            assert.equal(echo.body_sha256, await sha256Hex(bytes as Uint8Array<ArrayBuffer>));
            // A client's own decision headers never reach the app as if taugate had set them.
            if (mode === "block") assert.equal(echo.headers["x-taugate-decision"], undefined);
            else assert.equal(echo.headers["x-taugate-decision"], decision);
          } else {
            await res.body?.cancel();
          }
        }),
        { numRuns: mode === "block" ? 300 : 150, seed: mode === "block" ? 4207 : 4208 },
      );
    });
    assert.ok(engine.maxNnz <= 4096, `${engine.maxNnz} non-zero features`);
    assert.ok(!w.lines.some((l) => l.includes('"decision":"error"')), "no request failed to score");
    // The generators reach both sides of the 16 KiB target limit.
    assert.ok((seen.get(414) ?? 0) > 0 && (seen.get(200) ?? 0) > 0, JSON.stringify([...seen]));
  });
}

Deno.test("whole requests at the issue's sizes: 20,000 parameters, a 64 KB header, deep JSON, multipart without a boundary", async () => {
  await noUnhandledRejections(async () => {
    const engine = countingEngine();
    const w = world({ TAUGATE_MODE: "tag" }, { engine });
    // The library middleware refuses what the worker refuses (the same canonical step) ...
    const lines: string[] = [];
    const library = (maxTargetBytes?: number) => {
      const app = new Hono<TaugateEnv>();
      app.use(
        "*",
        taugate({
          engine,
          mode: "tag",
          exposeToClient: true,
          log: { sample: 1, sink: (l) => lines.push(l) },
          maxTargetBytes,
        }),
      );
      app.all("*", async (c) => new Response(String((await c.req.arrayBuffer()).byteLength)));
      return app;
    };
    const bare = library(1 << 20);

    const params = Array.from({ length: 20_000 }, (_, i) => `k${i}=v${i}`).join("&");
    for (const app of [w.app, library()]) {
      const big = await app.request(`http://shop.example.com/p?${params}`);
      assert.equal(big.status, 414, "the worker and the library refuse a 260 KB target");
      assert.equal((await big.json()).error, "uri_too_long");
    }
    // ... and, told to accept it, scores it with its work capped.
    const scored = await bare.request(`http://shop.example.com/p?${params}`);
    assert.equal(scored.headers.get("x-taugate-decision") !== null, true);
    assert.ok(lastExtractionWork().fields <= BOUND.fields && lastExtractionWork().chars <= BOUND.chars);

    const cases: [string, RequestInit][] = [
      ["a 64 KB header", { headers: { "x-big": "A".repeat(65_536), cookie: "a=" + "b".repeat(65_000) } }],
      ["128 headers of 8 KB", {
        headers: Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`x-h${i}`, "v".repeat(8192)])),
      }],
      ["JSON nested 200,000 deep", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "[".repeat(200_000) + "]".repeat(200_000),
      }],
      ["multipart without a boundary", {
        method: "POST",
        headers: { "content-type": "multipart/form-data" },
        body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n<script>\r\n--x--\r\n'.repeat(5000),
      }],
      ["multipart with 20,000 empty parts", {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=b" },
        body: "--b\r\n\r\n\r\n".repeat(20_000) + "--b--",
      }],
      ["a form of 20,000 parameters", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: params,
      }],
      ["16 KiB of '%'", {}],
    ];
    for (const [name, init] of cases) {
      const path = name === "16 KiB of '%'" ? "/" + "%".repeat(MAX_TARGET_BYTES - 1) : "/p";
      for (const app of [w.app, bare]) {
        const calls = engine.calls;
        const res = await app.request("http://shop.example.com" + path, init);
        assert.equal(res.status, 200, name);
        assert.ok(["allow", "tag"].includes(res.headers.get("x-taugate-decision")!), name);
        await res.body?.cancel();
        assert.ok(engine.calls - calls >= 1 && engine.calls - calls <= 1 + MAX_OVERFLOW_VIEWS, name);
        const work = lastExtractionWork();
        assert.ok(work.chars <= BOUND.chars, `${name}: ${work.chars} chars`);
        assert.ok(work.fields <= BOUND.fields, `${name}: ${work.fields} fields`);
      }
    }
    assert.ok(!w.lines.concat(lines).some((l) => l.includes('"decision":"error"')));
  });
});

Deno.test("a 20 MB body: the middleware pulls at most its cap (plus one chunk) before deciding", async () => {
  const chunk = 64 * 1024;
  for (const [mode, tau] of [["block", "0"], ["block", "1"], ["tag", "0"], ["log", "0"]] as const) {
    // tau 0 flags every request, tau 1 none: the decision does not depend on the model's scores.
    let pulledAtHandler = -1;
    const { stream, pulled, cancelled } = countingStream(20 * 1024 * 1024, chunk);
    const app = new Hono<TaugateEnv>();
    app.use("*", taugate({ engine: tsEngine(), mode, tau: Number(tau), log: false }));
    app.all("*", async (c) => {
      pulledAtHandler = pulled();
      let n = 0;
      for await (const b of c.req.raw.body!) n += b.length;
      return new Response(String(n));
    });
    const res = await app.request("http://shop.example.com/upload", {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit);
    const blocked = mode === "block" && tau === "0";
    assert.equal(res.status, blocked ? 403 : 200, `${mode} τ=${tau}`);
    if (blocked) {
      await res.body?.cancel();
      // Never forwarded: what was not read for the features stays unread (a server drains or closes it).
      assert.equal(pulledAtHandler, -1);
      assert.ok(pulled() <= 8192 + 2 * chunk, `${pulled()} bytes pulled for a blocked request`);
      assert.equal(cancelled(), false, "the request's own stream is left to the server");
    } else {
      assert.equal(await res.text(), String(20 * 1024 * 1024), "the handler gets every byte");
      assert.ok(pulledAtHandler <= 8192 + 2 * chunk, `${pulledAtHandler} bytes pulled before the handler`);
    }
  }
});

Deno.test("odd methods through the worker: scored like any other; CONNECT, TRACE and TRACK refused (405)", async () => {
  const w = world({ TAUGATE_MODE: "tag" });
  for (const method of ["PROPFIND", "MKCOL", "FOO", "get", "X".repeat(200), "M-SEARCH", "BASELINE-CONTROL"]) {
    const res = await w.app.request("http://shop.example.com/x", { method });
    assert.equal(res.status, 200, method);
    assert.ok(res.headers.get("x-taugate-decision"), method);
    assert.equal((await res.json()).method, method === "get" ? "GET" : method);
  }
  // The Request constructor refuses these three; a server hands them over (see socket.test.ts).
  const { canonicalRequest } = await import("../../src/middleware/canonical.ts");
  for (const method of ["CONNECT", "TRACE", "TRACK", "trace"]) {
    const fake = { method, url: "http://shop.example.com/", headers: new Headers() } as Request;
    const out = canonicalRequest(fake);
    assert.ok(!(out instanceof Request) && out.status === 405, method);
  }
});

Deno.test("a body that breaks off: 400 bad_request from the middleware within the cap, from the echo beyond it; never a 5xx", async () => {
  // The middleware reads a body up to the bytes its overflow views inspect (past the features' cap).
  const cap = INSPECT_BYTES;
  /** A body that yields `good` bytes, then fails as a client's connection does. */
  const broken = (good: number) => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= good) return c.error(new TypeError("connection reset"));
        const n = Math.min(4096, good - sent);
        sent += n;
        c.enqueue(new Uint8Array(n).fill(0x61));
      },
    }, { highWaterMark: 0 });
  };
  await noUnhandledRejections(async () => {
    for (const mode of ["block", "tag", "log", "off"] as const) {
      for (const failMode of ["open", "closed"] as const) {
        // τ = 1: nothing is blocked, so a request whose body breaks off beyond the cap reaches the echo.
        const w = world({ TAUGATE_MODE: mode, TAUGATE_FAIL_MODE: failMode, TAUGATE_TAU: "1" });
        for (const good of [0, 100, cap - 1, cap + 50_000]) {
          const what = `${mode}, ${failMode}, ${good} bytes`;
          const res = await w.app.fetch(
            new Request("http://shop.example.com/upload", {
              method: "POST",
              body: broken(good),
              duplex: "half",
            } as RequestInit),
          );
          assert.equal(res.status, 400, what);
          const body = await res.json();
          assert.equal(body.error, "bad_request", what);
          assert.equal(body.reason, "the request body could not be read", what);
          const byMiddleware = mode !== "off" && good < cap;
          assert.equal(
            res.headers.get("x-taugate-decision"),
            byMiddleware ? "error" : mode === "off" ? null : "allow",
          );
          assert.equal(typeof body.request_id, byMiddleware ? "string" : "undefined", what);
        }
        if (mode !== "off") {
          const errors = w.lines.filter((l) => l.includes('"decision":"error"')).map((l) =>
            JSON.parse(l).error
          );
          assert.equal(errors.length, 3, `${mode} ${failMode}: the three breaks within the cap are logged`);
          for (const e of errors) assert.match(e, /^BodyReadError/);
        }
      }
    }
  });
});
