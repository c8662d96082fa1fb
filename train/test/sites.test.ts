// The real sites: the ordinary-traffic filter, folds that leave whole sites out, client context from real
// header distributions, and the score's calibration and τ.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseRecord } from "@taugate/record/mod.ts";
import { FEATURE_SPEC } from "@taugate/features/mod.ts";
import { base64Text, textMarks } from "@taugate/features/extract.ts";
import { foldsOf, ordinaryReason, type SiteRecord } from "../src/data/sites.ts";
import { DEFAULT_DATA_DIR } from "../src/data/sources.ts";
import {
  calibratedHead,
  chooseTau,
  ece,
  fitCalibration,
  loadSiteData,
  type SiteLogits,
  TAU_TARGET,
} from "../src/sites.ts";
import { agentKind, browserHeaders, contextHeaders } from "../src/synth/clients.ts";
import { edgeOf } from "../src/synth/edge.ts";
import { Rng } from "../src/util/rng.ts";

const HAVE_SITES = existsSync(join(DEFAULT_DATA_DIR, "sites"));

function rec(
  url: string,
  status = 200,
  ua = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0",
  method = "GET",
): SiteRecord {
  return { method, url, headers: { "user-agent": ua }, body: "", label: 0, status };
}

/** Every URL (a GET of it, answered 200) gets the filter's reason `want` (`null`: kept as ordinary). */
function expectReason(want: string | null, urls: readonly string[]): void {
  for (const u of urls) assert.equal(ordinaryReason(rec(u)), want, u);
}

test("sites: the ordinary-traffic filter keeps a site's everyday requests and drops what is not", () => {
  // Kept: pages, assets, tracking beacons with URLs in parameters, searches, WordPress assets.
  expectReason(null, [
    "/",
    "/blog/how-to-break-out-of-an-exit-popup-in-firefox/",
    "/mod_pagespeed_beacon?url=https%3A%2F%2Fexample.no%2Fno%2Fsignin",
    "/search?q=red+shoes&page=2",
    "/wp-content/themes/x/style.css?ver=5.5",
    "/~alice/index.html",
  ]);
  assert.equal(ordinaryReason(rec("/", 404)), "status");
  assert.equal(ordinaryReason(rec("/", 200, "x", "PROPFIND")), "method");
  assert.equal(ordinaryReason(rec("/wp-login.php")), "probe");
  assert.equal(ordinaryReason(rec("/index.php.bak")), "probe");
  assert.equal(ordinaryReason(rec("/a/../../etc/passwd")), "probe");
  assert.equal(ordinaryReason(rec("/backup/", 200, "x", "HEAD")), "probe");
  assert.equal(ordinaryReason(rec("/usr/local/etc/aws/config.json")), "probe");
  assert.equal(ordinaryReason(rec("/axis2/")), "probe");
  assert.equal(ordinaryReason(rec("/backup-of-the-week/")), null, "only the whole path is a probe");
  // Secrets and backups by name, cloud metadata, web shells, a host name as a path: scanner lines the real sites
  // answered 2xx/3xx.
  expectReason("probe", [
    "/backup-2025.tar.gz",
    "/backupshop.example.tar",
    "/sendgrid.env",
    "/api/shared/config/config.env",
    "/backup/bitcoin/wallet.dat",
    "//shop.example.com/wp-content/themes/x/main.js/latest/meta-data/public-ipv4/",
    "//shop.example.com/wp-includes/js/jquery/jquery-migrate.min.js",
    "/mail.shop.example.com/sapi/web/debug/default/view",
    "/shop.example.com.zip",
    "/wp-content/plugins/x/wawe.php.suspected",
    "/ALFA_DATA/alfacgiapi/perl.alfa",
    "/include/ueditor/ueditor.config.js/x.php",
  ]);
  // Their near neighbours that sites serve stay ordinary: a release archive, a file extension as the first
  // segment, a socket path after a double slash, a broken relative link that repeats the site's name, a page
  // about the environment, a backup page that is not an archive.
  expectReason(null, [
    "/downloads/release-1.2.tar.gz",
    "/index.php/shop.example.com/",
    "//index.php",
    "//synoscgi.sock/socket.io/?EIO=3&transport=polling",
    "/www.shop.example.comwww.shop.example.com",
    "/environment/",
    "/backup-of-the-week/latest.html",
    "/alfa-romeo/giulia",
  ]);
  assert.equal(ordinaryReason(rec("/blog/")), null, "a name of the scanners' lists that sites serve");
  assert.equal(ordinaryReason(rec("/subscription.php?id=5%20UNION%20Select%20*%20from%20two")), "keyword");
  assert.equal(ordinaryReason(rec("/", 200, "sqlmap/1.7")), "tool");
  // A referer's link is judged by the target's rules: an injection in it is not ordinary; a search is.
  const withReferer = (referer: string) => ({ ...rec("/"), headers: { "user-agent": "x", referer } });
  assert.equal(
    ordinaryReason(withReferer("http://shop.example/login.php?user=%27+OR+%271%27%3D%271&pass=x")),
    "referer",
  );
  assert.equal(ordinaryReason(withReferer("https://www.google.com/search?q=red+shoes")), null);
  assert.equal(ordinaryReason(withReferer("https://l.example/?u=https%3A%2F%2Fshop.example%2Fp%2F1")), null);
  assert.equal(ordinaryReason(rec("/", 200, "Mozilla/5.0 <script>alert(1)</script>")), "keyword");
});

