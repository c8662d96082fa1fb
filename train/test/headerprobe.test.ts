// `headerprobe`'s placements: each puts the payload into the header it names, as attackers send it, and
// leaves the request's other headers alone; the reference puts it in a query parameter (plain and as base64).
import assert from "node:assert/strict";
import { test } from "node:test";
import { PLACEMENTS, type Probe } from "../src/cli/headerprobe.ts";

test("headerprobe: each placement puts the payload in its header and leaves the others", () => {
  const payload = "' OR 1=1--\r\n<script>alert(1)</script>";
  const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";
  const seen = new Set<string>();
  for (const [name, place] of Object.entries(PLACEMENTS)) {
    const r: Probe = {
      url: "/shop/item?id=3",
      headers: { "user-agent": ua, accept: "text/html", referer: "https://a.example/" },
    };
    place(r, payload, "site.example", "/shop/item");
    assert.equal(r.headers.accept, "text/html", `${name}: other headers kept`);
    if (name.startsWith("query parameter")) {
      assert.ok(r.url.startsWith("/shop/item?id=3&q="), r.url);
      const q = decodeURIComponent(r.url.slice(r.url.indexOf("&q=") + 3));
      if (name.endsWith("base64")) {
        assert.ok(/^[A-Za-z0-9+/]+=*$/.test(q), `${name}: ${q}`);
        assert.equal(new TextDecoder().decode(Uint8Array.from(atob(q), (c) => c.charCodeAt(0))), payload);
      } else assert.equal(q, payload);
      assert.equal(r.headers["user-agent"], ua);
      seen.add("query");
      continue;
    }
    assert.equal(r.url, "/shop/item?id=3", `${name}: the URL kept`);
    const header = name.split(",")[0];
    const v = r.headers[header];
    assert.ok(v !== undefined, `${name}: sets ${header}`);
    assert.ok(!/[\r\n]/.test(v), `${name}: no raw line break in a header value`);
    const plain = decodeURIComponent(v);
    assert.ok(plain.includes("<script>alert(1)</script>") && plain.includes("' OR 1=1--"), `${name}: ${v}`);
    if (name === "user-agent, appended") {
      assert.ok(v.startsWith(`${ua} `), "after the client's own user agent");
    }
    if (name.startsWith("referer, link")) {
      assert.ok(v.startsWith("https://site.example/"), "a link of the site");
    }
    if (header !== "user-agent") assert.equal(r.headers["user-agent"], ua, `${name}: the user agent kept`);
    seen.add(header);
  }
  assert.deepEqual([...seen].sort(), ["query", "referer", "user-agent", "x-forwarded-for"]);
});
