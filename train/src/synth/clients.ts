/**
 * Client context from real distributions: browser header sets from `header-generator` (a Bayesian network
 * learned from real browser traffic: `sec-ch-ua*`, `sec-fetch-*`, `accept*`, `upgrade-insecure-requests`
 * in the orders and combinations real browsers send), and the sparse headers of crawlers, feed readers,
 * monitors and HTTP libraries. Context is the same for benign and attack requests of a tenant, so a model
 * trained on it learns that context alone is no evidence.
 *
 * `header-generator` draws from `Math.random`; every draw here runs with `Math.random` replaced by the
 * caller's seeded stream, so a run stays deterministic for its seed.
 *
 * @module
 */
import { HeaderGenerator } from "header-generator";
import { Rng } from "../util/rng.ts";
import { edgeHeaders, edgeOf } from "./edge.ts";

/** What kind of client a user agent is. */
export type AgentKind = "browser" | "bot" | "none";

const BOT_MARKERS = [
  "bot",
  "crawl",
  "spider",
  "slurp",
  "feed",
  "rss",
  "monitor",
  "uptime",
  "pingdom",
  "curl/",
  "wget",
  "python",
  "java/",
  "go-http",
  "okhttp",
  "libwww",
  "apache-httpclient",
  "axios",
  "node-fetch",
  "preview",
  "facebookexternalhit",
  "whatsapp",
  "telegram",
  "headless",
  "archive",
  "dalvik",
  "cfnetwork",
];

/** Whether a user agent is a browser, a bot or tool, or absent. */
export function agentKind(ua: string | undefined): AgentKind {
  if (!ua) return "none";
  const l = ua.toLowerCase();
  for (const m of BOT_MARKERS) if (l.includes(m)) return "bot";
  return l.startsWith("mozilla/") || l.startsWith("opera/") ? "browser" : "bot";
}

let generator: HeaderGenerator | null = null;

function withRandom<T>(rng: Rng, f: () => T): T {
  const saved = Math.random;
  Math.random = () => rng.next();
  try {
    return f();
  } finally {
    Math.random = saved;
  }
}

const LOCALES = [
  "en-US",
  "en-GB",
  "de-DE",
  "fr-FR",
  "es-ES",
  "pt-BR",
  "ru-RU",
  "ja-JP",
  "ko-KR",
  "zh-CN",
  "tr-TR",
  "nl-NL",
  "th-TH",
  "it-IT",
  "pl-PL",
];

/** Header sets drawn once per device kind: drawing from the network costs about 0.7 ms a call. */
const POOL_SIZE = 2500;
const pools: { mobile?: Record<string, string>[]; desktop?: Record<string, string>[] } = {};

function pool(mobile: boolean): Record<string, string>[] {
  const key = mobile ? "mobile" : "desktop";
  const cached = pools[key];
  if (cached) return cached;
  generator ??= new HeaderGenerator({ httpVersion: "2" });
  // Its own seeded stream: the pool is the same whatever drew from it before.
  const rng = new Rng(0x4eade5, key);
  const out: Record<string, string>[] = [];
  withRandom(rng, () => {
    for (let i = 0; i < POOL_SIZE; i++) {
      out.push(generator!.getHeaders({
        browsers: mobile ? ["chrome", "safari"] : ["chrome", "firefox", "safari", "edge"],
        devices: [mobile ? "mobile" : "desktop"],
        operatingSystems: mobile ? ["android", "ios"] : ["windows", "macos", "linux"],
        locales: rng.sample(LOCALES, 1 + rng.int(3)),
      }) as Record<string, string>);
    }
  });
  pools[key] = out;
  return out;
}

/**
 * A browser's header set (lower-case names, in sending order), without `user-agent`, `cookie`, `host` and
 * `referer` (the caller's), for a page load or, with `xhr`, a script's fetch.
 *
 * @param rng The seeded stream.
 * @param mobile A phone's browser.
 * @param xhr A fetch/XHR (JSON accept, `sec-fetch-mode: cors`) instead of a navigation.
 * @returns The headers, and the user agent the generator drew (for requests that have none of their own).
 */
