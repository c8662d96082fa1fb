import assert from "node:assert/strict";
import { viewFromRequest } from "../../src/features/mod.ts";
import { headerPairs } from "../../src/middleware/headers.ts";
import { requestIdOf, requestIdOfHeaders } from "../../src/middleware/request_id.ts";

const browser = {
  "User-Agent": "Mozilla/5.0",
  "Accept": "text/html",
  "X-Taugate-Score": "0.01",
  "Cookie": "a=1",
  "Accept-Language": "en",
};

Deno.test("headerPairs: the pairs Headers iterates (lower case, sorted, combined), without the skipped names", () => {
  const h = new Headers(browser);
  h.append("accept", "application/json");
  assert.deepEqual(headerPairs(h), [...h]);
  const skipped = headerPairs(h, new Set(["x-taugate-score", "cookie"]));
  assert.deepEqual(skipped, [...h].filter(([n]) => n !== "x-taugate-score" && n !== "cookie"));
  // A copy built from the pairs equals one built from the Headers object.
  assert.deepEqual([...new Headers(headerPairs(h))], [...new Headers(h)]);
});

Deno.test("requestIdOfHeaders: the same id as requestIdOf, from a view's header list", async () => {
  const ray = new Request("http://x/", { headers: { ...browser, "CF-Ray": "8a1b2c3d4e5f6789-AMS" } });
  const view = await viewFromRequest(ray, 1024);
  assert.equal(requestIdOfHeaders(view.headers), requestIdOf(ray));
  assert.equal(requestIdOfHeaders(view.headers), "8a1b2c3d4e5f6789-AMS");
  const long = new Request("http://x/", { headers: { "cf-ray": "r".repeat(100) } });
  assert.equal(requestIdOfHeaders((await viewFromRequest(long, 0)).headers), requestIdOf(long));
  // Without cf-ray (or with an empty one): generated, unique ids of the same form.
  for (const headers of [browser, { ...browser, "cf-ray": "" }]) {
    const view = await viewFromRequest(new Request("http://x/", { headers }), 1024);
    const a = requestIdOfHeaders(view.headers), b = requestIdOfHeaders(view.headers);
    assert.match(a, /^tg-[0-9a-f]{12}-[0-9a-z]+$/);
    assert.notEqual(a, b);
  }
});

Deno.test("x-taugate-score carries at most 4 significant digits (a client cannot tune a payload to τ)", async () => {
  const { formatScore } = await import("../../src/middleware/decision.ts");
  for (const x of [0, 1, 0.5, 0.99996712, 0.0001234567, 0.123456789, 1e-9, 0.97]) {
    const text = formatScore(x);
    const digits = text.replace(/^0\.0*|\.|e.*$/g, "").replace(/^0+/, "");
    assert.ok(digits.length <= 4, `${x} → ${text}`);
    assert.ok(Math.abs(Number(text) - x) <= Math.max(x * 5e-4, 1e-12), `${x} → ${text}`);
  }
  assert.equal(formatScore(0.99996712), "1");
  assert.equal(formatScore(0.0001234567), "0.0001235");
});
