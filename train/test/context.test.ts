// Context alone never blocks: the shipped model, through the middleware, passes plain requests sent with
// real clients' header sets: browsers from header-generator (a model of real browser traffic), and the
// crawlers, feed readers, monitors, apps and HTTP libraries whose user agents the real sites logged.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Hono } from "hono";
import { taugate, type TaugateEnv } from "@taugate/middleware/mod.ts";
import { loadEngine } from "@taugate/model/mod.ts";
import { decodeOnce } from "../src/data/families.ts";
import { loadSite, ordinaryReason, siteIds } from "../src/data/sites.ts";
import { DEFAULT_DATA_DIR } from "../src/data/sources.ts";
import { agentKind, botHeaders, browserHeaders } from "../src/synth/clients.ts";
import { edgeHeaders, EDGES } from "../src/synth/edge.ts";
import { Rng } from "../src/util/rng.ts";
import * as faker from "@faker-js/faker";

const MODEL = new URL("../../models/taugate.onnx", import.meta.url);
const HAVE_SITES = existsSync(join(DEFAULT_DATA_DIR, "sites"));
const PLAIN = [
  "/",
  "/products?page=2",
  "/blog/2024/05/hello-world/",
  "/static/app.css",
  "/search?q=red+shoes",
];

async function worker(): Promise<Hono<TaugateEnv>> {
  const engine = await loadEngine("ts", new Uint8Array(readFileSync(MODEL)));
  const app = new Hono<TaugateEnv>();
  app.use(
    "*",
    taugate({ engine, mode: "block", log: false, tenant: () => null }),
  );
  app.all("*", (c) => c.text("ok"));
  return app;
}

async function blocked(
  app: Hono<TaugateEnv>,
  sets: [string, string][][],
): Promise<string[]> {
  const out: string[] = [];
  for (const [i, headers] of sets.entries()) {
    const path = PLAIN[i % PLAIN.length];
    const res = await app.fetch(
      new Request("http://shop.example.com" + path, { headers }),
    );
    await res.body?.cancel();
    if (res.status === 403) {
      out.push(`${path} ${JSON.stringify(headers).slice(0, 300)}`);
    }
  }
  return out;
}

test("context: 400 real browser header sets (desktop and mobile; Chrome, Firefox, Safari, Edge) are never blocked", async () => {
  const app = await worker();
  const rng = new Rng(21, "browsers");
  const sets: [string, string][][] = [];
  for (let i = 0; i < 400; i++) {
    const mobile = i % 3 === 0;
    const b = browserHeaders(rng, mobile, i % 5 === 4);
    sets.push([["user-agent", b.ua], ...b.headers]);
  }
  const bad = await blocked(app, sets);
  assert.deepEqual(bad, [], `${bad.length} of 400 blocked`);
});

test(
  "context: crawlers, feed readers, monitors, apps and HTTP libraries the real sites logged are never blocked",
  {
    skip: !HAVE_SITES && "no ../shared/data/sites",
  },
  async () => {
    const app = await worker();
    const agents = new Set<string>();
    for (const id of siteIds(DEFAULT_DATA_DIR)) {
      for (const r of loadSite(DEFAULT_DATA_DIR, id).records) {
        const ua = r.headers?.["user-agent"];
        if (
          r.status >= 200 && r.status < 400 && ua && agentKind(ua) === "bot" &&
          !/sqlmap|nikto|zgrab|masscan|nmap|nuclei|jorgee|zmeu|acunetix|wpscan/i
            .test(ua)
        ) agents.add(ua);
      }
    }
    const rng = new Rng(22, "bots");
    const list = [...agents].sort();
    const picked = list.length > 400 ? rng.sample(list, 400) : list;
    assert.ok(
      picked.length >= 100,
      `${picked.length} distinct non-browser agents`,
    );
    const sets = picked.map((ua) => [["user-agent", ua], ...botHeaders(rng, ua)] as [string, string][]);
    const bad = await blocked(app, sets);
    // Real logs hold a few agents that are attacks themselves; none of them may be blocked for context alone.
    assert.ok(
      bad.length <= Math.floor(picked.length * 0.005),
      `${bad.length} of ${picked.length} blocked:\n${bad.join("\n")}`,
    );
  },
);

