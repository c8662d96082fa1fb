// Tenant and attack synthesis on the real data: what meta-training sees and what is held out of it.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { parseRecord } from "@taugate/record/mod.ts";
import { FEATURE_SPEC, featuresOfRecord, type FeatureTrace } from "@taugate/features/mod.ts";
import { categoryOf, familyByKeywords, HELD_OUT_FAMILIES } from "../src/data/families.ts";
import { isFragment, splitOf } from "../src/data/pools.ts";
import { DEFAULT_DATA_DIR, loadSources } from "../src/data/sources.ts";
import { ANOMALIES } from "../src/synth/anomalies.ts";
import { inject } from "../src/synth/inject.ts";
import { type Edge, edgeHeaders, edgeOf, EDGES } from "../src/synth/edge.ts";
import { toRecord } from "../src/synth/request.ts";
import { benignRequest, makeTenant } from "../src/synth/tenant.ts";
import { buildWorld, DEFAULT_WORLD, heldOutTenant } from "../src/synth/world.ts";
import { Rng } from "../src/util/rng.ts";

const tenant = makeTenant("t1", "fwaf", [
  "/shop/",
  "/shop/item.php?id=3",
  "/about/",
  "/img/logo.png",
], new Rng(1, "t"));

test("synthesis: benign requests of a tenant are valid records with realistic headers", () => {
  const rng = new Rng(2);
  for (let i = 0; i < 200; i++) {
    const r = toRecord(benignRequest(tenant, rng).req, 0, "benign", tenant.id);
    const p = parseRecord(r);
    assert.ok(p.ok, p.ok ? "" : p.error);
    assert.ok(r.headers?.["user-agent"], "every client sends a user agent");
  }
});

test("synthesis: an injection changes the request at one place and keeps the payload's text", () => {
  const rng = new Rng(3);
  const places = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const { req: base } = benignRequest(tenant, rng);
    const before = JSON.stringify(toRecord(base, 0, "benign", "t1"));
    const out = inject(base, tenant, "' or 1=1--", "sqli", rng);
    places.add(out.location);
    assert.equal(
      JSON.stringify(toRecord(base, 0, "benign", "t1")),
      before,
      "the base request is not modified",
    );
    const rec = toRecord(out.req, 1, "sqli", "t1");
    assert.notEqual(JSON.stringify(rec), before);
    assert.ok(parseRecord(rec).ok);
  }
  for (const p of ["query", "path", "body", "header", "cookie"]) {
    assert.ok(places.has(p), `never injected into ${p}`);
  }
});

test("synthesis: every anomaly family yields valid records that differ from their base", () => {
  const rng = new Rng(4);
  for (const [family, make] of Object.entries(ANOMALIES)) {
    let made = 0;
    for (let i = 0; i < 60; i++) {
      const { req: base } = benignRequest(tenant, rng);
      const a = make(base, tenant, rng);
      if (!a) continue;
      const rec = toRecord(a, 1, family, "t1");
      assert.ok(
        parseRecord(rec).ok,
        `${family}: ${JSON.stringify(rec).slice(0, 200)}`,
      );
      assert.notDeepEqual(rec, toRecord(base, 1, family, "t1"), family);
      made++;
    }
    assert.ok(made > 5, `${family} made only ${made}`);
    assert.equal(categoryOf(family), "anomaly");
  }
});

test("synthesis: a method tampering is never a CORS preflight", () => {
  // `OPTIONS` is what a browser asks of any endpoint another origin calls; the server answers it without running
  // the endpoint. Labelled an attack, it taught the model that an API site's preflights are attacks.
  const rng = new Rng(5);
  const methods = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const { req: base } = benignRequest(tenant, rng);
    const a = ANOMALIES["tamper-method"](base, tenant, rng);
    if (a) methods.add(a.method);
  }
  assert.ok(methods.has("TRACE") && methods.has("PUT"), [...methods].join(","));
  assert.ok(!methods.has("OPTIONS"), [...methods].join(","));
});

