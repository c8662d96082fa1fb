import assert from "node:assert/strict";
import {
  DENSE_NAMES,
  FEATURE_SPEC,
  featuresOfRecord,
  type FeatureTrace,
  lastExtractionWork,
  STRUCTURE_KINDS,
} from "../../src/features/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import { base64Text } from "../../src/features/extract.ts";

/** Names of everything hashed for a record, and its dense block by name. */
function inspect(rec: RequestRecord) {
  const trace: FeatureTrace = new Map();
  const fv = featuresOfRecord(rec, FEATURE_SPEC, trace);
  const names = new Set([...trace.values()].flat());
  const dense = Object.fromEntries(DENSE_NAMES.map((n, i) => [n, fv.dense[i]]));
  return { fv, names, dense };
}

const get = (url: string, headers: Record<string, string> = {}): RequestRecord => ({
  method: "GET",
  url,
  headers,
});

Deno.test("percent-decoding: single and double encoding give the same tokens, depth tells them apart", () => {
  const once = inspect(get("/a?q=%27%20union%20select"));
  const twice = inspect(get("/a?q=%2527%2520union%2520select"));
  for (const t of ["tok:union", "tok:select", "sym:'"]) {
    assert.ok(once.names.has(t), `once: ${t}`);
    assert.ok(twice.names.has(t), `twice: ${t}`);
  }
  assert.equal(once.dense.decode_depth, Math.fround(1 / 3));
  assert.equal(twice.dense.decode_depth, Math.fround(2 / 3));
});

Deno.test("plus is a space in query values but not in the path", () => {
  const q = inspect(get("/a+b?q=union+select"));
  assert.ok(q.names.has("tok:union") && q.names.has("tok:select"));
  assert.ok(q.names.has("path:a+b"), "path keeps +");
});

Deno.test("%uXXXX, \\uXXXX, \\xXX and HTML entities are decoded and counted", () => {
  const u = inspect(get("/a?x=%u003Cscript%u003E"));
  assert.ok(u.names.has("tok:script") && u.names.has("sym:<"));
  assert.ok(u.dense.unicode_escapes > 0);
  const js = inspect({
    method: "POST",
    url: "/a",
    headers: { "content-type": "application/json" },
    body: '{"b":"\\u003cimg\\x20src=x\\u003e"}',
  });
  assert.ok(js.names.has("tok:img") && js.names.has("sym:<"));
  const ent = inspect(get("/a?x=%26lt%3Bsvg%26%2362%3B%26%23x3c%3B"));
  assert.ok(ent.names.has("tok:svg") && ent.names.has("sym:<"));
  assert.ok(ent.dense.html_entities > 0);
});

Deno.test("NFKC folds full-width evasions to ASCII, and case folds", () => {
  const fw = inspect(get("/a?x=%EF%BC%9CSCRIPT%EF%BC%9E"));
  assert.ok(fw.names.has("tok:script"), [...fw.names].join(" "));
  assert.ok(fw.names.has("sym:<"));
});

Deno.test("inline comments and whitespace runs fold to one space; NUL and controls are counted", () => {
  const c = inspect(get("/a?x=1/**/union/*x*/select%09%09from%00users"));
  for (const t of ["tok:union", "tok:select", "tok:from", "tok:users"]) assert.ok(c.names.has(t), t);
  assert.ok(c.names.has("qval:on "), "comment became a space");
  assert.ok(c.dense.comments > 0 && c.dense.control_chars > 0);
});

Deno.test("a SQL comment's two or three dashes count once; a longer run of dashes is a separator", () => {
  for (const v of ["1'--", "1'%20--%20-", "1'---", "a--b--c"]) {
    assert.ok(inspect(get(`/a?x=${v}`)).dense.comments > 0, v);
  }
  const one = inspect(get("/a?x=1'--")).dense.comments;
  assert.equal(inspect(get("/a?x=1'---")).dense.comments, one, "a run counts once");
  for (const v of ["user_profile" + "-".repeat(27), "a----b", "----", "x-y-z"]) {
    assert.equal(inspect(get(`/a?x=${v}`)).dense.comments, 0, v);
  }
  // In a referer's link as in the request's own query.
  const ref = inspect(get("/a", { referer: "https://x.example/?source=user_profile" + "-".repeat(27) }));
  assert.equal(ref.dense.comments, 0);
});

