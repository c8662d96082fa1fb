// The tenant API against hostile callers: malformed and oversize uploads, prototype keys, wrong types,
// invalid tenant ids on every route, wrong and foreign tokens, an operator token on a disabled API. Each is a
// 4xx with a JSON reason, and nothing is written: the store is watched for writes, not just read afterwards.
// Tokens never appear in a log line or in any answer after the one that minted them.
// (Single cases with their exact codes: test/api/upload.test.ts and test/api/auth.test.ts.)
import assert from "node:assert/strict";
import { MAX_RECORDS, MAX_UPLOAD_BYTES } from "../../src/record/schema.ts";
import { MemoryTenantStore, type TenantStore } from "../../src/store/mod.ts";
import { createTsEngine } from "../../src/model/mod.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { ADMIN, labelled, testWorld } from "../api/_app.ts";
import { apiModelBytes, attackRecord, benignRecord } from "../api/_model.ts";

const TENANT = "shop-a.test";
const JSONL = "application/x-ndjson";

/** A memory store that counts every write (commit, token put and delete). */
function watchedStore(): { store: TenantStore; writes: () => number; inner: MemoryTenantStore } {
  const inner = new MemoryTenantStore();
  let writes = 0;
  const store: TenantStore = {
    kind: inner.kind,
    atomic: inner.atomic,
    heads: inner.heads,
    learning: inner.learning,
    read: (t) => inner.read(t),
    history: (t) => inner.history(t),
    commit: (t, c, s) => (writes++, inner.commit(t, c, s)),
    getToken: (id) => inner.getToken(id),
    putToken: (id, r) => (writes++, inner.putToken(id, r)),
    deleteToken: (id) => (writes++, inner.deleteToken(id)),
  };
  return { store, writes: () => writes, inner };
}

async function expect4xx(res: Response, what: string, status?: number, error?: string) {
  const text = await res.text();
  assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${text.slice(0, 300)}`);
  if (status !== undefined) assert.equal(res.status, status, `${what}: ${text.slice(0, 300)}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, what);
  const body = JSON.parse(text);
  assert.equal(typeof body.error, "string", what);
  assert.equal(typeof body.reason, "string", what);
  assert.ok(body.reason.length > 0, what);
  if (error !== undefined) assert.equal(body.error, error, `${what}: ${body.reason}`);
}

const good = JSON.stringify({ ...benignRecord(1), label: 0 });
const rec = (extra: Record<string, unknown>) =>
  JSON.stringify({ method: "GET", url: "/a", label: 0, ...extra });
const harOf = (entries: unknown[], extra = {}) =>
  JSON.stringify({ log: { version: "1.2", creator: { name: "t", version: "1" }, entries, ...extra } });
const harEntry = (request: Record<string, unknown>) => ({
  request: { method: "GET", url: "https://shop-a.test/a", headers: [], ...request },
  response: { status: 200 },
});

