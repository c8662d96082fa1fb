import assert from "node:assert/strict";
import {
  MAX_RECORD_BYTES,
  MAX_RECORDS,
  MAX_UPLOAD_BYTES,
  parseRecord,
  recordSchema,
  type RequestRecord,
} from "../../src/record/mod.ts";

const base = { method: "GET", url: "/a?b=1" };

function error(value: unknown): string {
  const r = parseRecord(value);
  assert.equal(r.ok, false, `expected a rejection of ${JSON.stringify(value)?.slice(0, 80)}`);
  return (r as { error: string }).error;
}

function ok(value: unknown): RequestRecord {
  const r = parseRecord(value);
  if (!r.ok) assert.fail(`expected acceptance, got: ${r.error}`);
  return r.record;
}

Deno.test("schema: the limits are the tenant API's", () => {
  assert.equal(MAX_RECORD_BYTES, 65536);
  assert.equal(MAX_RECORDS, 1000);
  assert.equal(MAX_UPLOAD_BYTES, 8 * 1024 * 1024);
});

Deno.test("schema: a full record passes unchanged; unknown keys are dropped", () => {
  const full: RequestRecord = {
    method: "POST",
    url: "http://shop.example.com/cart?id=3",
    headers: { "content-type": "application/x-www-form-urlencoded", "User-Agent": "curl/8" },
    body: "id=3&qty=2",
    label: 0,
    family: "benign",
    tenant: "shop-1",
  };
  assert.deepEqual(ok(full), full);
  assert.deepEqual(ok({ ...base, name: "fixture-1", extra: { deep: [1] } }), base);
  assert.deepEqual(recordSchema.parse({ ...base, label: 1 }), { ...base, label: 1 });
});

Deno.test("schema: method is an HTTP token of 1-32 characters", () => {
  assert.equal(ok({ ...base, method: "M".repeat(32) }).method, "M".repeat(32));
  assert.equal(ok({ ...base, method: "PROPFIND" }).method, "PROPFIND");
  assert.equal(error({ ...base, method: "M".repeat(33) }), "method: at most 32 characters");
  assert.equal(error({ ...base, method: "" }), "method: empty");
  assert.equal(
    error({ ...base, method: "GET /" }),
    "method: not an HTTP token (A-Z a-z 0-9 !#$%&'*+-.^_`|~)",
  );
  assert.equal(error({ url: "/" }), "method: Invalid input: expected string, received undefined");
});

Deno.test("schema: url is 1-8192 characters", () => {
  ok({ ...base, url: "/" + "a".repeat(8191) });
  assert.equal(error({ ...base, url: "/" + "a".repeat(8192) }), "url: at most 8192 characters");
  assert.equal(error({ ...base, url: "" }), "url: empty");
  assert.equal(error({ ...base, url: 5 }), "url: Invalid input: expected string, received number");
});