Deno.test("an unclosed comment is text, and a long run of openers stays linear", () => {
  const r = inspect(get("/a?x=" + "/*x".repeat(2000)));
  assert.ok(r.names.has("sym:/*") && r.dense.comments === 0);
  assert.ok(lastExtractionWork().chars < 2 * FEATURE_SPEC.caps.value + 64);
});

Deno.test("invalid escapes and invalid UTF-8 are evidence, not errors", () => {
  const r = inspect(get("/a?x=%zz%4%%C3%28"));
  assert.ok(r.dense.invalid_escapes > 0);
  assert.ok(r.dense.invalid_utf8 > 0);
});

Deno.test("namespaces: the same text in a query value, path, header and cookie are different features", () => {
  const q = inspect(get("/x?v=select")).names;
  const p = inspect(get("/select")).names;
  const h = inspect(get("/x", { "x-v": "select" })).names;
  const c = inspect(get("/x", { cookie: "v=select" })).names;
  assert.ok(q.has("qval:sel") && p.has("path:sel") && h.has("tok:select") && c.has("cval:sel"));
  const vq = featuresOfRecord(get("/x?v=select"));
  const vc = featuresOfRecord(get("/x", { cookie: "v=select" }));
  assert.notDeepEqual(Array.from(vq.indices), Array.from(vc.indices));
});

Deno.test("headers: user-agent, referer, cookie, content-type, accept family and the set of names", () => {
  const r = inspect(get("/x", {
    "User-Agent": "sqlmap/1.7",
    Referer: "https://a.example/?q=1",
    Cookie: "sid=1",
    Accept: "text/html",
    "Accept-Language": "de",
    "X-Custom": "v",
  }));
  // Header names are the site profile's structure tokens, not features of the global vector (context).
  for (const t of ["hname:user-agent", "hname:x-custom"]) assert.ok(!r.names.has(t), t);
  const fewer = inspect(get("/x", { "User-Agent": "sqlmap/1.7" }));
  assert.ok(r.fv.structure.length > fewer.fv.structure.length, "one structure token per header name");
  assert.ok(
    r.names.has("tok:sqlmap") && r.names.has("tok:sid") && !r.names.has("key:sid"),
    "a scanner's name is a feature, in a header too",
  );
  // Context alone is no evidence: a client's plain words are not features, its keywords and symbols are.
  const ctx = inspect(
    get("/x", { "User-Agent": "Pocket Casts", Referer: "https://sogou.example/web?query=site" }),
  );
  assert.ok(!ctx.names.has("tok:pocket") && !ctx.names.has("tok:sogou") && !ctx.names.has("referer:sog"));
  const xss = inspect(get("/x", { Referer: "https://a.example/?q=<script>alert(1)</script>" }));
  assert.ok(xss.names.has("tok:script") && xss.names.has("tok:alert"), [...xss.names].join(" "));
  assert.equal(r.dense.no_user_agent, 0);
  assert.equal(inspect(get("/x")).dense.no_user_agent, 1);
});

const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";
const qvalNames = (names: Set<string>) => new Set([...names].filter((n) => n.startsWith("qval:")));