/** [name, content-type, body, query, status, error]: every upload here must be refused and store nothing. */
const UPLOADS: [string, string, BodyInit, string, number, string?][] = [
  ["an unterminated JSONL line", JSONL, `${good}\n{"method":"GET","url":"/"`, "", 422, "invalid_record"],
  ["a JSONL line that is a string", JSONL, `${good}\n"GET /"`, "", 422, "invalid_record"],
  ["a JSONL line that is null", JSONL, `null\n${good}`, "", 422, "invalid_record"],
  ["a JSONL line that is a number", JSONL, `${good}\n42`, "", 422, "invalid_record"],
  ["a JSONL line that is an array", JSONL, `[${good}]\n${good}`, "", 422],
  ["an unterminated JSON array", "application/json", `[${good},`, "", 422],
  ["a JSON array of numbers", "application/json", "[1,2,3]", "", 422, "invalid_record"],
  ["JSON nested 100,000 deep", "application/json", "[".repeat(100_000) + "]".repeat(100_000), "", 422],
  ["a method that is a number", JSONL, rec({ method: 1 }), "", 422, "invalid_record"],
  ["a method that is not a token", JSONL, rec({ method: "GET /x" }), "", 422, "invalid_record"],
  ["a url that is an array", JSONL, rec({ url: ["/a"] }), "", 422, "invalid_record"],
  ["headers that are a string", JSONL, rec({ headers: "x: y" }), "", 422, "invalid_record"],
  ["a header value that is a number", JSONL, rec({ headers: { a: 1 } }), "", 422, "invalid_record"],
  ["a header name with CRLF", JSONL, rec({ headers: { "a\r\nset-cookie": "x" } }), "", 422, "invalid_record"],
  ["a label that is a string", JSONL, rec({ label: "0" }), "", 422, "invalid_record"],
  ["a label of 2", JSONL, rec({ label: 2 }), "", 422, "invalid_record"],
  ["a body that is an object", JSONL, rec({ body: { a: 1 } }), "", 422, "invalid_record"],
  ["a tenant that is a number", JSONL, rec({ tenant: 5 }), "", 422, "invalid_record"],
  [
    "__proto__ at the top",
    JSONL,
    `${good}\n{"method":"GET","url":"/","label":0,"__proto__":{"polluted":1}}`,
    "",
    422,
    "invalid_record",
  ],
  [
    "constructor at the top",
    JSONL,
    rec({ constructor: { prototype: { polluted: 1 } } }),
    "",
    422,
    "invalid_record",
  ],
  ["prototype at the top", JSONL, rec({ prototype: { polluted: 1 } }), "", 422, "invalid_record"],
  [
    "__proto__ as a header name",
    JSONL,
    `{"method":"GET","url":"/","label":0,"headers":{"__proto__":"x"}}`,
    "",
    422,
    "invalid_record",
  ],
  ["Constructor as a header name", JSONL, rec({ headers: { Constructor: "x" } }), "", 422, "invalid_record"],
  [
    "__proto__ in a JSON array's record",
    "application/json",
    `[${good},{"method":"GET","url":"/","label":0,"__proto__":{"polluted":1}}]`,
    "",
    422,
    "invalid_record",
  ],
  [
    "__proto__ in a HAR's log",
    "application/har+json",
    `{"log":{"__proto__":{"polluted":1},"entries":[]}}`,
    "?label=0",
    422,
  ],
  [
    "a HAR header named __proto__",
    "application/har+json",
    harOf([harEntry({ headers: [{ name: "__proto__", value: "x" }] })]),
    "?label=0",
    422,
  ],
  [
    "a HAR entry whose method is a number",
    "application/har+json",
    harOf([harEntry({ method: 7 })]),
    "?label=0",
    422,
    "invalid_record",
  ],
  ["a HAR without entries", "application/har+json", `{"log":{}}`, "?label=0", 422, "invalid_upload"],
  ["a JSONL upload read as HAR", JSONL, good, "?format=har&label=0", 422],
  ["an empty body", JSONL, "", "", 422, "empty_upload"],
  ["blank lines only", JSONL, "\n\r\n \n", "", 422],
  ["invalid UTF-8", JSONL, new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), "", 422, "invalid_upload"],
  ["records without labels", JSONL, JSON.stringify(benignRecord(1)), "", 422, "no_labelled_record"],
  [
    "1,001 records",
    JSONL,
    Array.from({ length: MAX_RECORDS + 1 }, () => rec({})).join("\n"),
    "",
    413,
    "too_many_records",
  ],
  ["8 MiB + 1 byte", JSONL, new Uint8Array(MAX_UPLOAD_BYTES + 1).fill(0x20), "", 413, "upload_too_large"],
  ["a record over 64 KiB", JSONL, rec({ body: "x".repeat(70_000) }), "", 422, "invalid_record"],
  ["a content type that is not an upload", "text/html", good, "", 415, "unsupported_media_type"],
  [
    "an access log without a label",
    "text/plain",
    '203.0.113.9 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"\n',
    "",
    400,
    "invalid_query",
  ],
  ["no content type", "", good, "", 415, "unsupported_media_type"],
  ["an unknown query parameter", JSONL, good, "?tenant=other.test", 400, "invalid_query"],
  ["a label query of 0 and 1", JSONL, good, "?label=0&label=1", 400, "invalid_query"],
  ["force from a tenant token", JSONL, good, "?force=1", 403, "forbidden"],
];

Deno.test("tenant API: every hostile upload is a 4xx with a JSON reason, and writes nothing", async () => {
  const { store, writes, inner } = watchedStore();
  const w = testWorld({ store });
  const token = await w.mint(TENANT);
  const minted = writes();
  for (const [name, type, body, query, status, error] of UPLOADS) {
    const headers: Record<string, string> = type === "" ? {} : { "content-type": type };
    const res = await w.api(`/tenants/${TENANT}/examples${query}`, {
      method: "POST",
      // force=1 is refused for tenant tokens; everything else is sent with the operator's.
      token: query === "?force=1" ? token : ADMIN,
      headers,
      // Without a content type, bytes (fetch adds text/plain to a string body).
      body: type === "" && typeof body === "string" ? new TextEncoder().encode(body) : body,
    });
    await expect4xx(res, name, status, error);
  }
  // The dry run refuses the same bodies the same way; the import (for review, storing nothing) lists a
  // malformed line as skipped, and refuses what it cannot read at all.
  for (const route of ["score", "import"]) {
    for (const [name, type, body] of UPLOADS.filter(([n]) => /unterminated|invalid UTF-8|8 MiB/.test(n))) {
      const res = await w.api(`/tenants/${TENANT}/${route}`, {
        method: "POST",
        headers: type === "" ? {} : { "content-type": type },
        body,
      });
      if (route === "import" && name.includes("unterminated")) {
        assert.equal(res.status, 200);
        assert.ok((await res.json()).skipped.length >= 1, name);
      } else await expect4xx(res, `${route}: ${name}`);
    }
  }
  assert.equal(writes(), minted, "no upload wrote anything");
  assert.equal((await inner.read(TENANT)).active, null);
  assert.deepEqual(await inner.history(TENANT), []);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "no prototype was polluted");
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted"), false);
  // And a good upload still works afterwards.
  const ok = await w.upload(TENANT, labelled([benignRecord(1), benignRecord(2)], 0));
  assert.equal(ok.status, 201);
});

