import assert from "node:assert/strict";
import { importHar } from "../../src/importers/mod.ts";
import { assertSkipped, fixture } from "./_helpers.ts";

const CHROME_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36";

Deno.test("har: a Chrome export with HTTP/2 pseudo-headers, split cookies and a JSON POST", () => {
  const report = importHar(fixture("chrome.har"), { label: 0, tenant: "shop-1" });
  assert.deepEqual(report.records, [
    {
      method: "GET",
      url: "https://shop.example.com/search?q=red%20shoes&page=2",
      headers: {
        accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "accept-encoding": "gzip, deflate, br, zstd",
        "accept-language": "en-GB,en;q=0.9",
        cookie: "sid=8f2c1e; theme=dark",
        "sec-ch-ua": '"Chromium";v="134", "Not:A-Brand";v="24"',
        "upgrade-insecure-requests": "1",
        "user-agent": CHROME_UA,
        host: "shop.example.com",
      },
      label: 0,
      tenant: "shop-1",
    },
    {
      method: "POST",
      url: "https://shop.example.com/api/cart",
      headers: {
        accept: "application/json",
        "content-length": "44",
        "content-type": "application/json",
        cookie: "sid=8f2c1e; theme=dark",
        origin: "https://shop.example.com",
        referer: "https://shop.example.com/search?q=red%20shoes&page=2",
        "user-agent": CHROME_UA,
        host: "shop.example.com",
      },
      body: `{"sku":"RS-42","qty":1,"note":"gift ' or 1=1"}`,
      label: 0,
      tenant: "shop-1",
    },
  ]);
  assertSkipped(report, []);
});

Deno.test("har: a Firefox export with postData.params, repeated headers and a base64 body", () => {
  const report = importHar(fixture("firefox.har"), { label: 1, family: "bruteforce" });
  assert.deepEqual(report.records, [
    {
      method: "POST",
      url: "https://blog.example.org/wp-login.php",
      headers: {
        host: "blog.example.org",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:136.0) Gecko/20100101 Firefox/136.0",
        accept: "text/html,application/xhtml+xml, */*",
        "content-type": "application/x-www-form-urlencoded",
        "content-length": "45",
        origin: "https://blog.example.org",
        cookie: "wordpress_test_cookie=WP%20Cookie%20check",
      },
      body: "log=admin&pwd=p%26ss+w%3Drd&redirect_to=%2Fwp-admin%2F",
      label: 1,
      family: "bruteforce",
    },
    {
      method: "PUT",
      url: "https://blog.example.org/wp-json/wp/v2/posts/7",
      headers: { host: "blog.example.org", "content-type": "text/plain;charset=UTF-8" },
      body: "title=Café <script>",
      label: 1,
      family: "bruteforce",
    },
  ]);
  assertSkipped(report, []);
});

Deno.test("har: host wins over :authority; text wins over params unless empty; no postData, no body", () => {
  const har = {
    log: {
      entries: [
        {
          request: {
            method: "POST",
            url: "https://a.example/x",
            headers: [
              { name: ":authority", value: "b.example" },
              { name: "Host", value: "a.example" },
              { name: ":path", value: "/x" },
            ],
            postData: { mimeType: "text/plain", text: "raw", params: [{ name: "p", value: "1" }] },
          },
        },
        { request: { method: "GET", url: "https://a.example/" } },
        {
          request: {
            method: "POST",
            url: "https://a.example/f",
            postData: {
              mimeType: "application/x-www-form-urlencoded",
              text: "",
              params: [{ name: "a", value: "1 2" }],
            },
          },
        },
      ],
    },
  };
  const report = importHar(JSON.stringify(har));
  assert.deepEqual(report.records, [
    { method: "POST", url: "https://a.example/x", headers: { host: "a.example" }, body: "raw" },
    { method: "GET", url: "https://a.example/" },
    { method: "POST", url: "https://a.example/f", body: "a=1+2" },
  ]);
});

Deno.test("har: each bad entry is skipped with its 1-based index and reason", () => {
  const good = { request: { method: "GET", url: "https://a.example/ok", headers: [] } };
  const entries = [
    good, // 1
    "not an entry", // 2
    { response: {} }, // 3
    { request: { method: 1, url: "/" } }, // 4
    { request: { method: "GET", url: "/", headers: { host: "a" } } }, // 5
    { request: { method: "GET", url: "/", headers: [{ name: "a" }] } }, // 6
    { request: { method: "GET", url: "/", headers: [{ name: "__proto__", value: "x" }] } }, // 7
    { request: { method: "GET", url: "/", headers: [{ name: "bad name", value: "x" }] } }, // 8
    { request: { method: "POST", url: "/", postData: { text: "%%%", encoding: "base64" } } }, // 9
    { request: { method: "POST", url: "/", postData: { text: "x", encoding: "gzip" } } }, // 10
    { request: { method: "POST", url: "/", postData: { params: [{ value: "1" }] } } }, // 11
    { request: { method: "GET", url: "/" + "a".repeat(9000) } }, // 12
    { request: { method: "POST", url: "/", postData: { text: "b".repeat(70000) } } }, // 13
    { request: { method: "GET", url: "" } }, // 14
    good, // 15
  ];
  const report = importHar(JSON.stringify({ log: { version: "1.2", entries } }));
  assert.deepEqual(report.records, [
    { method: "GET", url: "https://a.example/ok" },
    { method: "GET", url: "https://a.example/ok" },
  ]);
  assertSkipped(report, [
    [2, "entry has no request object"],
    [3, "entry has no request object"],
    [4, "request.method is not a string"],
    [5, "request.headers is not an array"],
    [6, "request.headers[0] is not a {name, value} pair of strings"],
    [7, 'forbidden key "__proto__" at "headers.__proto__"'],
    [8, 'headers["bad name"]: name is not an HTTP token'],
    [9, "request.postData.text is not valid base64"],
    [10, 'unsupported request.postData.encoding "gzip"'],
    [11, "request.postData.params[0] is not a {name, value} pair of strings"],
    [12, "url: at most 8192 characters"],
    [13, "body: at most 65536 characters"],
    [14, "url: empty"],
  ]);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

Deno.test("har: a file that is not a HAR archive is reported as a whole (line 0)", () => {
  const truncated = fixture("chrome.har").slice(0, 900);
  assertSkipped(importHar(truncated), [[0, ["not a HAR file: invalid JSON: "]]]);
  assertSkipped(importHar('{"log":{"entries":{}}}'), [[0, "not a HAR file: no log.entries array"]]);
  assertSkipped(importHar("[1,2]"), [[0, "not a HAR file: no log.entries array"]]);
  assertSkipped(importHar('{"log":{"__proto__":{"entries":[]}}}'), [[
    0,
    "not a HAR file: no log.entries array",
  ]]);
  assert.deepEqual(importHar('{"log":{"entries":[]}}'), { records: [], skipped: [], total: 0 });
});

Deno.test("har: the record limit stops at the entry that would exceed it", () => {
  const entries = Array.from({ length: 4 }, (_, i) => ({ request: { method: "GET", url: `/${i}` } }));
  const report = importHar(JSON.stringify({ log: { entries } }), { maxRecords: 2 });
  assert.deepEqual(report.records.map((r) => r.url), ["/0", "/1"]);
  assertSkipped(report, [[3, "record limit (2) reached: this and later entries not read"]]);
});