Deno.test("headers: what a client wrote into a referer's link, a user agent or a forwarding header is read as a query value", () => {
  const payload = "<script>alert(1)</script>";
  const inQuery = qvalNames(inspect(get(`/?q=${encodeURIComponent(payload)}`)).names);
  assert.ok(inQuery.size > 10);
  const placements: Record<string, Record<string, string>> = {
    "a referer's link, URL-encoded": {
      referer: `https://shop.example/p?a=1&q=${encodeURIComponent(payload)}#top`,
    },
    "a referer's link, raw": { referer: `https://shop.example/?q=${payload}` },
    "a referer that is no URL": { referer: payload },
    "after a browser's user agent": { "user-agent": `${CHROME} ${payload}` },
    "a whole user agent": { "user-agent": payload },
    "a forwarding header": { "x-forwarded-for": `203.0.113.7, ${payload}` },
  };
  for (const [where, headers] of Object.entries(placements)) {
    const names = inspect(get("/", headers)).names;
    const missing = [...inQuery].filter((n) => !names.has(n));
    assert.deepEqual(missing, [], where);
  }
  // What browsers, crawlers and proxies send stays context: no query value comes of it.
  const plain: Record<string, string>[] = [
    { "user-agent": CHROME, referer: "https://www.example.org/" },
    { "user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" },
    {
      "user-agent":
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.40.109]",
    },
    { "user-agent": "curl/8.5.0", "x-forwarded-for": "203.0.113.7, [2001:db8::1]:443, 10.0.0.1, unknown" },
  ];
  for (const headers of plain) {
    const extra = qvalNames(inspect(get("/", headers)).names);
    assert.deepEqual([...extra], [], JSON.stringify(headers));
  }
  // A search referer's query is read as a query: its terms, as the request's own query would give them.
  const search = inspect(get("/", { referer: "https://www.google.com/search?q=red+shoes" })).names;
  const own = qvalNames(inspect(get("/?q=red+shoes")).names);
  assert.deepEqual([...own].filter((n) => !search.has(n)), []);
});

Deno.test("bodies: form, JSON keys and values with bounded depth, multipart names and filenames, text", () => {
  const form = inspect({
    method: "POST",
    url: "/f",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "user=bob+smith&age=42",
  });
  assert.ok(form.names.has("bkey:use") && form.names.has("tok:smith") && form.names.has("bodykind:form"));
  const deep = "[".repeat(100) + '"x"' + "]".repeat(100);
  const json = inspect({
    method: "POST",
    url: "/j",
    headers: { "content-type": "application/json" },
    body: `{"a":{"b":${deep}}}`,
  });
  assert.equal(json.dense.json_depth, 1, "depth saturates at the cap");
  assert.ok(json.names.has("bkey:^a$") && json.names.has("bkey:^b$"));
  const mp = inspect({
    method: "POST",
    url: "/u",
    headers: { "content-type": 'multipart/form-data; boundary="b1"' },
    body: '--b1\r\nContent-Disposition: form-data; name="doc"; filename="x.php"\r\n\r\nhello\r\n--b1--\r\n',
  });
  assert.ok(mp.names.has("bkey:doc") && mp.names.has("bkey:fil") && mp.names.has("tok:php"));
  assert.ok(mp.names.has("tok:hello"));
  const text = inspect({
    method: "POST",
    url: "/t",
    headers: { "content-type": "text/plain" },
    body: "just words",
  });
  assert.ok(text.names.has("body:wor") && text.names.has("bodykind:text"));
});

Deno.test("parameter shapes: the same key with a number or with an injection differs (site structure tokens)", () => {
  const a = inspect(get("/p?id=12")).fv.structure;
  const b = inspect(get("/p?id=12'--")).fv.structure;
  const same = inspect(get("/p?id=34")).fv.structure;
  assert.deepEqual(Array.from(a), Array.from(same), "a number is a number");
  assert.notDeepEqual(Array.from(a), Array.from(b));
  // A parameter's name and value shape are site evidence: not in the global vector.
  assert.ok(
    ![...inspect(get("/p?id=12")).names].some((n) => n.startsWith("kvshape:") || n.startsWith("key:")),
  );
});

Deno.test("path shapes and extensions: backup and VCS probes", () => {
  const r = inspect(get("/config/web.xml.bak")).names;
  assert.ok(r.has("ext:bak") && !r.has("pshape:0:config"), "a literal segment is a site token only");
  assert.ok(inspect(get("/index.php~")).names.has("ext:~"));
  assert.ok(inspect(get("/users/123456/orders")).names.has("pshape:1:#digits"));
});

Deno.test("caps: a cut field, too many parameters or a long body set the truncation feature", () => {
  assert.equal(inspect(get("/p?x=1")).dense.truncated, 0);
  assert.equal(inspect(get("/p?x=" + "a".repeat(5000))).dense.truncated, 1);
  assert.equal(inspect(get("/p?" + "a=1&".repeat(500))).dense.truncated, 1);
  const body = {
    method: "POST",
    url: "/b",
    headers: { "content-type": "text/plain" },
    body: "x".repeat(100_000),
  };
  assert.equal(inspect(body).dense.truncated, 1);
});