export function browserHeaders(
  rng: Rng,
  mobile: boolean,
  xhr = false,
): { headers: [string, string][]; ua: string } {
  const h = rng.pick(pool(mobile));
  let ua = "";
  const out: [string, string][] = [];
  for (const [k0, v] of Object.entries(h)) {
    const k = k0.toLowerCase();
    if (k === "user-agent") {
      ua = v;
      continue;
    }
    if (k === "cookie" || k === "host" || k === "referer") continue;
    out.push([k, v]);
  }
  if (xhr) {
    for (const p of out) {
      if (p[0] === "accept") p[1] = rng.pick(["application/json, text/plain, */*", "*/*"]);
      if (p[0] === "sec-fetch-mode") p[1] = "cors";
      if (p[0] === "sec-fetch-dest") p[1] = "empty";
    }
    const i = out.findIndex((p) => p[0] === "upgrade-insecure-requests" || p[0] === "sec-fetch-user");
    if (i >= 0) out.splice(i, 1);
  }
  // Current Chrome, Edge and Firefox send an HTTP/2 priority header (RFC 9218); the generator's sets predate it.
  if (rng.chance(0.5)) out.push(["priority", xhr ? "u=1, i" : "u=0, i"]);
  return { headers: out, ua };
}

/** Headers a crawler, feed reader, monitor or HTTP library sends besides its user agent. */
export function botHeaders(rng: Rng, ua: string): [string, string][] {
  const l = ua.toLowerCase();
  const out: [string, string][] = [];
  if (l.includes("feed") || l.includes("rss")) {
    out.push(["accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"]);
    if (rng.chance(0.5)) out.push(["if-modified-since", new Date(1.6e12 + rng.int(1e11)).toUTCString()]);
    if (rng.chance(0.4)) out.push(["if-none-match", `"${rng.int(1e9).toString(16)}"`]);
  } else if (rng.chance(0.7)) {
    out.push([
      "accept",
      rng.pick(["*/*", "text/html,application/xhtml+xml", "text/html", "application/json"]),
    ]);
  }
  if (rng.chance(0.6)) {
    out.push(["accept-encoding", rng.pick(["gzip", "gzip, deflate", "gzip, deflate, br", "br"])]);
  }
  if (l.includes("googlebot") || l.includes("bingbot")) {
    if (rng.chance(0.5)) {
      out.push(["from", l.includes("google") ? "googlebot(at)googlebot.com" : "bingbot(at)microsoft.com"]);
    }
  }
  if (rng.chance(0.15)) out.push(["connection", rng.pick(["close", "keep-alive"])]);
  if (rng.chance(0.1)) out.push(["cache-control", "no-cache"]);
  return out;
}

/**
 * The headers of a logged request (user agent and referer only) with the rest of its client's context
 * synthesised: a browser's full header set, a bot's sparse one, or, with probability `asLogged`, nothing
 * more than the log has.
 *
 * @param rng The seeded stream.
 * @param logged The record's headers (`user-agent`, `referer`, `host`).
 * @param asLogged Share of requests left exactly as logged.
 * @param host The site's host: a dressed request also gets the headers of the site's edge (`edgeHeaders`).
 */
export function contextHeaders(
  rng: Rng,
  logged: Record<string, string>,
  asLogged: number,
  host?: string,
): [string, string][] {
  const ua = logged["user-agent"];
  const out: [string, string][] = [];
  if (ua !== undefined) out.push(["user-agent", ua]);
  if (!rng.chance(asLogged)) {
    const kind = agentKind(ua);
    if (kind === "browser") {
      const mobile = /mobile|android|iphone|ipad/i.test(ua!);
      const { headers } = browserHeaders(rng, mobile);
      // Only Chromium sends client hints; a Firefox or Safari user agent keeps its own kind of header set.
      const chromium = /chrome\/|chromium|edg\//i.test(ua!);
      for (const p of headers) if (chromium || !p[0].startsWith("sec-ch-")) out.push(p);
    } else if (kind === "bot") {
      out.push(...botHeaders(rng, ua!));
    }
    if (host !== undefined) out.push(...edgeHeaders(rng, edgeOf(host), host));
  }
  if (logged["referer"] !== undefined) out.push(["referer", logged["referer"]]);
  return out;
}
