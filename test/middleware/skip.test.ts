import assert from "node:assert/strict";
import fc from "fast-check";
import { Hono } from "hono";
import { cidrMatcher, parseCidr, parseIp } from "../../src/middleware/cidr.ts";
import { taugate, type TaugateEnv, type TaugateOptions } from "../../src/middleware/mod.ts";
import { fakeEngine } from "./_fake_engine.ts";

Deno.test("cidr: addresses parse (IPv4, IPv6 with ::, brackets, zones, IPv4-mapped) or are refused", () => {
  assert.deepEqual([...parseIp("192.0.2.1")!], [192, 0, 2, 1]);
  assert.deepEqual([...parseIp("::ffff:192.0.2.1")!], [192, 0, 2, 1], "IPv4-mapped is IPv4");
  assert.equal(parseIp("2001:db8::1")!.length, 16);
  assert.deepEqual([...parseIp("[::1]")!], [...new Array(15).fill(0), 1]);
  assert.deepEqual(parseIp("fe80::1%eth0"), parseIp("fe80::1"));
  assert.deepEqual(parseIp("2001:DB8:0:0:0:0:0:1"), parseIp("2001:db8::1"));
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.x",
      "::1::2",
      "12345::",
      "g::1",
      "1:2:3:4:5:6:7:8:9",
      "example.com",
      "1.2.3.4 5",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
  assert.throws(() => parseCidr("10.0.0.0/33"), TypeError);
  assert.throws(() => parseCidr("10.0.0.0/"), TypeError);
  assert.throws(() => parseCidr("2001:db8::/129"), TypeError);
  assert.equal(parseCidr("::ffff:10.0.0.0/104").prefix, 8, "an IPv4-mapped range is an IPv4 range");
});

Deno.test("cidr: membership agrees with a bit-by-bit reference on random IPv4 ranges", () => {
  const toInt = (b: Uint8Array) => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  fc.assert(fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (a, r, prefix) => {
    const inside = cidrMatcher([`${r}/${prefix}`])(a);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return inside === ((toInt(parseIp(a)!) & mask) === (toInt(parseIp(r)!) & mask));
  }));
  const m = cidrMatcher(["2001:db8::/32", "10.0.0.0/8"]);
  assert.equal(m("2001:db8:ffff::1"), true);
  assert.equal(m("2001:db9::1"), false);
  assert.equal(m("::ffff:10.9.9.9"), true);
  assert.equal(m("not an address"), false);
});

function app(options: Partial<TaugateOptions>) {
  const lines: string[] = [];
  const a = new Hono<TaugateEnv>();
  a.use(
    "*",
    taugate({
      engine: fakeEngine(),
      mode: "block",
      exposeToClient: true,
      log: { sample: 1, sink: (l) => lines.push(l) },
      ...options,
    }),
  );
  a.all("*", (c) => c.text("origin"));
  return { a, lines };
}
const ATTACK = "http://shop.example.com/search?q=" +
  encodeURIComponent("<script>alert(document.cookie)</script>");

Deno.test("skip rules: a monitor's address range or its secret header is not scored; anyone else is", async () => {
  const { a, lines } = app({
    exclude: {
      clients: ["203.0.113.0/24", "2001:db8::/32"],
      headers: [{ name: "x-monitor", value: "s3cret-0123" }],
    },
    clientAddress: (c) => c.req.header("x-test-ip") ?? null,
  });
  const send = (headers: Record<string, string>) => a.request(ATTACK, { headers });
  const skipped: Record<string, string>[] = [
    { "x-test-ip": "203.0.113.77" },
    { "x-test-ip": "2001:db8::5" },
    { "x-monitor": "s3cret-0123" },
  ];
  for (const h of skipped) {
    const res = await send(h);
    assert.equal(res.status, 200, JSON.stringify(h));
    assert.equal(res.headers.get("x-taugate-decision"), null, "not scored: no decision");
  }
  const scored: Record<string, string>[] = [
    { "x-test-ip": "203.0.114.1" },
    { "x-monitor": "s3cret-0124" },
    { "x-monitor": "" },
    {},
  ];
  for (const h of scored) {
    const res = await send(h);
    assert.equal(res.status, 403, JSON.stringify(h));
  }
  assert.equal(lines.length, 4, "only scored requests are logged");
  // A header rule without a value skips on presence.
  const { a: b } = app({ exclude: { headers: [{ name: "x-synthetic" }] } });
  assert.equal((await b.request(ATTACK, { headers: { "x-synthetic": "1" } })).status, 200);
  assert.equal((await b.request(ATTACK)).status, 403);
});

Deno.test("skip rules: bad ranges and header names are refused when taugate() is called", () => {
  assert.throws(
    () => taugate({ engine: fakeEngine(), exclude: { clients: ["10.0.0.0/99"] } }),
    /exclude\.clients/,
  );
  assert.throws(
    () => taugate({ engine: fakeEngine(), exclude: { headers: [{ name: "bad name" }] } }),
    /exclude\.headers/,
  );
});