test("families: keyword rules, fragments, and splits that keep near-duplicates together", () => {
  assert.equal(familyByKeywords("/a.php?id=1+union+select+1,2"), "sqli");
  assert.equal(
    familyByKeywords("/x?q=%3Cscript%3Ealert(1)%3C/script%3E"),
    "xss",
  );
  assert.equal(familyByKeywords("{{7*7}}"), "ssti");
  assert.equal(
    familyByKeywords("str1=${#str}; echo x"),
    "cmdi",
    "the shell's ${#…} is no template",
  );
  assert.equal(familyByKeywords("/iconloading/"), null);
  assert.ok(
    isFragment("mobile") && isFragment("%2") && !isFragment("' or 1=1"),
  );
  assert.equal(
    splitOf("1' and 1234=1234--", "sqli", 1),
    splitOf("1' and 9876=9876--", "sqli", 1),
  );
  for (let i = 0; i < 50; i++) {
    assert.notEqual(splitOf(`{{${i}*7}}`, "ssti", 1), "train");
  }
});

const hasData = existsSync(DEFAULT_DATA_DIR);

test(
  "world: held-out families and held-out tenants never reach meta-training",
  { skip: !hasData },
  () => {
    const world = buildWorld(loadSources(DEFAULT_DATA_DIR), 1);
    assert.ok(
      world.train.length >= 30,
      `${world.train.length} training tenants`,
    );
    const trainIds = new Set(world.train.map((t) => t.tenant.id));
    for (const e of world.eval) assert.ok(!trainIds.has(e.tenant.id));
    assert.ok(world.eval.some((e) => e.tenant.id === "urldetect"));
    for (const t of world.train) {
      for (const r of t.attacks) {
        assert.ok(
          !HELD_OUT_FAMILIES.includes(r.family!),
          `${t.tenant.id} trains on ${r.family}`,
        );
      }
    }
    // No payload string is on two sides of the split.
    for (const v of world.pools.values) {
      if (HELD_OUT_FAMILIES.includes(v.family)) {
        assert.notEqual(v.split, "train");
      }
    }
    // Held-out tenants see unseen families, injections and anomalies in their query sets.
    const u = world.eval.find((e) => e.tenant.id === "urldetect")!;
    const fams = new Set(u.query.map((r) => r.family));
    for (const f of HELD_OUT_FAMILIES) {
      assert.ok(
        fams.has(f),
        `urldetect query lacks ${f}`,
      );
    }
    assert.ok(u.query.some((r) => categoryOf(r.family) === "anomaly"));
    // The support and query sets of a held-out tenant come from disjoint source lines.
    const paths = (rs: typeof u.query) =>
      new Set(
        rs.filter((r) => r.label === 0 && r.method === "GET").map((r) => r.url),
      );
    const sp = paths(u.support), qp = paths(u.query);
    let shared = 0;
    for (const p of qp) if (sp.has(p)) shared++;
    assert.ok(
      shared / qp.size < 0.05,
      `${shared} of ${qp.size} query URLs also in support`,
    );
    // heldOutTenant rebuilds the same unseen tenant without building the world.
    const alone = heldOutTenant(DEFAULT_DATA_DIR, 1, DEFAULT_WORLD);
    assert.deepEqual(alone.query.slice(0, 50), u.query.slice(0, 50));
    assert.equal(alone.support.length, u.support.length);
    // Every record is valid for the record schema (what `deno task eval` reads).
    for (const r of [...u.support, ...u.query]) assert.ok(parseRecord(r).ok);
  },
);

test("doubleSlash: one slash of the path doubled, the query and everything else kept", async () => {
  const { doubleSlash } = await import("../src/synth/world.ts");
  const rng = new Rng(12, "double-slash");
  const { req } = benignRequest(tenant, new Rng(13));
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const out = doubleSlash(req, rng);
    assert.equal(out.path.length, req.path.length + 1);
    assert.equal(out.path.replace("//", "/"), req.path.replace("//", "/"));
    assert.ok(out.path.includes("//"));
    assert.deepEqual(out.query, req.query);
    assert.deepEqual(out.headers, req.headers);
    seen.add(out.path);
  }
  assert.ok(seen.has("/" + req.path), "at the start");
  assert.equal(doubleSlash({ ...req, path: "/" }, rng).path, "//");
});