Deno.test("bounded work: 20,000 parameters, a 64 KB header and a 20 MB body read only up to the caps", () => {
  const caps = FEATURE_SPEC.caps;
  const rec: RequestRecord = {
    method: "POST",
    url: "/p?" + Array.from({ length: 20_000 }, (_, i) => `k${i}=v${i}`).join("&"),
    headers: { "x-big": "A".repeat(65_536), "content-type": "application/x-www-form-urlencoded" },
    body: "a=b&".repeat(5_000_000),
  };
  featuresOfRecord(rec);
  const work = lastExtractionWork();
  const bound = caps.path + caps.query + caps.headers * caps.headerValue + caps.body +
    4 * (2 * caps.params + 64);
  assert.ok(work.chars <= bound, `${work.chars} <= ${bound}`);
  assert.ok(
    work.fields <= 2 * caps.params * 2 + caps.headers + 2 * caps.cookies + 8,
    `${work.fields} fields`,
  );
});

Deno.test("presence: repeating content neither inflates nor dilutes the sparse vector", () => {
  const body = (n: number): RequestRecord => ({
    method: "POST",
    url: "/notes",
    headers: { "content-type": "text/plain" },
    body: "select * from users where 1 ".repeat(n),
  });
  const twice = featuresOfRecord(body(2)), many = featuresOfRecord(body(250));
  assert.deepEqual(Array.from(many.indices), Array.from(twice.indices));
  assert.deepEqual(Array.from(many.values), Array.from(twice.values));
  const norm = Math.hypot(...many.values);
  assert.ok(norm < 3, `norm ${norm}`);
});

Deno.test("structure tokens: method, path shapes, extension, keys, shapes, headers, cookies, body kind", () => {
  const kinds = (rec: RequestRecord) => {
    const fv = featuresOfRecord(rec);
    const byKind = new Map<string, number[]>();
    for (const t of fv.structure) {
      const k = STRUCTURE_KINDS[t >>> 28];
      byKind.set(k, [...(byKind.get(k) ?? []), t & 0x0fffffff]);
    }
    return { byKind, all: Array.from(fv.structure) };
  };
  const a = kinds({
    method: "POST",
    url: "/shop/item.php?id=12&sort=asc",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: "sid=abc", accept: "*/*" },
    body: "qty=2",
  });
  assert.deepEqual(
    [...a.byKind.keys()].sort(),
    ["body", "cookie", "ext", "header", "key", "kvshape", "method", "path"],
  );
  assert.equal(a.byKind.get("key")!.length, 3, "id, sort, qty");
  assert.equal(new Set(a.all).size, a.all.length, "each token once");
  // The same parameter with a value of another shape changes exactly the shape token.
  const b = kinds({
    method: "POST",
    url: "/shop/item.php?id=x'--&sort=asc",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: "sid=abc", accept: "*/*" },
    body: "qty=2",
  });
  const onlyA = a.all.filter((t) => !b.all.includes(t)), onlyB = b.all.filter((t) => !a.all.includes(t));
  assert.equal(onlyA.length, 1);
  assert.equal(onlyB.length, 1);
  assert.equal(STRUCTURE_KINDS[onlyB[0] >>> 28], "kvshape");
});

Deno.test("normalisation keeps its evidence: dot segments and backslashes the URL parser removed are features", async () => {
  const { rawPathEvidence } = await import("../../src/features/extract.ts");
  assert.deepEqual(rawPathEvidence("/static/../../etc/passwd", 1024), { dots: 2, backslashes: 0 });
  assert.deepEqual(rawPathEvidence("/a/%2e%2e/.%2E/./x?q=../../", 1024), { dots: 3, backslashes: 0 });
  assert.deepEqual(rawPathEvidence("/a\\..\\win.ini", 1024), { dots: 1, backslashes: 2 });
  assert.deepEqual(rawPathEvidence("/.env/..hidden/a.b/...", 1024), { dots: 0, backslashes: 0 });
  const hidden = inspect({ method: "GET", url: "/static/../../etc/passwd" });
  const plain = inspect({ method: "GET", url: "/etc/passwd" });
  assert.ok(hidden.dense["raw_dot_segments"] > 0, "the traversal is seen though the path is /etc/passwd");
  assert.equal(plain.dense["raw_dot_segments"], 0);
  assert.ok(inspect({ method: "GET", url: "/a\\..\\b" }).dense["raw_backslashes"] > 0);
  // A canonical target has no raw form: nothing is counted twice.
  assert.equal(inspect({ method: "GET", url: "/shop/item?id=1" }).dense["raw_dot_segments"], 0);
});

