// Overflow views: what the extractor's read limits cut off, in views it reads whole.
import * as assert from "node:assert/strict";
import {
  extractFeatures,
  FEATURE_SPEC,
  featuresOfRecord,
  INSPECT_BYTES,
  MAX_OVERFLOW_VIEWS,
  needsViews,
  overflowOfRecord,
  overflowViews,
  OVERLAP,
  type RequestView,
  suspicion,
  SUSPICION_MIN,
  VALUE_VIEWS,
  viewFromRecord,
  viewFromRequest,
  wasTruncated,
} from "../../src/features/mod.ts";
import { pieces } from "../../src/features/overflow.ts";
import type { RequestRecord } from "../../src/record/record.ts";

const caps = FEATURE_SPEC.caps;
const PAYLOAD = "1' UNION SELECT password FROM users--";
const ENC = encodeURIComponent(PAYLOAD).replaceAll("'", "%27"); // as the URL parser writes a query
const text = (v: RequestView) => v.target + "\n" + (v.body === null ? "" : new TextDecoder().decode(v.body));

/** The views of a record, after checking that its own extraction was cut (the trigger). */
function viewsOf(rec: RequestRecord) {
  assert.ok(wasTruncated(featuresOfRecord(rec)), `${rec.url}: the extraction is cut`);
  return overflowOfRecord(rec);
}

Deno.test("overflow: requests within the caps have no views, and their extraction is not cut", () => {
  const recs: RequestRecord[] = [
    { method: "GET", url: "/search?q=" + "a".repeat(caps.value) },
    { method: "GET", url: "/s?" + Array.from({ length: caps.params }, (_, i) => `p${i}=1`).join("&") },
    {
      method: "POST",
      url: "/f",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: "b" }),
    },
  ];
  for (const r of recs) {
    assert.equal(wasTruncated(featuresOfRecord(r)), false, r.url);
    const o = overflowOfRecord(r);
    assert.deepEqual([o.views.length, o.complete], [0, true], r.url);
  }
});

Deno.test("overflow: a payload past each limit is whole in a view that is read whole", () => {
  const cases: [string, RequestRecord, string][] = [
    ["value", { method: "GET", url: "/search?q=" + "a".repeat(1100) + ENC }, ENC],
    ["query", { method: "GET", url: "/search?pad=" + "b".repeat(5000) + "&id=" + ENC }, ENC],
    [
      "parameters",
      {
        method: "GET",
        url: "/s?" + Array.from({ length: 130 }, (_, i) => `p${i}=1`).join("&") + "&id=" + ENC,
      },
      ENC,
    ],
    ["path", { method: "GET", url: "/" + "c".repeat(1100) + "/" + ENC }, ENC],
    ["form body", {
      method: "POST",
      url: "/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "pad=" + "d".repeat(9000) + "&user=" + ENC,
    }, ENC],
    ["JSON string", {
      method: "POST",
      url: "/api",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: "e".repeat(2000) + PAYLOAD, b: 1 }),
    }, PAYLOAD],
    ["JSON past the body cap", {
      method: "POST",
      url: "/api",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ list: Array.from({ length: 900 }, (_, i) => `item-${i}`), q: PAYLOAD }),
    }, PAYLOAD],
    ["multipart part", {
      method: "POST",
      url: "/up",
      headers: { "content-type": "multipart/form-data; boundary=XyZ" },
      body: '--XyZ\r\nContent-Disposition: form-data; name="c"\r\n\r\n' + "f".repeat(600) + PAYLOAD +
        "\r\n--XyZ--\r\n",
    }, PAYLOAD],
    ["text body", {
      method: "POST",
      url: "/notes",
      headers: { "content-type": "text/plain" },
      body: "g".repeat(20_000) + PAYLOAD,
    }, PAYLOAD],
  ];
  for (const [name, rec, needle] of cases) {
    const o = viewsOf(rec);
    assert.ok(o.complete, name);
    assert.ok(
      o.views.length >= 1 && o.views.length <= MAX_OVERFLOW_VIEWS,
      `${name}: ${o.views.length} views`,
    );
    const holding = o.views.filter((v) => text(v).includes(needle));
    assert.ok(holding.length >= 1, `${name}: a view holds the payload whole`);
    for (const v of o.views) {
      assert.equal(
        wasTruncated(extractFeatures({ ...v, bodyTruncated: false })),
        false,
        `${name}: every view is read whole (${text(v).slice(0, 80)})`,
      );
      assert.equal(v.method, rec.method, name);
    }
  }
});