test("sites: payloads a site answered 200 and encodings that hide them are not ordinary traffic", () => {
  // Exploit markers the keyword rules do not name: a web shell's command, a stream wrapper, time-based SQL, a
  // scanner's out-of-band host, tautologies.
  expectReason("keyword", [
    "/uploads/x.php?data=cat%20/etc/group",
    "/wp-admin/admin-ajax.php?action=revslider_show_image&img=php://filter/read=convert.base64-encode/resource=a",
    "/?contact=1*DBMS_PIPE.RECEIVE_MESSAGE(CHR(99)%7C%7CCHR(99)%2C15)",
    "/?id=1%20AND%20pg_sleep(5)",
    "/news/search?q=http%3a%2f%2fr87.com%2fn%3f.php",
    "/?opt_sort=-1%22%20OR%202%2B515-515-1=0%2B0%2B0%2B1%20--%20&opt_type=1",
    "/traversal.php?data=ls%20-la%22%20and%20%22x%22%3D%22y",
    // PHP code injection the real sites answered 2xx/3xx: ThinkPHP's remote code execution, a web shell's
    // `eval`, a `<?php` tag written into a file; and a scanner's quote probe.
    "/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array&vars[0]=md5&vars[1][]=x",
    "/search.php?searchtype=5&tid=&area=eval($_POST%5Bqazw%5D)",
    "/public/index.php?s=index/x/write&cacheFile=a.php&content=%3C?php%20echo%201;?%3E",
    "/?hl=pt'A=0",
    // An XSS probe that writes its own element, a PHP code-injection probe's arithmetic, Drupalgeddon 2.
    "/sitemap.xml?%22%3bl%3ddocument.createElement(%22link%22)%3bl.rel%3d%22prefetch%22",
    "/answers/search?q=%2bprint(int)0xFFF9999-94261%3b%2f%2f",
    "/?q=/file/ajax/name/%23value/",
  ]);
  // Open-redirect scanners' spellings of another host, a NUL byte, letters percent-encoded.
  expectReason("evasion", [
    "/?url=//google%00.com",
    "/?next=/%09/google.com",
    "/redirect//%09/google.com",
    "/?redirect_uri=@google.com",
    "/?go=http:google.com",
    "/?continue=/%2f%2fgoogle.com",
    "/?return=/.google.com",
    "/?return_path=google%252ecom",
    "/?dest=//evil.example/",
    "/?url=/%68%74%74%70%3a%2f%2f%67%6f%6f%67%6c%65%2e%63%6f%6d",
  ]);
  // The same shapes as everyday traffic writes them stay ordinary: a path in `next`, a full URL, an e-mail
  // address, UTF-8 text, a sentence with "or" and numbers, a URL encoded twice in a tracking parameter.
  expectReason(null, [
    "/login?next=/account/orders",
    "/out?url=https%3A%2F%2Fexample.org%2Fa",
    "/subscribe?email=ana%40example.org",
    "/search?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82",
    "/search?q=2%20or%203%20bedrooms&page=2",
    "/search?q=%22rock%22%20and%20%22roll%22",
    "/l.php?u=https%253A%252F%252Fexample.org%252Fp%252F1",
    "/backup.html",
    // A page about PHP, a guide named after Axis2, a name with an apostrophe.
    "/blog/php-eval-and-call-user-functions/?page=2",
    "/docs/axis2-guide/",
    "/search?q=o%27neill+a%3D0",
  ]);
});

