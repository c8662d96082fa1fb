import assert from "node:assert/strict";
import { importRawHttp } from "../../src/importers/mod.ts";
import { assertSkipped, fixture } from "./_helpers.ts";

Deno.test("raw: a Burp dump of two requests, CRLF, the second chunked", () => {
  const report = importRawHttp(fixture("burp.txt"), { label: 1 });
  assert.deepEqual(report.records, [
    {
      method: "GET",
      url: "/admin/users.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20-",
      headers: {
        host: "intranet.example.net",
        "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "accept-language": "en-US,en;q=0.5",
        "accept-encoding": "gzip, deflate, br",
        cookie: "PHPSESSID=1c9a77b0e3",
        "upgrade-insecure-requests": "1",
        connection: "keep-alive",
      },
      label: 1,
    },
    {
      method: "POST",
      url: "/api/v1/import",
      headers: {
        host: "intranet.example.net",
        "user-agent": "curl/8.5.0",
        "content-type": "application/x-www-form-urlencoded",
        "transfer-encoding": "chunked",
        connection: "close",
      },
      body: "file=..%2F..%2F..%2Fetc%2Fpasswd&x=",
      label: 1,
    },
  ]);
  assertSkipped(report, []);
});

Deno.test("raw: LF ends, leading blank lines, absolute-form, folded and repeated headers, Content-Length", () => {
  const text = [
    "",
    "",
    "POST http://api.example.com/v2/items?x=1 HTTP/1.0",
    "Host: api.example.com",
    "X-Long: first",
    "\tsecond",
    "Cookie: a=1",
    "Cookie: b=2",
    "Accept: text/html",
    "accept: */*",
    "Content-Length: 13",
    "",
    'café={"a":1}',
    "GET /next HTTP/2",
    "",
  ].join("\n");
  const report = importRawHttp(text);
  assert.deepEqual(report.records, [
    {
      method: "POST",
      url: "http://api.example.com/v2/items?x=1",
      headers: {
        host: "api.example.com",
        "x-long": "first second",
        cookie: "a=1; b=2",
        accept: "text/html, */*",
        "content-length": "13",
      },
      body: 'café={"a":1}', // 13 bytes of UTF-8, 12 characters
    },
    { method: "GET", url: "/next" },
  ]);
  assertSkipped(report, []);
});

Deno.test("raw: without Content-Length or chunking there is no body; text after it is reported", () => {
  const text =
    "POST /form HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nq=1\r\nr=2\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nGET /d HTTP/1.1\r\n";
  const report = importRawHttp(text);
  assert.deepEqual(report.records, [
    { method: "POST", url: "/form", headers: { "content-type": "application/x-www-form-urlencoded" } },
    { method: "GET", url: "/b" },
    { method: "GET", url: "/c" },
    { method: "GET", url: "/d" },
  ]);
  assertSkipped(report, [[
    4,
    'not a request line (METHOD TARGET HTTP/x): "q=1" (a body without Content-Length?)',
  ]]);
});

Deno.test("raw: a bad request line is skipped and reading resumes at the next request line", () => {
  const text = [
    "GET /ok HTTP/1.1", // 1
    "",
    "GET /no-version", // 3
    "Host: a",
    "",
    "hello world", // 6
    "more junk",
    "",
    "G@T / HTTP/1.1", // 9
    "",
    "GET / HTTP/x", // 11
    "",
    "DELETE /items/7 HTTP/1.1", // 13
    "Host: a",
  ].join("\r\n");
  const report = importRawHttp(text);
  assert.deepEqual(report.records, [
    { method: "GET", url: "/ok" },
    { method: "DELETE", url: "/items/7", headers: { host: "a" } },
  ]);
  assertSkipped(report, [
    [3, 'not a request line (METHOD TARGET HTTP/x): "GET /no-version"'],
    [6, 'not a request line (METHOD TARGET HTTP/x): "hello world"'],
    [9, 'method "G@T" is not an HTTP token'],
    [11, 'not an HTTP version: "HTTP/x"'],
  ]);
});

Deno.test("raw: a Content-Length longer than the data skips that request only", () => {
  const text = [
    "POST /a HTTP/1.1", // 1
    "Content-Length: 500",
    "",
    "short body",
    "",
    "GET /after HTTP/1.1", // 6
    "",
  ].join("\n");
  const report = importRawHttp(text);
  assert.deepEqual(report.records, [{ method: "GET", url: "/after" }]);
  assertSkipped(report, [[1, "Content-Length 500 but only 32 bytes follow"]]);
});

Deno.test("raw: malformed headers, framing and chunks are reported with the line at fault", () => {
  const text = [
    "GET /1 HTTP/1.1", // 1
    "Host a",
    "",
    "GET /2 HTTP/1.1", // 4
    " folded-before-any-header",
    "",
    "POST /3 HTTP/1.1", // 7
    "Content-Length: 12abc",
    "",
    "POST /4 HTTP/1.1", // 10
    "Transfer-Encoding: gzip",
    "",
    "POST /5 HTTP/1.1", // 13
    "Transfer-Encoding: chunked",
    "",
    "zz", // 16
    "",
    "POST /6 HTTP/1.1", // 18
    "Transfer-Encoding: chunked",
    "",
    "ff", // 21
    "abc",
    "",
    "POST /7 HTTP/1.1", // 24
    "Transfer-Encoding: chunked",
    "",
    "2",
    "abcdef", // 28
    "0",
    "",
    "GET /8 HTTP/1.1", // 31
    "__proto__: x",
    "",
    "POST /9 HTTP/1.1", // 34
    "Transfer-Encoding: chunked",
    "",
    "3",
    "abc",
  ].join("\n");
  const report = importRawHttp(text);
  assert.deepEqual(report.records, []);
  assertSkipped(report, [
    [1, 'line 2: not a header line (NAME: value): "Host a"'],
    [4, "line 5: continuation line before any header"],
    [7, 'bad Content-Length "12abc"'],
    [10, 'unsupported Transfer-Encoding "gzip"'],
    [13, 'line 16: bad chunk size "zz"'],
    [18, `line 21: chunk of 255 bytes but only ${text.length - text.indexOf("\nff\n") - 4} follow`],
    [24, "line 28: chunk data longer than its size 2"],
    [31, 'forbidden key "__proto__" at "headers.__proto__"'],
    [34, "chunked body ends before its last (0-size) chunk"],
  ]);
});

Deno.test("raw: more than 100 headers, or a body over the limit, skip the request", () => {
  const many = ["GET /h HTTP/1.1", ...Array.from({ length: 101 }, (_, i) => `X-H${i}: v`), "", ""].join("\n");
  assertSkipped(importRawHttp(many), [[1, "line 102: more than 100 headers"]]);
  const big = `POST /b HTTP/1.1\nContent-Length: 70000\n\n${"b".repeat(70000)}\n`;
  assertSkipped(importRawHttp(big), [[1, "body: at most 65536 characters"]]);
});