test("synthesis: some injections go base64-encoded into a value, and the extractor reads their words", () => {
  const rng = new Rng(4);
  const payload = "' union select password from users--";
  let encoded = 0;
  for (let i = 0; i < 600; i++) {
    const { req: base } = benignRequest(tenant, rng);
    const out = inject(base, tenant, payload, "sqli", rng);
    if (!/base64/.test(out.encoding)) continue;
    encoded++;
    const rec = toRecord(out.req, 1, "sqli", "t1");
    const wire = `${rec.url} ${rec.body ?? ""}`;
    assert.ok(!/union/i.test(wire), `the payload is not in clear: ${wire}`);
    const trace: FeatureTrace = new Map();
    featuresOfRecord(rec, FEATURE_SPEC, trace);
    const names = new Set([...trace.values()].flat());
    assert.ok(names.has("tok:union") && names.has("tok:select"), `${out.encoding}: ${wire}`);
  }
  assert.ok(encoded >= 10, `${encoded} base64 injections in 600`);
});

test("synthesis: injections go into parameter names, multipart part names and XML elements, and the extractor reads them", () => {
  // A tenant whose every request posts a body, one endpoint of each kind.
  const fields = tenant.endpoints[0].fields;
  const t = {
    ...tenant,
    pBody: 1,
    endpoints: (["form", "multipart", "xml"] as const).map((body, i) => ({
      path: `/e${i}`,
      method: "POST" as const,
      body,
      fields,
    })),
  };
  const rng = new Rng(5);
  const payload = "' union select password from users--";
  const seen = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const { req: base } = benignRequest(rng.chance(0.5) ? t : tenant, rng);
    const out = inject(base, t, payload, "sqli", rng);
    const how = out.encoding.split("+").find((e) => /^(name-|part-name|xml)/.test(e));
    if (how === undefined) continue;
    seen.set(how, (seen.get(how) ?? 0) + 1);
    const rec = toRecord(out.req, 1, "sqli", "t1");
    assert.ok(parseRecord(rec).ok);
    const trace: FeatureTrace = new Map();
    featuresOfRecord(rec, FEATURE_SPEC, trace);
    const names = new Set([...trace.values()].flat());
    assert.ok(
      names.has("tok:union") && names.has("tok:select"),
      `${out.encoding}: ${rec.url} ${rec.body ?? ""}`,
    );
    if (how.startsWith("xml")) assert.match(rec.headers!["content-type"], /xml/);
  }
  for (
    const how of ["name-url", "name-minimal", "name-form", "part-name", "xml", "xml-cdata", "xml-numeric"]
  ) {
    assert.ok((seen.get(how) ?? 0) >= 3, `${how}: ${seen.get(how) ?? 0} of ${[...seen].join(", ")}`);
  }
});