Deno.test("a client header's own encoding is context: entities in an in-app browser's user agent are not counted", () => {
  const ua =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
    "Mobile/16B92 [FBAN/MessengerForiOS;FBAV/195.0.0.48.99;FBCR/&#12477-&#12501-&#12488-;FBLC/ja_JP]";
  const r = inspect(get("/images/top1_sp.jpg?crc=3819390581", { "user-agent": ua }));
  assert.equal(r.dense.html_entities, 0);
  assert.equal(r.dense.decode_depth, 0);
  // The same entities in a query value are the request's, and count.
  assert.ok(inspect(get("/a?x=%26%2312477%3B%26%2312501%3B")).dense.html_entities > 0);
  // A payload appended to a user agent is a value: its encoding counts.
  const appended = inspect(get("/a", { "user-agent": "Mozilla/5.0 %3Cscript%3Ealert(1)%3C/script%3E" }));
  assert.ok(appended.names.has("tok:script") && appended.dense.decode_depth > 0);
});

/**
 * A payload written where a client writes text into its headers, each read as a value: after a browser's user
 * agent, as the whole user agent, in a referer's link, as the whole referer, in `X-Forwarded-For`.
 */
function clientWritten(payload: string): Record<string, string>[] {
  return [
    { "user-agent": `${CHROME} ${payload}` },
    { "user-agent": payload },
    { referer: `https://shop.example/item?id=${encodeURIComponent(payload)}` },
    { referer: payload },
    { "x-forwarded-for": `203.0.113.7, ${payload}` },
  ];
}

Deno.test("a client header's own lexicon words are no keyword counts; what a client wrote there is", () => {
  const KW = ["sql_keywords", "shell_keywords", "html_js_keywords", "path_keywords"] as const;
  const counts = (d: Record<string, number>) => KW.map((k) => d[k]);
  // Safari's `Version/17.4`, Chrome's `sec-fetch-dest: document`, `application/xml` in its Accept, CloudFront's
  // `Via` (`….cloudfront.net`) and a Yandex ad click's referer (`pcode-test-ids-from-count`): SQL, HTML, path
  // and shell words of the lexicon, all written by the client's software or its network.
  const browser = inspect(get("/api/initcrime", {
    "user-agent":
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "sec-fetch-dest": "document",
    via: "2.0 e95d2f3be5bfaea8d30048744edf18d9.cloudfront.net (CloudFront)",
    referer:
      "https://yandex.ru/an/count/WfGejI_zOoVX2LaK0?asset-click=video&pcode-test-ids-from-count=1387855",
  }));
  assert.deepEqual(counts(browser.dense), [0, 0, 0, 0]);
  // Every form post's content type names `www`, a path word.
  const form = inspect({
    method: "POST",
    url: "/contact",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "name=Anna+Schmidt&message=Hello",
  });
  assert.deepEqual(counts(form.dense), [0, 0, 0, 0]);
  // They are still sparse features of their header: an injection into a header carries them.
  assert.ok(browser.names.has("tok:version") && browser.names.has("tok:document"));
  // The same words in a query value are the request's own, and count.
  const own = inspect(get("/a?q=version+document+id+xml"));
  assert.ok(counts(own.dense).every((c) => c > 0), JSON.stringify(counts(own.dense)));
  // What a client wrote into a header is read as a value, and its keywords count.
  for (const headers of clientWritten("' union select password from users--")) {
    assert.ok(inspect(get("/", headers)).dense.sql_keywords > 0, JSON.stringify(headers));
  }
});