/**
 * Every distinct browser user agent and referer pair of the sites' ordinary traffic (the documented filter
 * drops scanner and attack lines, in the user agent too; the lines it drops for their referer alone are kept
 * here), split into those whose referer or user agent carries an injection and the rest.
 */
function loggedBrowserPairs(): {
  context: [string, string][][];
  attacks: [string, string][][];
} {
  const pairs = new Map<string, [string, string][]>();
  for (const id of siteIds(DEFAULT_DATA_DIR)) {
    for (const r of loadSite(DEFAULT_DATA_DIR, id).records) {
      // Those dropped for their referer alone stay: this test sorts them out by what their referer carries.
      const why = ordinaryReason(r);
      if (why !== null && why !== "referer") continue;
      const ua = r.headers?.["user-agent"], ref = r.headers?.["referer"];
      if (!ua || agentKind(ua) !== "browser" || !ref || ref === "-") continue;
      pairs.set(`${ua}\n${ref}`, [["user-agent", ua], ["referer", ref]]);
    }
  }
  // A few logged referers carry an injection: a `<script>` that steals cookies, a phpMyAdmin URL with its
  // SQL, a test site's links with `' OR '1'='1` and `ls -la ../../../etc` in their parameters.
  // Percent-decoded twice as the filter decodes (`+` stays, so it counts as a space here).
  const injection =
    /<script|select[\s+]+\S+[\s+]+from|'[\s+]*or[\s+]*'?1'?[\s+]*=|\.\.\/|\/etc\/(passwd|group|fstab)/i;
  const context: [string, string][][] = [], attacks: [string, string][][] = [];
  for (const k of [...pairs.keys()].sort()) {
    (injection.test(decodeOnce(decodeOnce(k))) ? attacks : context).push(
      pairs.get(k)!,
    );
  }
  return { context, attacks };
}

test(
  "context: the browsers' user agents and referers the real sites logged (in-app browsers, tracking ids, search and social referers) are almost never blocked",
  {
    skip: !HAVE_SITES && "no ../shared/data/sites",
  },
  async (t) => {
    const app = await worker();
    const { context } = loggedBrowserPairs();
    assert.ok(
      context.length >= 10_000,
      `${context.length} distinct browser user agent and referer pairs`,
    );
    const bad = await blocked(app, context);
    t.diagnostic(`${bad.length} of ${context.length} blocked`);
    // Not yet never: the shipped model (feature spec v9, whose dense keyword counts leave out what a client's
    // headers say of themselves) blocks 1 of 24,224 at its τ 0.987. The last one, v8, blocked 17 at its τ
    // 0.978, 11 of them Yandex's ad-click referers (`yandex.ru/an/count/…?…&pcode-test-ids-from-count=…`,
    // whose `from` counted as SQL); the one before 6 at τ 0.989; earlier ones 9, and 8 of 24,233.
    // The bound keeps it at most 1 in 5,000 (it was 1 in 1,000 for v8, 1 in 2,000 before it).
    assert.ok(
      bad.length <= Math.floor(context.length / 5000),
      `${bad.length} of ${context.length} blocked:\n${bad.join("\n")}`,
    );
  },
);

test(
  "context: the injections that the real sites' logged referers carry are blocked",
  {
    skip: !HAVE_SITES && "no ../shared/data/sites",
  },
  async (t) => {
    const app = await worker();
    const { attacks } = loggedBrowserPairs();
    assert.ok(
      attacks.length >= 10,
      `${attacks.length} pairs with an injection`,
    );
    const bad = await blocked(app, attacks);
    t.diagnostic(`${bad.length} of ${attacks.length} blocked`);
    const caught = bad.length / attacks.length;
    // The shipped model blocks 84 of 91 at its τ 0.987 (the last one 89 of 91 at τ 0.978, the one before 87 of 91 at τ 0.989, then 78 of 91 at τ 0.983); an earlier release's 71 of 91 at τ 0.989, the one before
    // 67 of 91 at τ 0.99, an earlier one 83 of 99 at τ 0.976 (the filter of ordinary traffic, stricter since, also decides which logged pairs are
    // "ordinary browsers" here): the soft targets put τ higher, and injections in a referer's link sit just
    // under it (README, Results).
    assert.ok(caught >= 0.7, `${bad.length} of ${attacks.length} blocked`);
  },
);

