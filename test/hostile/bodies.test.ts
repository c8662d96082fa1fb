// Bodies are forwarded byte for byte (SHA-256) whatever their type and size, over real HTTP: through the echo
// app and through ORIGIN forwarding, in tag mode (every request flagged and let through) and block mode
// (none flagged); a blocked request's body is never forwarded. The body cap only bounds what the features
// read (test/middleware covers a 2 KB form beyond a 1 KB cap; test/worker a 10 MB body each way).
import assert from "node:assert/strict";
import { FEATURE_SPEC } from "../../src/features/mod.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { randomBytes, serving, sha256Hex, world } from "./_world.ts";

const CAP = FEATURE_SPEC.caps.body;
const te = new TextEncoder();

interface Kind {
  name: string;
  type: string;
  bytes: () => Uint8Array<ArrayBuffer>;
  /** Sent as a stream that yields its chunks slowly, without a content-length. */
  streamed?: true;
  /** Only in tag mode (the big one, a few times rather than in every combination). */
  once?: true;
}

const multipart = () => {
  const head = te.encode(
    '--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\n<script>alert(1)</script>\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n' +
      "Content-Type: application/octet-stream\r\n\r\n",
  );
  const file = randomBytes(30_000, 7);
  const tail = te.encode("\r\n--XyZ--\r\n");
  const out = new Uint8Array(head.length + file.length + tail.length);
  out.set(head), out.set(file, head.length), out.set(tail, head.length + file.length);
  return out;
};

const KINDS: Kind[] = [
  {
    name: "form",
    type: "application/x-www-form-urlencoded",
    bytes: () => te.encode("user=bob&q=" + encodeURIComponent("1' OR '1'='1") + "&x=%ZZ%C3%28+"),
  },
  {
    name: "JSON",
    type: "application/json",
    bytes: () => te.encode(JSON.stringify({ a: [1, { b: "<img src=x onerror=alert(1)>" }], "é": "ü\u0000" })),
  },
  { name: "multipart with a binary file", type: "multipart/form-data; boundary=XyZ", bytes: multipart },
  { name: "UTF-8 text", type: "text/plain; charset=utf-8", bytes: () => te.encode("héllo 🌍 ".repeat(500)) },
  {
    name: "100 KB of random bytes (invalid UTF-8)",
    type: "application/octet-stream",
    bytes: () => randomBytes(100_000, 3),
  },
  { name: "empty", type: "text/plain", bytes: () => new Uint8Array(0) },
  { name: "exactly the cap", type: "application/octet-stream", bytes: () => randomBytes(CAP, 5) },
  { name: "the cap plus one", type: "application/octet-stream", bytes: () => randomBytes(CAP + 1, 6) },
  {
    name: "a slow stream of 300 KB, no length",
    type: "application/octet-stream",
    bytes: () => randomBytes(300_000, 9),
    streamed: true,
  },
  {
    name: "20 MB",
    type: "application/octet-stream",
    bytes: () => randomBytes(20 * 1024 * 1024, 11),
    once: true,
  },
];

/** A stream of `bytes` in uneven chunks, one every few ms. */
function slowStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0, i = 0;
  return new ReadableStream({
    async pull(c) {
      if (at >= bytes.length) return c.close();
      await new Promise((r) => setTimeout(r, 2));
      const n = Math.min(bytes.length - at, 1000 + ((i++ * 7919) % 30_000));
      c.enqueue(bytes.slice(at, at += n));
    },
  });
}

/** An origin that hashes what it receives, streamed. */
function origin(seen: { bytes: number; sha256: string; type: string | null }[]): Deno.ServeHandler {
  return async (req) => {
    const h = sha256.create();
    let bytes = 0;
    for await (const c of req.body ?? []) h.update(c), bytes += c.byteLength;
    const got = { bytes, sha256: bytesToHex(h.digest()), type: req.headers.get("content-type") };
    seen.push(got);
    return Response.json({ body_bytes: got.bytes, body_sha256: got.sha256 });
  };
}

Deno.test("bodies: byte-exact through the echo app and through ORIGIN, tag and block modes, every type and size", async () => {
  const seen: { bytes: number; sha256: string; type: string | null }[] = [];
  await serving(origin(seen), async (originBase) => {
    for (const via of ["echo", "origin"] as const) {
      // τ = 0 flags every request (tag mode lets it through); τ = 1 flags none (block mode lets it through).
      for (const [mode, tau] of [["tag", "0"], ["block", "1"]] as const) {
        const env: Record<string, string> = { TAUGATE_MODE: mode, TAUGATE_TAU: tau };
        if (via === "origin") env.ORIGIN = originBase;
        const w = world(env);
        await serving(w.app.fetch, async (base) => {
          for (const kind of KINDS) {
            if (kind.once && mode !== "tag") continue;
            const bytes = kind.bytes();
            const want = await sha256Hex(bytes);
            const before = seen.length;
            const res = await fetch(`${base}/upload?kind=${encodeURIComponent(kind.name)}`, {
              method: "POST",
              headers: { "content-type": kind.type },
              body: kind.streamed ? slowStream(bytes) : bytes,
              duplex: "half",
            } as RequestInit);
            const what = `${via}, ${mode}, ${kind.name}`;
            assert.equal(res.status, 200, what);
            assert.equal(res.headers.get("x-taugate-decision"), mode === "tag" ? "tag" : "allow", what);
            const out = await res.json();
            assert.equal(out.body_bytes, bytes.length, what);
            assert.equal(out.body_sha256, want, what);
            if (via === "origin") {
              assert.equal(seen.length, before + 1, what);
              assert.equal(seen[before].type, kind.type, what);
            }
          }
        });
        assert.ok(!w.lines.some((l) => l.includes('"decision":"error"')), `${via} ${mode}: all scored`);
      }
    }
  });
});

Deno.test("bodies: a blocked request's body is never forwarded; the client gets its 403 whatever the size", async () => {
  const seen: { bytes: number; sha256: string; type: string | null }[] = [];
  await serving(origin(seen), async (originBase) => {
    const w = world({ TAUGATE_MODE: "block", TAUGATE_TAU: "0", ORIGIN: originBase });
    await serving(w.app.fetch, async (base) => {
      for (const size of [0, 100, CAP + 1, 5 * 1024 * 1024]) {
        const res = await fetch(`${base}/upload`, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: randomBytes(size),
        }).catch((e) => e as Error);
        // The server may answer before it has read the upload; the client still gets the 403.
        assert.ok(res instanceof Response, `${size} bytes: ${res}`);
        assert.equal(res.status, 403, `${size} bytes`);
        assert.equal((await res.json()).error, "blocked");
      }
      // A streamed upload too, cut short by the answer: never read past the cap.
      const res = await fetch(`${base}/upload`, {
        method: "POST",
        body: slowStream(randomBytes(200_000)),
        duplex: "half",
      } as RequestInit);
      assert.equal(res.status, 403);
      await res.body?.cancel();
    });
    assert.equal(seen.length, 0, "the origin never saw a blocked request");
  });
});