Deno.test("a client header's own comment marks are no comment count; what a client wrote there is", () => {
  // Real referers of real sites: a page's slug with SQL's `--` and a title's `---`.
  for (
    const referer of [
      "http://www.dreampackers.jp/phone/dreampackers--sp.html",
      "https://kkcharity.example/news/annual-report---2023/",
    ]
  ) {
    assert.equal(inspect(get("/images/top.png?crc=403680738", { referer })).dense.comments, 0, referer);
    // Still a sparse feature of the referer: an injection into it carries the mark.
    assert.ok([...inspect(get("/", { referer })).names].some((n) => n.startsWith("sym:--")), referer);
  }
  // The same marks in the request's own path or value count.
  assert.ok(inspect(get("/phone/dreampackers--sp.html")).dense.comments > 0);
  assert.ok(inspect(get("/a?q=annual-report---2023")).dense.comments > 0);
  // What a client wrote into a header is read as a value, and its comment marks count: after a user agent,
  // as one, in a referer's link, as the whole referer, in `X-Forwarded-For`.
  for (const headers of clientWritten("1' or 1=1--")) {
    assert.ok(inspect(get("/", headers)).dense.comments > 0, JSON.stringify(headers));
  }
});

Deno.test("CR, LF and tab are control characters in a path, and a value's whitespace", () => {
  // A CRLF injection into a path (the real sites' logs have `/sitemap.xmlklk%0d%0ans:…`), and a tab.
  for (
    const path of ["/vendor/jquery-3.3.1.min.js/%0d", "/a%0d%0aSet-Cookie:x=1", "/neutralbank.app//%09/x"]
  ) {
    assert.ok(inspect(get(path)).dense.control_chars > 0, path);
  }
  assert.equal(inspect(get("/vendor/jquery-3.3.1.min.js")).dense.control_chars, 0);
  // A form's text with its line breaks and a query value's tab are text.
  const form = inspect({
    method: "POST",
    url: "/contact",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "message=Hello%2C%0D%0Awhen+will+my+order+ship%3F%0D%0A%0D%0AAnna",
  });
  assert.equal(form.dense.control_chars, 0);
  assert.equal(inspect(get("/a?q=a%09b")).dense.control_chars, 0);
  // Other control characters count wherever they are.
  assert.ok(inspect(get("/a?q=a%01b")).dense.control_chars > 0);
});

Deno.test("`../` and `${` are counted only where their characters are adjacent", () => {
  // Two dots of a host name before a slash are not a dot-dot segment.
  const host = inspect(get("/", { referer: "http://www.dreampackers.jp/phone/index.html" }));
  assert.equal(host.dense.dot_dot_segments, 0);
  assert.equal(inspect(get("/a?u=www.shop.example.com/x")).dense.dot_dot_segments, 0);
  assert.ok(inspect(get("/a?f=../../etc/x")).dense.dot_dot_segments > 0);
  assert.ok(inspect(get("/a?f=..%5c..%5cwin.ini")).dense.dot_dot_segments > 0);
  assert.equal(inspect(get("/a?x=$ab{c}")).dense.template_markers, 0);
  assert.ok(inspect(get("/a?x=${c}")).dense.template_markers > 0);
  assert.ok(inspect(get("/a?x={{c}}")).dense.template_markers > 0);
});

Deno.test("percent-encoded non-ASCII text is no decoding depth; an encoded ASCII character is", () => {
  assert.equal(inspect(get("/kkc-uploadfile/image/%E5%85%AC%E7%90%86_edit.jpg")).dense.decode_depth, 0);
  assert.equal(inspect(get("/a?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82")).dense.decode_depth, 0);
  // A double-encoded Thai path decodes one ASCII round (`%25` to `%`), then only text.
  assert.equal(inspect(get("/c/%25E0%25B8%25A3%25E0%25B8%25B2")).dense.decode_depth, Math.fround(1 / 3));
  assert.equal(inspect(get("/a?q=%C3%A9t%C3%A9%27")).dense.decode_depth, Math.fround(1 / 3));
  // Overlong UTF-8 is no depth but invalid UTF-8, which is evidence.
  const overlong = inspect(get("/a?f=%c0%ae%c0%ae%c0%af"));
  assert.equal(overlong.dense.decode_depth, 0);
  assert.ok(overlong.dense.invalid_utf8 > 0);
});