test("synthesis: a tenant's XML endpoint posts well-formed XML, sometimes with hard benign text", () => {
  const t = {
    ...tenant,
    pBody: 1,
    endpoints: [{
      path: "/ws/orderService",
      method: "POST" as const,
      body: "xml" as const,
      fields: tenant.endpoints[0].fields,
    }],
  };
  const rng = new Rng(6);
  let escaped = 0;
  for (let i = 0; i < 300; i++) {
    const rec = toRecord(benignRequest(t, rng).req, 0, "benign", "t1");
    if (!/xml/.test(rec.headers?.["content-type"] ?? "")) continue; // a quirk may have replaced the body
    const body = rec.body!;
    assert.ok(body.startsWith('<?xml version="1.0"'), body);
    // Element text holds no raw markup: every `<` opens a tag of the document.
    for (const m of body.matchAll(/<([^>]*)>/g)) {
      assert.match(m[1], /^(\?xml .*\?|\/?[A-Za-z_][\w.:-]*( xmlns:soap="[^"]*")?)$/, body);
    }
    if (/&(amp|lt|gt);/.test(body)) escaped++;
  }
  assert.ok(escaped > 0, "some hard benign text needed escaping");
});

test("synthesis: a browser's posts carry the page's Origin, its other requests none; some send a priority header", () => {
  const rng = new Rng(5);
  // The tenant's own endpoints only: a quirk (a GraphQL or SOAP call) may turn a request into a post of its own.
  const plain = { ...tenant, quirks: [] };
  let posts = 0, withOrigin = 0, gets = 0, getOrigin = 0, browsers = 0, priority = 0;
  for (let i = 0; i < 3000; i++) {
    const { req, client } = benignRequest(plain, rng);
    if (client !== "desktop" && client !== "mobile") continue;
    browsers++;
    const origin = req.headers.find(([k]) => k === "origin");
    if (req.headers.some(([k]) => k === "priority")) priority++;
    if (req.body !== null) {
      posts++;
      if (origin) {
        withOrigin++;
        assert.equal(origin[1], `https://${tenant.host}`);
      }
    } else {
      gets++;
      if (origin) getOrigin++;
    }
  }
  assert.ok(posts >= 50 && gets >= 50, `${posts} posts, ${gets} other requests of browsers`);
  assert.ok(withOrigin / posts >= 0.8, `${withOrigin} of ${posts} posts with an Origin`);
  assert.ok(getOrigin / gets <= 0.05, `${getOrigin} of ${gets} other requests with an Origin`);
  assert.ok(
    priority / browsers > 0.3 && priority / browsers < 0.7,
    `${priority} of ${browsers} with priority`,
  );
});

test("synthesis: a site's edge adds its headers to every request it passes on, attacks included", () => {
  const seen = new Map<Edge, number>();
  for (let i = 0; i < 400; i++) {
    const e = edgeOf(`site${i}.example`);
    seen.set(e, (seen.get(e) ?? 0) + 1);
  }
  for (const e of EDGES) assert.ok((seen.get(e) ?? 0) >= 8, `${e}: ${seen.get(e) ?? 0} of 400 sites`);
  assert.equal(edgeOf("site7.example"), edgeOf("site7.example"), "a site's edge is stable");
  const behind = (edge: Edge) => {
    for (let i = 0;; i++) if (edgeOf(`e${i}.example`) === edge) return { ...tenant, host: `e${i}.example` };
  };
  const rng = new Rng(6);
  const cf = behind("cloudflare");
  for (let i = 0; i < 200; i++) {
    const { req } = benignRequest(cf, rng);
    const names = new Set(req.headers.map(([k]) => k));
    assert.ok(names.has("cf-ray") && names.has("x-forwarded-for"), [...names].join(" "));
    const out = inject(req, cf, "' or 1=1--", "sqli", rng);
    assert.ok(out.req.headers.some(([k]) => k === "cf-ray"), "the attack came through the same edge");
  }
  const none = behind("none");
  let proxied = 0;
  for (let i = 0; i < 2000; i++) {
    const h = benignRequest({ ...none, quirks: [] }, rng).req.headers;
    assert.ok(!h.some(([k]) => k.startsWith("cf-") || k === "x-real-ip"), JSON.stringify(h));
    if (h.some(([k]) => k === "via")) proxied++;
  }
  assert.ok(proxied > 20 && proxied < 200, `${proxied} of 2000 through a client's proxy`);
  // A proxy's forwarding chain lists addresses, the client's first.
  const h = edgeHeaders(rng, "aws", "x.example", true);
  assert.match(h.find(([k]) => k === "x-forwarded-for")![1], /^[0-9a-f:.]+, (10|172)\.[0-9.]+$/);
});

test("synthesis: structured query parameters (filter[status], page[size], ids[]) as PHP, Rails and JSON:API sites send them", () => {
  const rng = new Rng(7);
  let raw = 0, encoded = 0;
  for (const param of ["filter", "page", "fields", "ids", "filters", "sort"]) {
    const t = { ...tenant, quirks: [{ kind: "array-params" as const, param, rate: 1 }] };
    for (let i = 0; i < 40; i++) {
      const r = toRecord(benignRequest(t, rng).req, 0, "benign", t.id);
      const p = parseRecord(r);
      assert.ok(p.ok, p.ok ? "" : p.error);
      if (/[?&][a-z]+\[/.test(r.url)) raw++;
      if (/[?&][a-z]+%5B/.test(r.url)) encoded++;
    }
  }
  assert.ok(raw > 20 && encoded > 80, `${raw} raw, ${encoded} percent-encoded of 240`);
});