/**
 * A browser's ordinary form post or JSON call: the header set header-generator draws (a page load for a form,
 * a script's fetch for JSON), the `Origin` every browser sends with a POST, the RFC 9218 `priority` header
 * current Chrome and Firefox send, and fields faker fills in many locales: a name, an e-mail address (a
 * quarter of them at the documentation domains, `example.com` and its kin, as people type them into forms
 * they test), a city, a quantity and a sentence.
 */
function browserPosts(n: number): { url: string; headers: [string, string][]; body: string }[] {
  const rng = new Rng(23, "browser-posts");
  const locales = [faker.en, faker.de, faker.fr, faker.es, faker.pt_BR, faker.ru, faker.ja, faker.tr];
  const out: { url: string; headers: [string, string][]; body: string }[] = [];
  for (let i = 0; i < n; i++) {
    const f = new faker.Faker({ locale: [locales[i % locales.length], faker.en, faker.base] });
    f.seed(1000 + i);
    const json = i % 2 === 1;
    const b = browserHeaders(rng, i % 3 === 0, json);
    const first = f.person.firstName(), last = f.person.lastName();
    const fields: Record<string, string | number> = {
      name: `${first} ${last}`,
      email: i % 4 === 0
        ? f.internet.exampleEmail({ firstName: first, lastName: last })
        : f.internet.email({ firstName: first, lastName: last }),
      city: f.location.city(),
      qty: 1 + (i % 5),
      message: f.commerce.productDescription(),
    };
    const body = json
      ? JSON.stringify(fields)
      : Object.entries(fields).map(([k, v]) => `${k}=${encodeURIComponent(String(v)).replaceAll("%20", "+")}`)
        .join("&");
    const headers: [string, string][] = [
      ["user-agent", b.ua],
      ...b.headers.filter(([k]) => k !== "priority"),
      ["content-type", json ? "application/json" : "application/x-www-form-urlencoded"],
      ["origin", "https://shop.example.com"],
      ["priority", json ? "u=1, i" : "u=0, i"],
      ["referer", `https://shop.example.com/${json ? "cart" : "contact"}`],
    ];
    out.push({ url: `https://shop.example.com/${json ? "api/orders" : "contact"}`, headers, body });
  }
  return out;
}

test("context: 200 browsers' ordinary form posts and JSON calls (Origin, priority, e-mails at example.com) are never blocked", async () => {
  const app = await worker();
  const bad: string[] = [];
  for (const p of browserPosts(200)) {
    const res = await app.fetch(new Request(p.url, { method: "POST", headers: p.headers, body: p.body }));
    await res.body?.cancel();
    if (res.status === 403) bad.push(`${p.url} ${p.body.slice(0, 200)}`);
  }
  assert.deepEqual(bad, [], `${bad.length} of 200 blocked`);
});

test("context: what a CDN, a cloud load balancer or a client's proxy adds (Via, X-Forwarded-For, Forwarded, tracing ids) never blocks", async () => {
  const app = await worker();
  const rng = new Rng(29, "edges");
  const bad: string[] = [];
  let n = 0;
  for (const [i, p] of browserPosts(200).entries()) {
    const edge = EDGES[i % EDGES.length];
    for (const proxy of [false, true]) {
      const headers = [...p.headers, ...edgeHeaders(rng, edge, "shop.example.com", proxy)];
      const res = await app.fetch(new Request(p.url, { method: "POST", headers, body: p.body }));
      await res.body?.cancel();
      n++;
      if (res.status === 403) {
        bad.push(`${edge}${proxy ? "+proxy" : ""} ${JSON.stringify(headers.slice(-6))}`);
      }
    }
  }
  const sets: [string, string][][] = [];
  for (let i = 0; i < 400; i++) {
    const b = browserHeaders(rng, i % 3 === 0, i % 5 === 4);
    const edge = edgeHeaders(rng, EDGES[i % EDGES.length], "shop.example.com", i % 2 === 0);
    sets.push([["user-agent", b.ua], ...b.headers, ...edge]);
  }
  bad.push(...await blocked(app, sets));
  assert.deepEqual(bad, [], `${bad.length} of ${n + sets.length} blocked`);
});