test("sites: folds are balanced, deterministic and leave whole sites out", () => {
  const ids = Array.from({ length: 57 }, (_, i) => `site${i}`);
  const a = foldsOf(ids, 5), b = foldsOf([...ids].reverse(), 5);
  const sizes = [0, 0, 0, 0, 0];
  for (const id of ids) {
    assert.equal(a.get(id), b.get(id), "a site's fold does not depend on the order of the ids");
    sizes[a.get(id)!]++;
  }
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
});

test("sites: browser header sets come from the generator, deterministically for a seed", () => {
  const one = browserHeaders(new Rng(7), false), two = browserHeaders(new Rng(7), false);
  assert.deepEqual(one, two);
  const names = new Set<string>();
  const rng = new Rng(8);
  for (let i = 0; i < 200; i++) for (const [k] of browserHeaders(rng, i % 2 === 0).headers) names.add(k);
  for (const k of ["accept", "accept-language", "accept-encoding", "sec-ch-ua", "sec-fetch-mode"]) {
    assert.ok(names.has(k), `some browser sends ${k}`);
  }
  assert.ok(!names.has("user-agent") && !names.has("cookie"), "the caller's own headers are not generated");
});

test("sites: a logged request keeps its user agent and referer; a Firefox never gets client hints", () => {
  const rng = new Rng(9);
  const ff = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
  for (let i = 0; i < 50; i++) {
    const h = contextHeaders(rng, { "user-agent": ff, referer: "https://x.example/" }, 0);
    assert.equal(h[0][0], "user-agent");
    assert.equal(h[0][1], ff);
    assert.ok(h.some(([k, v]) => k === "referer" && v === "https://x.example/"));
    assert.ok(!h.some(([k]) => k.startsWith("sec-ch-")), JSON.stringify(h));
  }
  assert.equal(agentKind("Mozilla/5.0 (compatible; Googlebot/2.1)"), "bot");
  assert.equal(agentKind("Feedly/1.0"), "bot");
  assert.equal(agentKind(ff), "browser");
  assert.equal(agentKind(undefined), "none");
  assert.deepEqual(contextHeaders(rng, { "user-agent": ff }, 1), [["user-agent", ff]], "as logged");
});

test("sites: a dressed request of a site behind a CDN carries the CDN's headers; one left as logged does not", () => {
  const rng = new Rng(11);
  let host = "";
  for (let i = 0; host === "" && i < 1000; i++) {
    if (edgeOf(`s${i}.example`) === "cloudflare") host = `s${i}.example`;
  }
  assert.notEqual(host, "", "some host sits behind Cloudflare");
  const ua = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
  for (let i = 0; i < 20; i++) {
    const names = new Set(contextHeaders(rng, { "user-agent": ua }, 0, host).map(([k]) => k));
    assert.ok(names.has("cf-connecting-ip") && names.has("x-forwarded-for"), [...names].join(" "));
  }
  assert.deepEqual(contextHeaders(rng, { "user-agent": ua }, 1, host), [["user-agent", ua]], "as logged");
});