Deno.test("overflow: header values, cookies and a referer's link past their caps", () => {
  const ua = "Mozilla/5.0 " + "h".repeat(600) + "<script>alert(1)</script>";
  const cookie = Array.from({ length: 40 }, (_, i) => `c${i}=v${i}`).join("; ") + "; sid=" + ENC;
  const referer = "https://search.example/find?" +
    Array.from({ length: 60 }, (_, i) => `k${i}=v${i}`).join("&") +
    "&q=" + ENC;
  const rec: RequestRecord = { method: "GET", url: "/", headers: { "user-agent": ua, cookie, referer } };
  const o = viewsOf(rec);
  assert.ok(o.complete);
  const value = (v: RequestView, name: string) => v.headers.find((h) => h[0] === name)?.[1] ?? "";
  assert.ok(
    o.views.some((v) => value(v, "user-agent").includes("<script>alert(1)</script>")),
    "the user agent's tail",
  );
  assert.ok(o.views.some((v) => value(v, "cookie").includes("sid=" + ENC)), "the cookie past the 32 read");
  const refs = o.views.filter((v) => value(v, "referer") !== referer);
  assert.ok(refs.some((v) => value(v, "referer").includes("q=" + ENC)), "the referer's parameter");
  // A link without a query: the rest of its path, behind its origin.
  const blob = "https://ads.example/count/" + "Wm9".repeat(300);
  const bo = viewsOf({ method: "GET", url: "/", headers: { referer: blob } });
  assert.ok(bo.views.length >= 2);
  for (const v of bo.views) {
    assert.ok(
      value(v, "referer").startsWith("https://ads.example/") &&
        value(v, "referer").length <= caps.headerValue,
    );
  }
  assert.ok(bo.views.some((v) => blob.endsWith(value(v, "referer").slice("https://ads.example/".length))));
  for (const v of refs) {
    assert.ok(value(v, "referer").startsWith("https://search.example/find?"), "a referer view is a link too");
    assert.ok(value(v, "referer").length <= caps.headerValue);
  }
});

Deno.test("overflow: pieces cover every stretch of OVERLAP characters, never cut an escape, and fit", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const alphabet = ["a", "b", "%27", "%2e", "%u0041", "\\u0041", "&#60;", "é", "😀", "+", "="];
  for (let t = 0; t < 50; t++) {
    let s = "";
    while (s.length < 500 + rnd() * 4000) s += alphabet[Math.floor(rnd() * alphabet.length)];
    const size = [256, 1024][t % 2];
    const ps = pieces(s, size);
    assert.ok(ps.every((p) => p.length <= size));
    // Every stretch of OVERLAP - 6 characters (the cut may step back over an escape) is whole in a piece.
    const span = Math.min(OVERLAP, size >> 2) - 6;
    for (let i = 0; i + span <= s.length; i += 17) {
      const stretch = s.slice(i, i + span);
      assert.ok(ps.some((p) => p.includes(stretch)), `stretch at ${i} of ${s.length} (size ${size})`);
    }
    for (const p of ps.slice(0, -1)) {
      assert.ok(
        !/%.?$|%u.{0,3}$|\\u.{0,3}$|\\$|&#?\w*$/.test(p),
        `a piece ends inside an escape: …${p.slice(-8)}`,
      );
      assert.ok(!/[\ud800-\udbff]$/.test(p), "a piece ends inside a surrogate pair");
    }
  }
});