const ROUTES: [string, string][] = [
  ["POST", "/examples"],
  ["GET", "/head"],
  ["DELETE", "/head"],
  ["POST", "/head/rollback"],
  ["POST", "/score"],
  ["POST", "/import"],
  ["POST", "/tokens"],
  ["DELETE", "/tokens/0123456789abcdef"],
];

/** Tenant ids that are not ids, as they appear in the path. */
const BAD_IDS = [
  "..%2F..%2Fetc%2Fpasswd",
  "a%2Fb",
  "..%5C..%5Cx",
  "a%0D%0Ab",
  "a%0d%0aset-cookie:%20x=1",
  "a%00",
  "a%20b",
  "%E2%80%AEmoc.a", // right-to-left override
  "Shop-A.test",
  "shop_a.test",
  "-a.test",
  "a-.test",
  "a..test",
  "x".repeat(64) + ".test",
  ("a".repeat(60) + ".").repeat(5) + "test", // 309 characters
  "%5B%3A%3A1%5D",
  "shop-a.test:443",
  "u@shop-a.test",
  "*",
  "%2A",
  "sh%C3%B6p.test",
  "%2e%2e",
];

Deno.test("tenant API: invalid tenant ids (traversal, CRLF, NUL, case, length) on every route: 4xx, no storage call", async () => {
  const { store, inner } = watchedStore();
  let calls = 0;
  const counting: TenantStore = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (...a: unknown[]) => (calls++, v.apply(target, a)) : v;
    },
  });
  const w = testWorld({ store: counting });
  for (const id of BAD_IDS) {
    for (const [method, route] of ROUTES) {
      const res = await w.api(`/tenants/${id}${route}`, {
        method,
        headers: { "content-type": JSONL },
        body: method === "POST" ? good : undefined,
      });
      const what = `${method} /tenants/${id}${route}`;
      await expect4xx(res, what);
      // Dot segments are resolved by the URL parser before routing: those paths name no route (404).
      assert.ok(res.status === 400 || res.status === 404, `${what}: ${res.status}`);
      for (const [name] of res.headers) assert.ok(name !== "set-cookie", `${what}: no injected header`);
    }
  }
  assert.equal(calls, 0, "no storage call was made with an invalid id");
  assert.equal((await inner.read(TENANT)).active, null);
});