Deno.test("base64 of text in a value is read again as its text: an encoded injection keeps its words", () => {
  const b64 = btoa("' OR '1'='1' -- ");
  const plain = inspect(get(`/s?q=${encodeURIComponent("' OR '1'='1' -- ")}`));
  for (const url of [`/s?q=${b64}`, `/s?q=${encodeURIComponent(b64)}`]) {
    const enc = inspect(get(url));
    for (const t of ["tok:or", "sym:'", "qval:or"]) {
      assert.ok(plain.names.has(t), `plain: ${t}`);
      assert.ok(enc.names.has(t), `${url}: ${t}`);
    }
    assert.ok(enc.dense.quote_ratio > 0, "the decoded text counts in the value statistics");
  }
  // Whitespace an evasion puts between words (a vertical tab, a form feed) is text too.
  const vt = inspect(get(`/s?q=${encodeURIComponent(btoa("'\vunion\fselect\vpassword\vfrom\vusers--"))}`));
  assert.ok(vt.names.has("tok:union") && vt.names.has("tok:select"), "\\v and \\f between the words");
  // A form body, a JSON string and a multipart field too; url-safe digits without padding as well.
  const xss = "<script>alert(document.cookie)</script>";
  const urlSafe = btoa(xss).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const post = (ctype: string, body: string): RequestRecord => ({
    method: "POST",
    url: "/c",
    headers: { "content-type": ctype },
    body,
  });
  for (
    const rec of [
      post("application/x-www-form-urlencoded", `c=${urlSafe}`),
      post("application/json", JSON.stringify({ c: btoa(xss) })),
      post(
        "multipart/form-data; boundary=XX",
        `--XX\r\nContent-Disposition: form-data; name="c"\r\n\r\n${btoa(xss)}\r\n--XX--\r\n`,
      ),
    ]
  ) {
    const names = inspect(rec).names;
    assert.ok(names.has("tok:script") && names.has("tok:alert"), rec.headers!["content-type"]);
  }
});

Deno.test("base64 that is not text, words, hex ids and cookies are not decoded", () => {
  const bytes = new Uint8Array(30).map((_, i) => (i * 73 + 11) & 255);
  const token = btoa(String.fromCharCode(...bytes));
  const cases: [string, RequestRecord][] = [
    ["random bytes", get(`/s?t=${encodeURIComponent(token)}`)],
    ["a lower-case word", get("/s?q=internationalization")],
    ["a hex id", get("/s?id=0123456789abcdef0123456789abcdef")],
    ["a cookie", get("/s", { cookie: `d=${btoa("' OR '1'='1' -- ")}` })],
    ["too short", get(`/s?q=${btoa("' OR 1=1")}`)],
  ];
  for (const [what, rec] of cases) {
    const { names } = inspect(rec);
    assert.ok(!names.has("tok:or") && !names.has("sym:'"), what);
  }
  const out = new Uint8Array(1024);
  assert.equal(base64Text(token, 1024, out), null, "random bytes are not text");
  assert.equal(base64Text(btoa('a JSON {"x": 1} in text'), 1024, out), 'a JSON {"x": 1} in text');
  assert.equal(base64Text(`${btoa("twelve bytes+ of text!")}=`, 1024, out), null, "three pads");
  assert.equal(base64Text(`QUJD${"%41".repeat(4)}REVGR0hJSktM`, 1024, out), null, "other escapes");
  // A longer value is read up to the cap, as its own field is: its first 1,024 digits, 768 bytes.
  assert.equal(base64Text(btoa("x".repeat(800)), 1024, out), "x".repeat(768), "cut at the cap");
  // An escape that the cap cuts in two ends what is read; the digits before it are.
  const straddling = "YWJj".repeat(255) + "YW" + "%2BYWJj".repeat(4);
  assert.equal(base64Text(straddling, 1024, out), "abc".repeat(255) + "a", "an escape cut by the cap");
  assert.equal(base64Text("QUJD%2", 1024, out), null);
});