test("sites: calibration is a monotone map fitted on held-out logits; τ meets the block-rate targets", () => {
  const rng = new Rng(10);
  const site = (id: string): SiteLogits => {
    const g = (mu: number, n: number) => Float64Array.from({ length: n }, () => mu + 2 * rng.gaussian());
    return {
      id,
      logged: g(-6, 2000),
      dressed: g(-6, 2000),
      attacks: g(4, 300),
      families: new Array(300).fill("sqli"),
    };
  };
  const sites = [site("a"), site("b"), site("c")];
  const cal = fitCalibration(sites);
  assert.ok(cal.a > 0 && Number.isFinite(cal.c), JSON.stringify(cal));
  // Separable data does not send the slope to infinity (smoothed targets).
  const sep: SiteLogits = {
    id: "s",
    logged: new Float64Array([-5, -4]),
    dressed: new Float64Array([-5]),
    attacks: new Float64Array([5, 6]),
    families: ["sqli", "sqli"],
  };
  const c2 = fitCalibration([sep]);
  assert.ok(c2.a < 10, `slope ${c2.a}`);
  const t = chooseTau(sites, cal);
  assert.ok(t.median <= TAU_TARGET.median && t.worst <= TAU_TARGET.worst, JSON.stringify(t));
  assert.ok(t.tau >= 0.5 && t.tau < 0.9995, "τ is readable");
  const h = calibratedHead({ w: new Float32Array([1, -2]), b: 0.5 }, { a: 2, c: -1 });
  assert.deepEqual(Array.from(h.w), [2, -4]);
  assert.equal(h.b, 0);
  assert.ok(ece([0.05, 0.95], [0, 1]) < 0.1);
});

test("sites: every site loads, is filtered and keeps most of its ordinary traffic", {
  skip: !HAVE_SITES && "no ../shared/data/sites",
}, () => {
  const sites = loadSiteData(DEFAULT_DATA_DIR);
  assert.ok(sites.length >= 50, `${sites.length} sites`);
  for (const s of sites) {
    assert.ok(s.ordinary.length > 0, s.id);
    for (const r of s.ordinary.slice(0, 50)) assert.ok(parseRecord(r).ok, `${s.id}: ${r.url}`);
  }
  const folds = new Set(sites.map((s) => s.fold));
  assert.equal(folds.size, 5);
});

/**
 * The real sites' ordinary requests whose query parts `pick` keeps some of (each part as logged, `k=v` or `k`):
 * how many requests there are, how many have such a part, and those parts by site.
 */
function ordinaryParts(
  pick: (parts: string[]) => string[],
): { requests: number; hits: number; seen: string[] } {
  let requests = 0, hits = 0;
  const seen: string[] = [];
  for (const s of loadSiteData(DEFAULT_DATA_DIR)) {
    for (const r of s.ordinary) {
      requests++;
      const q = r.url.indexOf("?");
      if (q < 0) continue;
      const kept = pick(r.url.slice(q + 1).split("&"));
      if (kept.length > 0) hits++, seen.push(`${s.id}: ${kept.join(", ").slice(0, 80)}`);
    }
  }
  return { requests, hits, seen };
}

test("sites: the base64 reading of values leaves the real sites' ordinary traffic almost untouched", {
  skip: !HAVE_SITES && "no ../shared/data/sites",
}, (t) => {
  // Their logged targets' query values, split as the extractor splits them: a value the extractor reads a
  // second time as base64 text is one whose features the spec v6 change altered.
  const out = new Uint8Array(1024);
  const { requests, hits, seen } = ordinaryParts((parts) =>
    parts.map((kv) => kv.slice(kv.indexOf("=") + 1)).filter((v) =>
      base64Text(v, FEATURE_SPEC.caps.value, out) !== null
    )
  );
  t.diagnostic(
    `${hits} of ${requests} ordinary requests hold a value read as base64 text: ${seen.join("; ")}`,
  );
  assert.ok(requests > 100_000 && hits <= 5, `${hits} of ${requests}`);
});