Deno.test("tokens: none, wrong, another tenant's, an operator token on a disabled API: 401 or 403, never in", async () => {
  const w = testWorld();
  const a = await w.mint(TENANT);
  const b = await w.mint("shop-b.test");
  const flipped = a.slice(0, -1) + (a.endsWith("0") ? "1" : "0");
  const cases: [string, string | null, number][] = [
    ["no token", null, 401],
    ["an empty bearer", "", 401],
    ["a wrong operator token", ADMIN.slice(0, -1) + "x", 401],
    ["the operator token's first half", ADMIN.slice(0, 20), 401],
    ["a tenant token with one digit changed", flipped, 401],
    ["a tenant token in upper case", a.toUpperCase(), 401],
    ["another tenant's token", b, 403],
  ];
  for (const [method, route] of ROUTES) {
    for (const [name, token, status] of cases) {
      const headers: Record<string, string> = { "content-type": JSONL };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const res = await w.api(`/tenants/${TENANT}${route}`, {
        method,
        token: null,
        headers,
        body: method === "POST" ? good : undefined,
      });
      await expect4xx(res, `${method} ${route}, ${name}`, status);
    }
  }
  // With the API off, the operator's token opens nothing, and the request goes nowhere (not to the origin).
  let forwarded = 0;
  const ac = new AbortController();
  const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} }, () => {
    forwarded++;
    return new Response("origin");
  });
  try {
    for (const extra of [{}, { ORIGIN: `http://127.0.0.1:${origin.addr.port}` }]) {
      const off = createWorkerApp({
        config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_MODE: "log", ...extra }),
        engine: createTsEngine(apiModelBytes()),
        logSink: () => {},
      });
      for (const [method, route] of ROUTES) {
        const res = await off.request(`http://${TENANT}/_taugate/tenants/${TENANT}${route}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": JSONL },
          body: method === "POST" ? good : undefined,
        });
        await expect4xx(res, `API off: ${method} ${route}`, 403, "api_disabled");
      }
    }
  } finally {
    ac.abort();
    await origin.finished;
  }
  assert.equal(forwarded, 0, "nothing under /_taugate reached the origin");
});

Deno.test("tokens never appear in a log line, on the console, or in any answer after the one that minted them", async () => {
  // The whole token, and any third of its secret.
  const secretsOf = (t: string) => {
    const s = t.slice(t.lastIndexOf("_") + 1);
    return [t, s.slice(0, 22), s.slice(21, 43), s.slice(42)];
  };
  const printed: string[] = [];
  const originals = { ...console };
  for (const k of ["log", "info", "warn", "error", "debug"] as const) {
    console[k] = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
  }
  const answers: string[] = [];
  try {
    const { store } = watchedStore();
    const w = testWorld({ store, env: { TAUGATE_LOG_SAMPLE: "1" } });
    const keep = async (res: Response | Promise<Response>) => {
      const r = await res;
      answers.push(`${r.status} ${JSON.stringify([...r.headers])} ${await r.text()}`);
      return r;
    };
    const a = await w.mint(TENANT); // the minting answers are the only ones allowed to hold a token
    const b = await w.mint("shop-b.test");
    const aId = a.slice(4, 20);
    const jsonl = (recs: object[]) => ({
      method: "POST",
      headers: { "content-type": JSONL },
      body: recs.map((r) => JSON.stringify(r)).join("\n"),
    });
    const recs = [
      ...labelled([benignRecord(1), benignRecord(2), benignRecord(5)], 0),
      ...labelled([attackRecord(1)], 1),
    ];
    await keep(w.api(`/tenants/${TENANT}/examples`, { ...jsonl(recs), token: a }));
    await keep(w.api(`/tenants/${TENANT}/examples`, { ...jsonl(recs.slice(0, 2)), token: a }));
    await keep(w.api(`/tenants/${TENANT}/score`, { ...jsonl(recs), token: a }));
    await keep(w.api(`/tenants/${TENANT}/import`, { ...jsonl(recs), token: a }));
    await keep(w.api(`/tenants/${TENANT}/head`, { token: a }));
    await keep(w.api(`/tenants/${TENANT}/head/rollback`, { method: "POST", token: a }));
    await keep(w.api(`/tenants/${TENANT}/head/rollback`, { method: "POST", token: a })); // 409
    await keep(w.api(`/tenants/${TENANT}/head`, { method: "DELETE", token: a }));
    await keep(w.api(`/tenants/${TENANT}/head`, { token: b })); // 403
    await keep(w.api(`/tenants/shop-b.test/tokens`, { method: "POST", token: b })); // 403
    await keep(w.api(`/tenants/${TENANT}/head`, { token: a.slice(0, -1) + "0" }));
    await keep(w.api(`/tenants/${TENANT}/head`, { token: `${a} extra` }));
    await keep(w.api(`/tenants/${TENANT}/examples?x=${a}`, { ...jsonl(recs), token: a }));
    await keep(w.api(`/nope/${ADMIN}`, { token: ADMIN }));
    // The hot path with tokens in its credentials: the log carries none, the echo redacts them.
    await keep(w.app.request(`http://${TENANT}/account`, {
      headers: { authorization: `Bearer ${a}`, cookie: `session=${b}` },
    }));
    await keep(w.app.request(`http://${TENANT}/x?q=<script>alert(1)</script>`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    }));
    await keep(w.api(`/tenants/${TENANT}/tokens/${aId}`, { method: "DELETE" }));
    await keep(w.api(`/tenants/${TENANT}/head`, { token: a })); // revoked: 401
    assert.equal(answers.length, 18);
    const lines = [...w.audit, ...printed];
    assert.ok(lines.some((l) => l.includes('"action":"upload"')), "the audit log was written");
    assert.ok(lines.some((l) => l.includes(`token:${aId}`)), "audit lines name tokens by id");
    for (const secret of [ADMIN, ...secretsOf(a), ...secretsOf(b)]) {
      for (const l of lines) assert.ok(!l.includes(secret), `a secret in a log line: ${l.slice(0, 200)}`);
      for (const x of answers) assert.ok(!x.includes(secret), `a secret in an answer: ${x.slice(0, 300)}`);
    }
  } finally {
    Object.assign(console, originals);
  }
});