Deno.test("overflow: JSON views are JSON, multipart views are parts the extractor reads", () => {
  const rec: RequestRecord = {
    method: "POST",
    url: "/api",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ a: 'quote " backslash \\ and \u00e9 '.repeat(120), b: "x\\".repeat(800) }),
  };
  const o = viewsOf(rec);
  for (const v of o.views) {
    // Overflow views are arrays of strings; value views, objects of one string (the value with its name).
    const parsed = JSON.parse(new TextDecoder().decode(v.body!));
    const strings = Array.isArray(parsed) ? parsed : Object.values(parsed);
    assert.ok(strings.every((x) => typeof x === "string"));
    assert.ok(Array.isArray(parsed) || strings.length === 1);
  }
  const parts: RequestRecord = {
    method: "POST",
    url: "/up",
    headers: { "content-type": "multipart/form-data; boundary=B" },
    body: Array.from(
      { length: 20 },
      (_, i) => `--B\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nvalue ${i}\r\n`,
    )
      .join("") + "--B--\r\n",
  };
  // A part without a head counts as one (it is skipped), as the extractor counts it: with one among the
  // first 16, the 17th part is past the count and gets a view.
  const part = (i: number, v: string) =>
    `--B\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n${v}\r\n`;
  const headless: RequestRecord = {
    ...parts,
    body: Array.from({ length: 15 }, (_, i) => part(i, `value ${i}`)).join("") +
      '--B\r\nContent-Disposition: form-data; name="h"\r\n' + part(16, PAYLOAD) + "--B--\r\n",
  };
  assert.ok(viewsOf(headless).views.some((v) => text(v).includes(PAYLOAD)), "the 17th part has a view");
  const po = viewsOf(parts);
  assert.equal(po.views.length, 1);
  const body = new TextDecoder().decode(po.views[0].body!);
  for (let i = 16; i < 20; i++) {
    assert.ok(body.includes(`name="f${i}"`) && body.includes(`value ${i}`), `part ${i}`);
  }
  assert.equal(wasTruncated(extractFeatures({ ...po.views[0], bodyTruncated: false })), false);
  // A view is part of a cut request, and says so.
  assert.equal(wasTruncated(extractFeatures(po.views[0])), true);
});

Deno.test("overflow: bounded: at most maxViews views, and a body past the bytes read is not complete", () => {
  const huge: RequestRecord = {
    method: "GET",
    url: "/s?" + Array.from({ length: 4000 }, (_, i) => `p${i}=${i}`).join("&"),
  };
  const o = overflowViews(viewFromRecord(huge, caps.body), FEATURE_SPEC, 3);
  assert.equal(o.views.length, 3);
  assert.equal(o.complete, false);
  const long: RequestRecord = {
    method: "POST",
    url: "/notes",
    headers: { "content-type": "text/plain" },
    body: "g".repeat(INSPECT_BYTES + 10),
  };
  const view = viewFromRecord(long, caps.body, INSPECT_BYTES);
  assert.equal(view.bodyUnread, true);
  assert.equal(view.body!.length + view.rest!.length, INSPECT_BYTES);
  const lo = overflowViews(view);
  assert.equal(lo.complete, false);
  assert.ok(lo.views.length >= 1);
  // More views than allowed: the first half and the last half, so a payload after the padding is scored.
  const many: RequestRecord = {
    method: "POST",
    url: "/api",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items: Array.from({ length: 3000 }, (_, i) => `item-${i}`), q: PAYLOAD }),
  };
  const mo = overflowViews(viewFromRecord(many, caps.body, INSPECT_BYTES));
  assert.equal(mo.views.length, MAX_OVERFLOW_VIEWS);
  assert.equal(mo.complete, false);
  assert.ok(text(mo.views[MAX_OVERFLOW_VIEWS - 1]).includes(PAYLOAD), "the last view holds the end");
  // The payload's value view comes first (value views are always kept); then the overflow views' first half.
  assert.equal(text(mo.views[0]), `/api\n{"q":${JSON.stringify(PAYLOAD)}}`);
  assert.ok(text(mo.views[1]).includes('"item-'), "the first overflow view holds the start");
  // Only the body cap's bytes read (nothing inspected past them): not complete either, and the fields
  // within them past a value's cap still have views.
  const capped = viewFromRecord(
    {
      ...long,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=" + "b".repeat(20_000),
    },
    caps.body,
  );
  const co = overflowViews(capped);
  assert.equal(co.complete, false);
  assert.ok(co.views.length >= 1);
  // Read to its end: complete.
  const short = viewFromRecord({ ...long, body: "g".repeat(20_000) }, caps.body, INSPECT_BYTES);
  assert.equal(short.bodyUnread, false);
  assert.equal(overflowViews(short).complete, true);
});