test("sites: the real sites' parameter names are almost never read again as text", {
  skip: !HAVE_SITES && "no ../shared/data/sites",
}, (t) => {
  // Their logged targets' query names, decoded as a form decodes them: a name with a text mark, or longer than
  // the name cap, is one the spec v7 extractor reads a second time as a value.
  const { requests, hits, seen } = ordinaryParts((parts) =>
    parts.map((kv) => kv.split("=")[0]).filter((k) => {
      let d = k.replaceAll("+", " ");
      try {
        d = decodeURIComponent(d);
      } catch { /* kept as sent */ }
      const buf = Uint16Array.from(d, (c) => c.charCodeAt(0));
      return k.length > FEATURE_SPEC.caps.key || textMarks(buf, 0, buf.length);
    })
  );
  t.diagnostic(`${hits} of ${requests} ordinary requests have a name read as text: ${seen.join("; ")}`);
  assert.ok(requests > 100_000 && hits <= 5, `${hits} of ${requests}`);
});

test("rotations: the summary table is the headline folds' median and worst site, the design fold apart", async () => {
  const { rotationSummary } = await import("../src/cli/rotations.ts");
  const site = (fold: number, block: number, auc: number) => ({
    site: `s${fold}-${block}`,
    fold,
    requests: 100,
    block_logged: block,
    block_dressed: block,
    attacks: 10,
    detect_seen: 0.9,
    detect_unseen: 0.7,
    detect_anomaly: 0.1,
    auc,
    auc_injection: auc,
    tpr_1e2: 0.5,
    tpr_1e3: 0.4,
    ece: 0.05,
  });
  const rot = (testFold: number, sites: ReturnType<typeof site>[]) => ({
    testFold,
    calFold: (testFold + 1) % 5,
    trainSites: [],
    calibration: { a: 1, c: 0 },
    tau: 0.97,
    calBlock: { median: 0, worst: 0, worstMet: true },
    sites,
  });
  const text = rotationSummary([
    rot(0, [site(0, 0.5, 0.1)]),
    rot(1, [site(1, 0, 0.9), site(1, 0.02, 0.8)]),
    rot(2, [site(2, 0.001, 0.95)]),
  ], 7);
  const row = (label: string) =>
    text.split("\n").find((l) => l.startsWith(`| ${label} |`))!.split(" | ").slice(1);
  assert.match(text, /^seed 7, rotations 0,1,2; τ 0.97, 0.97, 0.97/);
  // Headline: sites of folds 1 and 2 (median of 0, 0.1 %, 2 % is 0.1 %; worst 2 %); fold 0 apart.
  assert.deepEqual(row("block rate at τ, ordinary traffic as logged"), [
    "0.10 %",
    "2.00 %",
    "50.00 %",
    "50.00 % |",
  ]);
  assert.deepEqual(row("AUC, all attacks (K = 0)"), ["0.900", "0.800", "0.100", "0.100 |"]);
  // How many sites miss the 0.5 % target: 2 % does, 0.1 % does not; the design fold apart.
  assert.ok(text.includes("(the higher of the two block rates): 1 of 3; design fold 0: 1 of 1."), text);
  // Without the design fold, its columns are empty.
  const alone = rotationSummary([rot(1, [site(1, 0, 0.9)])], 1).split("\n");
  assert.ok(alone.find((l) => l.startsWith("| AUC, all attacks"))!.endsWith("| 0.900 | 0.900 | – | – |"));
  // No oracle rows without the test folds' own τ (summaries written before it).
  assert.ok(!text.includes("oracle"), text);
  // With it: each test fold's sites at their own τ, the headline and the design fold apart as above.
  const withOwn = (r: ReturnType<typeof rot>, sites: ReturnType<typeof site>[]) => ({
    ...r,
    own: { tau: 0.9, worstMet: true, sites },
  });
  const oracle = rotationSummary([
    withOwn(rot(0, [site(0, 0.5, 0.1)]), [{ ...site(0, 0.001, 0.1), detect_seen: 0.5 }]),
    withOwn(rot(1, [site(1, 0, 0.9)]), [{ ...site(1, 0.004, 0.9), block_dressed: 0.006, detect_seen: 0.95 }]),
    withOwn(rot(2, [site(2, 0.001, 0.95)]), [{ ...site(2, 0.002, 0.95), detect_unseen: 0.8 }]),
  ], 7);
  const orow = (label: string) =>
    oracle.split("\n").find((l) => l.startsWith(`| ${label} |`))!.split(" | ").slice(1);
  // Block: the worse of each site's two rates (0.6 %, 0.2 %): median 0.4 %, worst 0.6 %; design 0.1 %.
  assert.deepEqual(orow("oracle, never deployable: block rate at each test fold's own τ"), [
    "0.40 %",
    "0.60 %",
    "0.10 %",
    "0.10 % |",
  ]);
  assert.deepEqual(orow("oracle: injections caught there, seen families"), [
    "92.50 %",
    "90.00 %",
    "50.00 %",
    "50.00 % |",
  ]);
  assert.deepEqual(orow("oracle: injections caught there, held-out families"), [
    "75.00 %",
    "70.00 %",
    "70.00 %",
    "70.00 % |",
  ]);
  // The real rows are the same with or without the oracle.
  assert.equal(row("AUC, all attacks (K = 0)").join("|"), "0.900|0.800|0.100|0.100 |");
});

