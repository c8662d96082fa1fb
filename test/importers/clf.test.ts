import assert from "node:assert/strict";
import { importClf } from "../../src/importers/mod.ts";
import { assertSkipped, fixture } from "./_helpers.ts";

Deno.test("clf: nginx combined log with \\xHH escapes, HTTP/2 and a TLS handshake on the HTTP port", () => {
  const report = importClf(fixture("nginx.log"), { tenant: "shop-1" });
  assert.deepEqual(report.records, [
    {
      method: "GET",
      url: "/search?q=red+shoes",
      headers: {
        referer: "https://shop.example.com/",
        "user-agent":
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36",
      },
      tenant: "shop-1",
    },
    {
      method: "GET",
      url: '/index.php?s="><script>alert(1)</script>',
      headers: { "user-agent": "sqlmap/1.8#stable (https://sqlmap.org)" },
      tenant: "shop-1",
    },
    {
      method: "POST",
      url: "/café/login",
      headers: { referer: "https://shop.example.com/café", "user-agent": 'Mozilla/5.0 "quoted" agent' },
      tenant: "shop-1",
    },
  ]);
  assertSkipped(report, [
    [
      3,
      'request "\\u0016\\u0003\\u0001\\u0002\\u0000\\u0001\\u0000\\u0001�\\u0003\\u0003" is not METHOD TARGET HTTP/x',
    ],
  ]);
});

Deno.test('clf: Apache combined and common lines with \\" and \\\\ escapes', () => {
  const report = importClf(fixture("apache.log"), { label: 1 });
  assert.deepEqual(report.records, [
    {
      method: "GET",
      url: "/apache_pb.gif",
      headers: {
        referer: "http://www.example.com/start.html",
        "user-agent": "Mozilla/4.08 [en] (Win98; I ;Nav)",
      },
      label: 1,
    },
    {
      method: "GET",
      url: "/cgi-bin/test.cgi?cmd=;cat%20/etc/passwd",
      headers: { "user-agent": 'Mozilla/5.0 "compatible" \\scanner\\' },
      label: 1,
    },
    { method: "GET", url: "/common-format-no-agent", label: 1 },
  ]);
  assertSkipped(report, []);
});

Deno.test("clf: the target is kept as logged, spaces and HTTP/0.9 included", () => {
  const line = (request: string) => `10.0.0.1 - - [02/Mar/2026:10:00:00 +0000] "${request}" 400 0 "-" "-"`;
  const report = importClf(
    [line("GET /a b/../c%2e%2e HTTP/1.1"), line("GET /"), line("OPTIONS * HTTP/1.1")].join("\n"),
  );
  assert.deepEqual(report.records, [
    { method: "GET", url: "/a b/../c%2e%2e" },
    { method: "GET", url: "/" },
    { method: "OPTIONS", url: "*" },
  ]);
});

Deno.test("clf: broken lines are skipped with their number and reason", () => {
  const ok = '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /ok HTTP/1.1" 200 12 "-" "curl/8"';
  const lines = [
    ok, // 1
    '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /a HTTP/1.1 200 12 "-" "curl/8"', // 2: unescaped quote
    '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8', // 3: no closing quote
    '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000 "GET /a HTTP/1.1" 200 12', // 4: no ]
    '1.2.3.4 - - 02/Mar/2026 "GET /a HTTP/1.1" 200 12', // 5: no [date]
    "1.2.3.4 - - [d] GET /a HTTP/1.1 200 12", // 6: request not quoted
    '1.2.3.4 - - [d] "GET /a HTTP/1.1" OK 12', // 7: status not a number
    '1.2.3.4 - - [d] "-" 408 0 "-" "-"', // 8: nothing logged
    '1.2.3.4 - - [d] "GET" 400 0', // 9: no target
    '1.2.3.4 - - [d] "G\\x22T /a HTTP/1.1" 400 0', // 10: method not a token
    "#Fields: date time cs-method", // 11: not CLF at all
    '1.2.3.4 - - [d] "GET /a HTTP/1.1" 200 0 "-" "curl/8" "__proto__"', // 12: extra fields are ignored
    "", // blank: not an entry
  ];
  const report = importClf(lines.join("\r\n"));
  assert.deepEqual(report.records, [
    { method: "GET", url: "/ok", headers: { "user-agent": "curl/8" } },
    { method: "GET", url: "/a", headers: { "user-agent": "curl/8" } },
  ]);
  assertSkipped(report, [
    [2, "no space after the field ending at column 66 (broken quote?)"],
    [3, "unterminated quote at column 71"],
    [4, "unterminated [ at column 13"],
    [5, "the 4th field is not a [date]"],
    [6, 'the 5th field is not a "request"'],
    [7, 'status "OK" is not a 3-digit number'],
    [8, "no request line logged"],
    [9, 'request "GET" is not METHOD TARGET HTTP/x'],
    [10, 'request "G\\"T /a HTTP/1.1" is not METHOD TARGET HTTP/x'],
    [11, "4 fields, a Common Log line has at least 7"],
  ]);
});

Deno.test("clf: a quoted header value over the limit skips its line only", () => {
  const long = "a".repeat(16385);
  const text =
    `1.2.3.4 - - [d] "GET /x HTTP/1.1" 200 0 "-" "${long}"\n1.2.3.4 - - [d] "GET /y HTTP/1.1" 200 0`;
  const report = importClf(text);
  assert.deepEqual(report.records, [{ method: "GET", url: "/y" }]);
  assertSkipped(report, [[1, 'headers["user-agent"]: at most 16384 characters']]);
});