Deno.test("overflow: a Web Request and its record give the same views (one path for the worker and the tools)", async () => {
  const body = "pad=" + "d".repeat(12_000) + "&user=" + ENC;
  const rec: RequestRecord = {
    method: "POST",
    url: "/login?x=" + "y".repeat(1500),
    headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "u".repeat(700) },
    body,
  };
  const req = new Request("http://shop.example" + rec.url, { method: "POST", headers: rec.headers, body });
  const fromRequest = overflowViews(await viewFromRequest(req, caps.body, INSPECT_BYTES));
  const fromRecord = overflowOfRecord(rec);
  assert.equal(fromRequest.views.length, fromRecord.views.length);
  assert.ok(fromRecord.views.length >= 3);
  for (let i = 0; i < fromRecord.views.length; i++) {
    const a = extractFeatures(fromRequest.views[i]), b = extractFeatures(fromRecord.views[i]);
    assert.deepEqual([...a.indices], [...b.indices], `view ${i}`);
    assert.deepEqual([...a.dense], [...b.dense], `view ${i}`);
  }
});

Deno.test("value views: a suspicious value among many is scored alone, with its name, at most VALUE_VIEWS of them", () => {
  const pad = (n: number) => Array.from({ length: n }, (_, i) => `f${i}=item-${i}-abcdefgh`);
  const form = (fields: string[]): RequestRecord => ({
    method: "POST",
    url: "/submit",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: fields.join("&"),
  });
  // Four short fields and a payload: nothing is cut, yet the payload gets a view of its own.
  const diluted = form([...pad(4), "q=" + ENC]);
  const f = featuresOfRecord(diluted);
  assert.equal(wasTruncated(f), false);
  assert.equal(needsViews(f), true);
  const o = overflowOfRecord(diluted);
  assert.deepEqual(o.views.map(text), ["/submit\nq=" + ENC]);
  assert.equal(o.complete, true);
  // The same in a query, a JSON body (the value with its key) and a multipart body (the part, its head kept).
  const query = overflowOfRecord({ method: "GET", url: "/s?" + [...pad(8), "id=" + ENC].join("&") });
  assert.deepEqual(query.views.map((v) => v.target), ["/s?id=" + ENC]);
  const obj: Record<string, unknown> = { n: 3, tags: ["a", "b"] };
  for (let i = 0; i < 10; i++) obj[`f${i}`] = `item-${i}`;
  obj.q = PAYLOAD;
  const json = overflowOfRecord({
    method: "POST",
    url: "/api",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(obj),
  });
  assert.deepEqual(json.views.map(text), [`/api\n{"q":${JSON.stringify(PAYLOAD)}}`]);
  const part = (name: string, v: string) =>
    `--B\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${v}\r\n`;
  const multi = overflowOfRecord({
    method: "POST",
    url: "/up",
    headers: { "content-type": "multipart/form-data; boundary=B" },
    body: part("a", "hello") + part("b", "world") + part("c", PAYLOAD) + "--B--\r\n",
  });
  assert.equal(multi.views.length, 1);
  assert.ok(
    text(multi.views[0]).includes(`name="c"\r\n\r\n${PAYLOAD}\r\n`) &&
      !text(multi.views[0]).includes("hello"),
  );
  // A part's head is no evidence by its syntax or its type: ordinary typed parts get no view.
  const typed = (name: string, v: string) =>
    `--B\r\nContent-Disposition: form-data; name="${name}"\r\nContent-Type: text/plain\r\n\r\n${v}\r\n`;
  const plainParts: RequestRecord = {
    method: "POST",
    url: "/up",
    headers: { "content-type": "multipart/form-data; boundary=B" },
    body: typed("a", "hello (world)") + typed("b", "ok") + typed("c", "fine") + "--B--\r\n",
  };
  assert.equal(needsViews(featuresOfRecord(plainParts)), true, "a parenthesis: the values are scanned");
  assert.equal(overflowOfRecord(plainParts).views.length, 0);
  // Ordinary values, or a payload alone (the request is its own view), get none: no cost for them.
  for (
    const r of [
      form(pad(30)),
      form(["email=ana%40example.com", "name=Ana+Mar%C3%ADa", "city=S%C3%A3o+Paulo", "zip=01310-100"]),
      form(["q=" + ENC]),
      { method: "GET", url: "/s?" + pad(60).join("&") },
    ]
  ) {
    assert.equal(needsViews(featuresOfRecord(r)) && overflowOfRecord(r).views.length > 0, false, r.url);
  }
  // At most VALUE_VIEWS, the most suspicious first; of equal ones, the later; within `maxViews`.
  const three = form(["a=" + encodeURIComponent("<b>x</b>"), ...pad(3), "b=" + ENC, "c=" + ENC]);
  const tv = overflowOfRecord(three).views.map(text);
  assert.equal(tv.length, VALUE_VIEWS);
  assert.deepEqual(tv, ["/submit\nc=" + ENC, "/submit\nb=" + ENC]);
  assert.equal(overflowViews(viewFromRecord(three, caps.body), FEATURE_SPEC, 1).views.length, 1);
  // Ranked by kinds of code's characters times words: prose full of SQL words (a higher count) does not take
  // the views from a payload.
  const prose = encodeURIComponent(
    "please select from the menu where the order group is set, union of all options",
  );
  assert.ok(suspicion(prose, true) > suspicion(ENC, true), "the decoy counts more");
  const decoyed = form(["note0=" + prose, "note1=" + prose, ...pad(4), "q=" + ENC]);
  assert.ok(
    overflowOfRecord(decoyed).views.map(text).includes("/submit\nq=" + ENC),
    "the payload keeps its view",
  );
  assert.equal(overflowViews(viewFromRecord(three, caps.body), FEATURE_SPEC, 0).views.length, 0);
});

Deno.test("value views: suspicion counts code's characters and words, decoded once, and stops at 1,024 characters", () => {
  assert.equal(suspicion("item-3-abcdefgh", true), 0);
  assert.equal(suspicion("Ana+Mar%C3%ADa", true), 0);
  assert.ok(suspicion(ENC, true) >= SUSPICION_MIN);
  assert.equal(suspicion(ENC, true), suspicion(PAYLOAD, false), "decoded once, a payload counts as itself");
  assert.ok(suspicion("..%2F..%2Fetc%2Fpasswd", true) >= SUSPICION_MIN);
  assert.ok(suspicion("{{7*7}}", false) >= SUSPICION_MIN);
  assert.ok(suspicion("%253Cscript%253E", true) >= SUSPICION_MIN, "a decoded % counts: double encoding");
  assert.equal(suspicion("a".repeat(1024) + PAYLOAD, false), 0);
});
