// `headerprobe`'s placements: each puts the payload into the header it names, as attackers send it, and
// leaves the request's other headers alone; the others put it in a query parameter (plain, as base64, as the
// name), a posted form's value, a JSON body's value, a multipart form (a value, a part's name) or a SOAP
// call's element (escaped, CDATA).
import assert from "node:assert/strict";
import { test } from "node:test";
import { PLACEMENTS, type Probe } from "../src/cli/headerprobe.ts";

/** XML character data or an attribute's value as the text it stands for. */
const unescapeXml = (s: string) =>
  s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&amp;", "&");

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
    if (name === "form value" || name.startsWith("JSON")) {
      // A POST whose body is what a browser's form or an API client sends, the payload a field's value.
      assert.equal(r.method, "POST");
      assert.equal(r.url, "/shop/item?id=3");
      assert.equal(r.headers["user-agent"], ua);
      if (name === "form value") {
        assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
        const fields = new URLSearchParams(r.body!);
        assert.equal(fields.get("comment"), payload);
        assert.equal(fields.get("name"), "Anna");
      } else if (name === "JSON value") {
        assert.equal(r.headers["content-type"], "application/json");
        assert.equal((JSON.parse(r.body!) as { comment: string }).comment, payload);
      } else {
        assert.equal(r.headers["content-type"], "application/json");
        const doc = JSON.parse(r.body!) as Record<string, unknown>;
        assert.equal(doc[payload], "1", r.body);
        assert.equal(doc.productId, 7);
      }
      seen.add(name);
      continue;
    }
    if (name.startsWith("multipart") || name.startsWith("XML")) {
      // A POST whose body carries the payload where the placement says; the URL and the client's headers kept.
      assert.equal(r.method, "POST");
      assert.equal(r.url, "/shop/item?id=3");
      assert.equal(r.headers["user-agent"], ua);
      const body = r.body!;
      if (name.startsWith("multipart")) {
        const boundary = /boundary=(\S+)/.exec(r.headers["content-type"])![1];
        const parts = body.split(`--${boundary}`).slice(1, -1);
        assert.equal(parts.length, 2, body);
        const [head, value] = parts[1].split("\r\n\r\n");
        if (name.endsWith("name")) {
          // As a browser writes a name: `"` and line breaks percent-encoded, the rest as it is.
          assert.ok(head.includes(`name="' OR 1=1--%0D%0A<script>alert(1)</script>"`), head);
          assert.equal(value, "1\r\n");
        } else assert.equal(value, `${payload}\r\n`);
      } else {
        assert.equal(r.headers["content-type"], "text/xml; charset=utf-8");
        assert.ok(body.startsWith('<?xml version="1.0"') && body.endsWith("</soap:Envelope>"), body);
        if (name === "XML attribute") {
          const attr = /<name lang="([^"]*)">Anna<\/name>/s.exec(body)![1];
          assert.equal(unescapeXml(attr), payload);
          assert.ok(!/[<"]/.test(attr), "no raw markup or quote in the attribute");
          seen.add("XML");
          continue;
        }
        const text = /<name>(.*)<\/name>/s.exec(body)![1];
        assert.equal(
          name.endsWith("CDATA") ? text : unescapeXml(text),
          name.endsWith("CDATA") ? `<![CDATA[${payload}]]>` : payload,
        );
        if (!name.endsWith("CDATA")) assert.ok(!text.includes("<"), "no raw markup in the element");
      }
      seen.add(name.split(" ")[0]);
      continue;
    }
    if (name.startsWith("query parameter")) {
      assert.ok(r.url.startsWith("/shop/item?id=3&"), r.url);
      const q = decodeURIComponent(r.url.slice(r.url.indexOf("&q=") + 3));
      if (name.endsWith("name")) {
        assert.ok(r.url.endsWith("=1"), r.url);
        assert.equal(decodeURIComponent(r.url.slice(r.url.indexOf("&") + 1, -2)), payload);
      } else if (!r.url.startsWith("/shop/item?id=3&q=")) assert.fail(r.url);
      else if (name.endsWith("base64")) {
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
  assert.deepEqual([...seen].sort(), [
    "JSON key",
    "JSON value",
    "XML",
    "form value",
    "multipart",
    "query",
    "referer",
    "user-agent",
    "x-forwarded-for",
  ]);
});