Deno.test("schema: at most 100 headers, names are tokens of 1-256 characters, values at most 16384", () => {
  const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-h${i}`, "v"]));
  assert.equal(Object.keys(ok({ ...base, headers: hundred }).headers!).length, 100);
  assert.equal(
    error({ ...base, headers: { ...hundred, "x-one-more": "v" } }),
    "headers: 101 headers, at most 100 allowed",
  );
  ok({ ...base, headers: { ["n".repeat(256)]: "v" } });
  assert.equal(
    error({ ...base, headers: { ["n".repeat(257)]: "v" } }),
    `headers[${JSON.stringify("n".repeat(40) + "…")}]: name over 256 characters`,
  );
  assert.equal(
    error({ ...base, headers: { "bad name": "v" } }),
    'headers["bad name"]: name is not an HTTP token',
  );
  assert.equal(error({ ...base, headers: { "": "v" } }), 'headers[""]: name is not an HTTP token');
  ok({ ...base, headers: { a: "v".repeat(16384) } });
  assert.equal(
    error({ ...base, headers: { a: "v".repeat(16385) } }),
    'headers["a"]: at most 16384 characters',
  );
  assert.equal(
    error({ ...base, headers: { a: 1 } }),
    'headers["a"]: Invalid input: expected string, received number',
  );
  assert.equal(error({ ...base, headers: ["a"] }), "headers: Invalid input: expected record, received array");
});

Deno.test("schema: header objects without a prototype are accepted", () => {
  const headers = Object.create(null);
  headers.accept = "*/*";
  assert.deepEqual(ok({ ...base, headers }).headers, { accept: "*/*" });
});

Deno.test("schema: body at most 65536 characters, and the whole record at most 65536 bytes of JSON", () => {
  assert.equal(error({ ...base, body: "b".repeat(65537) }), "body: at most 65536 characters");
  ok({ ...base, body: "b".repeat(65000) });
  // 40000 characters of 2-byte UTF-8: under the character limit, over the byte limit.
  const record = { ...base, body: "é".repeat(40000) };
  const bytes = new TextEncoder().encode(JSON.stringify(record)).length;
  assert.equal(error(record), `record is ${bytes} bytes as JSON, over the 65536-byte limit`);
});

Deno.test("schema: label is 0 or 1; family and tenant at most 128 characters", () => {
  assert.equal(ok({ ...base, label: 1 }).label, 1);
  assert.equal(error({ ...base, label: 2 }), "label: must be 0 or 1");
  assert.equal(error({ ...base, label: "1" }), "label: must be 0 or 1");
  assert.equal(error({ ...base, label: true }), "label: must be 0 or 1");
  ok({ ...base, family: "f".repeat(128), tenant: "t".repeat(128) });
  assert.equal(error({ ...base, family: "f".repeat(129) }), "family: at most 128 characters");
  assert.equal(error({ ...base, tenant: "t".repeat(129) }), "tenant: at most 128 characters");
});

Deno.test("schema: not an object", () => {
  assert.equal(error(null), "Invalid input: expected object, received null");
  assert.equal(error([base]), "Invalid input: expected object, received array");
  assert.equal(error("GET /"), "Invalid input: expected object, received string");
});

Deno.test("schema: several problems are listed, at most three spelt out", () => {
  assert.equal(
    error({ method: "", url: "", label: 3, family: 1, tenant: 2 }),
    "method: empty; url: empty; label: must be 0 or 1; and 2 more",
  );
});

Deno.test("schema: __proto__, constructor and prototype keys are rejected anywhere, nothing is polluted", () => {
  const cases: [string, string][] = [
    ['{"method":"GET","url":"/","__proto__":{"polluted":1}}', 'forbidden key "__proto__" at "__proto__"'],
    [
      '{"method":"GET","url":"/","headers":{"__proto__":"x"}}',
      'forbidden key "__proto__" at "headers.__proto__"',
    ],
    [
      '{"method":"GET","url":"/","headers":{"constructor":"x"}}',
      'forbidden key "constructor" at "headers.constructor"',
    ],
    ['{"method":"GET","url":"/","prototype":1}', 'forbidden key "prototype" at "prototype"'],
    [
      '{"method":"GET","url":"/","extra":[{"a":{"__proto__":{"x":1}}}]}',
      'forbidden key "__proto__" at "extra[0].a.__proto__"',
    ],
  ];
  for (const [json, message] of cases) assert.equal(error(JSON.parse(json)), message, json);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

Deno.test("schema: deeply nested unknown values do not overflow the stack", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.deepEqual(ok(JSON.parse(`{"method":"GET","url":"/","x":${deep}}`)), { method: "GET", url: "/" });
});

Deno.test("a value with shared or cyclic references is checked once per object, not walked forever", () => {
  const cyclic: Record<string, unknown> = { method: "GET", url: "/" };
  cyclic.self = cyclic;
  assert.deepEqual(ok(cyclic), { method: "GET", url: "/" });
  let shared: unknown = { a: 1 };
  for (let i = 0; i < 40; i++) shared = [shared, shared]; // 2^40 paths, 41 distinct objects
  assert.deepEqual(ok({ method: "GET", url: "/", x: shared }), { method: "GET", url: "/" });
  const hidden: Record<string, unknown> = JSON.parse('{"y":{"__proto__":1}}');
  assert.equal(parseRecord({ method: "GET", url: "/", x: [hidden, hidden] }).ok, false);
});

Deno.test("forbidden keys are matched without regard to case", () => {
  const r = parseRecord(JSON.parse('{"method":"GET","url":"/","headers":{"__PROTO__":"x"}}'));
  assert.equal(r.ok, false);
});