Deno.test("a multipart part's name is read whole: quotes, semicolons and text after a closing quote", () => {
  const part = (disposition: string): RequestRecord => ({
    method: "POST",
    url: "/upload",
    headers: { "content-type": "multipart/form-data; boundary=XX" },
    body: `--XX\r\nContent-Disposition: ${disposition}\r\n\r\n1\r\n--XX--\r\n`,
  });
  const cases: [string, string][] = [
    ["a semicolon inside the quotes", `form-data; name="x'; DROP TABLE users--"`],
    ["a quote closed early, then a semicolon", `form-data; name="x"; DROP TABLE users--"`],
    ["quotes inside the name", `form-data; name="x" OR "1"="1"; DROP TABLE users--`],
    ["percent-encoded quote (as browsers send it)", `form-data; name="x%22; DROP TABLE users--"`],
  ];
  for (const [what, d] of cases) {
    const { names } = inspect(part(d));
    for (const t of ["tok:drop", "tok:table"]) assert.ok(names.has(t), `${what}: ${t} in ${d}`);
  }
  // A plain part: its name is a key (the disposition type and the quotes are not text of the body).
  const plain = inspect(part(`form-data; name="caption"; filename="me.txt"`));
  const all = [...plain.names].join(" ");
  assert.ok(plain.names.has("bkey:cap") && plain.names.has("bkey:fil") && plain.names.has("bval:txt"), all);
  const body = [...plain.names].filter((n) => n.startsWith("bkey:") || n.startsWith("bval:"));
  assert.ok(!body.some((n) => n.includes('"') || n.includes("fo")), `nothing stray: ${body.join(" ")}`);
  // Other parameters (`size=`) and the disposition type are no stray text; a payload as the type is.
  const size = inspect(part(`form-data; name="caption"; size=1024; creation-date="Wed, 12 Feb 1997"`));
  assert.ok(![...size.names].some((n) => /^bval:.*(siz|cre|wed)/.test(n)), [...size.names].join(" "));
  const asType = inspect(part(`' UNION SELECT pw FROM users--; name="x"`));
  assert.ok(asType.names.has("tok:union") && asType.names.has("bval:uni"), "a payload in the type's place");
  // RFC 5987's filename* names the file when there is no plain filename.
  const ext = inspect(part(`form-data; name="f"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`));
  assert.ok(ext.names.has("tok:passwd"), [...ext.names].join(" "));
});

Deno.test("a parameter name that is text is read again as a value: a payload in a name keeps its words", () => {
  const xss = "<script>alert(document.cookie)</script>";
  const value = inspect(get(`/p?q=${encodeURIComponent(xss)}`));
  const post = (ctype: string, body: string): RequestRecord => ({
    method: "POST",
    url: "/c",
    headers: { "content-type": ctype },
    body,
  });
  const cases: [string, RequestRecord, string][] = [
    ["a bare query part", get(`/p?${encodeURIComponent(xss)}`), "qval:scr"],
    ["a query name", get(`/p?${encodeURIComponent(xss)}=1`), "qval:scr"],
    ["a form name", post("application/x-www-form-urlencoded", `${encodeURIComponent(xss)}=1`), "bval:scr"],
    [
      "a multipart part's name",
      post(
        "multipart/form-data; boundary=XX",
        `--XX\r\nContent-Disposition: form-data; name="${xss}"\r\n\r\n1\r\n--XX--`,
      ),
      "bval:scr",
    ],
    ["a JSON key", post("application/json", JSON.stringify({ [xss]: 1 })), "bval:scr"],
  ];
  assert.ok(value.names.has("qval:scr"));
  for (const [what, rec, ngram] of cases) {
    const { names } = inspect(rec);
    for (const t of ["tok:script", "tok:alert", "sym:<", ngram]) assert.ok(names.has(t), `${what}: ${t}`);
  }
  // Names as sites use them are names only: no value n-grams come from them.
  for (const url of ["/p?utm_source=news", "/p?filter[name]=a", "/p?$filter=x", "/p?a.b-c:d=1", "/p?page"]) {
    const { names } = inspect(get(url));
    const fromName = [...names].filter((n) => /^qval:.*(utm|filt|nam|pag|a\.b)/.test(n));
    assert.deepEqual(fromName, [], url);
  }
});
