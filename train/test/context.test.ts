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
import { loadSite, ordinaryRecords, siteIds } from "../src/data/sites.ts";
import { DEFAULT_DATA_DIR } from "../src/data/sources.ts";
import { agentKind, botHeaders, browserHeaders } from "../src/synth/clients.ts";
import { Rng } from "../src/util/rng.ts";

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
  app.use("*", taugate({ engine, mode: "block", log: false, tenant: () => null }));
  app.all("*", (c) => c.text("ok"));
  return app;
}

async function blocked(app: Hono<TaugateEnv>, sets: [string, string][][]): Promise<string[]> {
  const out: string[] = [];
  for (const [i, headers] of sets.entries()) {
    const path = PLAIN[i % PLAIN.length];
    const res = await app.fetch(new Request("http://shop.example.com" + path, { headers }));
    await res.body?.cancel();
    if (res.status === 403) out.push(`${path} ${JSON.stringify(headers).slice(0, 300)}`);
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
          !/sqlmap|nikto|zgrab|masscan|nmap|nuclei|jorgee|zmeu|acunetix|wpscan/i.test(ua)
        ) agents.add(ua);
      }
    }
    const rng = new Rng(22, "bots");
    const list = [...agents].sort();
    const picked = list.length > 400 ? rng.sample(list, 400) : list;
    assert.ok(picked.length >= 100, `${picked.length} distinct non-browser agents`);
    const sets = picked.map((ua) => [["user-agent", ua], ...botHeaders(rng, ua)] as [string, string][]);
    const bad = await blocked(app, sets);
    // Real logs hold a few agents that are attacks themselves; none of them may be blocked for context alone.
    assert.ok(
      bad.length <= Math.floor(picked.length * 0.005),
      `${bad.length} of ${picked.length} blocked:\n${bad.join("\n")}`,
    );
  },
);

test(
  "context: the browsers' user agents and referers the real sites logged (in-app browsers, tracking ids, search and social referers) are almost never blocked",
  {
    skip: !HAVE_SITES && "no ../shared/data/sites",
  },
  async () => {
    const app = await worker();
    // Each site's ordinary traffic (the documented filter drops scanner and attack lines, in the user agent
    // and referer too); every distinct browser user agent and referer pair, sent on a plain request.
    const pairs = new Map<string, [string, string][]>();
    for (const id of siteIds(DEFAULT_DATA_DIR)) {
      for (const r of ordinaryRecords(loadSite(DEFAULT_DATA_DIR, id)).kept) {
        const ua = r.headers?.["user-agent"], ref = r.headers?.["referer"];
        if (!ua || agentKind(ua) !== "browser" || !ref || ref === "-") continue;
        pairs.set(`${ua}\n${ref}`, [["user-agent", ua], ["referer", ref]]);
      }
    }
    // A few logged referers carry an injection the filter does not name (a `<script>` that steals cookies, a
    // phpMyAdmin URL with its SQL): they are left out, blocking those would be right.
    const injection = /<script|%3cscript|select(\+|%20|\s)+\S+(\+|%20|\s)+from/i;
    const keys = [...pairs.keys()].filter((k) => !injection.test(k)).sort();
    assert.ok(keys.length >= 10_000, `${keys.length} distinct browser user agent and referer pairs`);
    const bad = await blocked(app, keys.map((k) => pairs.get(k)!));
    // Not yet never: the shipped model blocks 5 of 24,288 (a Medium referer's dash run, messenger link
    // wrappers with twice-encoded URLs, a Yandex redirect). The bound keeps it at most 1 in 2,000.
    assert.ok(
      bad.length <= Math.floor(keys.length * 0.0005),
      `${bad.length} of ${keys.length} blocked:\n${bad.join("\n")}`,
    );
  },
);