test("rotations --save: the saved model is the one measured, with its τ, adaptation settings and canaries", {
  skip: !HAVE_SITES && "no ../shared/data/sites",
}, async () => {
  const { QUICK_RUN } = await import("../src/config.ts");
  const { loadSources } = await import("../src/data/sources.ts");
  const { buildWorld } = await import("../src/synth/world.ts");
  const { pickCanaries } = await import("../src/export/canary.ts");
  const { canaryRecord } = await import("../src/pipeline.ts");
  const { loadModel } = await import("../src/eval/model_io.ts");
  const { rotationModelPath, runRotations, siteEvalSets, siteFigures, siteLogits } = await import(
    "../src/sites.ts"
  );
  const dir = mkdtempSync(join(tmpdir(), "taugate-rotations-"));
  try {
    const world = buildWorld(loadSources(DEFAULT_DATA_DIR), 1, QUICK_RUN.world);
    const sites = loadSiteData(DEFAULT_DATA_DIR);
    const canaries = pickCanaries(world.train.flatMap((t) => t.attacks), 2, 1).map(canaryRecord);
    const [rot] = runRotations(world, sites, QUICK_RUN, 1, true, 5, [2], { dir, canaries });
    const m = loadModel(rotationModelPath(dir, 2, 1));
    assert.equal(m.tau, rot.tau);
    assert.equal(m.anchors.length, canaries.length, "its canaries are the residual's anchors");
    assert.ok(m.adapt.residual !== undefined, "adaptation settings the tenant API accepts");
    assert.deepEqual((m.model.meta.rotation as { testFold: number }).testFold, 2);
    // Its calibrated head scores the test fold exactly as the rotation measured it.
    const test = sites.filter((s) => s.fold === 2);
    const sets = siteEvalSets(test, world.pools, 1, QUICK_RUN.world, "query", QUICK_RUN.siteAttacks);
    const again = siteFigures(siteLogits(m.engine, m.head, sets), new Map(test.map((s) => [s.id, s.fold])), {
      a: 1,
      c: 0,
    }, m.tau);
    for (const [i, f] of again.entries()) {
      const was = rot.sites[i];
      assert.equal(f.site, was.site);
      assert.ok(
        Math.abs(f.block_logged - was.block_logged) <= 1e-4,
        `${f.site}: ${f.block_logged} vs ${was.block_logged}`,
      );
      assert.ok(Math.abs(f.auc - was.auc) <= 2e-3, `${f.site}: AUC ${f.auc} vs ${was.auc}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
