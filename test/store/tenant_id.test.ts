import assert from "node:assert/strict";
import fc from "fast-check";
import { assertTenantId, isTenantId, MAX_TENANT_ID_LENGTH } from "../../src/store/mod.ts";

Deno.test("tenant ids: hostname-like names pass", () => {
  for (
    const id of [
      "shop-1",
      "shop.example.com",
      "a",
      "127.0.0.1",
      "xn--bcher-kva.example",
      "a-b.c-d",
      "0",
      "9lives",
    ]
  ) assert.equal(isTenantId(id), true, id);
  assert.equal(isTenantId("a".repeat(63)), true);
  assert.equal(isTenantId(Array(4).fill("a".repeat(62)).join(".")), true); // 251 characters
});

Deno.test("tenant ids: anything that could break a key or is not a host name fails", () => {
  for (
    const id of [
      "",
      "Shop.example.com",
      "-shop",
      "shop-",
      "a..b",
      ".a",
      "a.",
      "a-.b",
      "shop/1",
      "head/x",
      "a:b",
      "[::1]",
      "shop 1",
      "shop_1",
      "café",
      "a\u0000b",
      "a".repeat(64),
      "a.".repeat(127) + "a", // 255 characters
    ]
  ) assert.equal(isTenantId(id), false, JSON.stringify(id));
  assert.throws(() => assertTenantId("a/b"), /invalid tenant id "a\/b"/);
  assert.throws(() => assertTenantId(42), /invalid tenant id number/);
  assert.equal(assertTenantId("ok.example"), "ok.example");
});

Deno.test("tenant ids: valid ids never hold a key separator and stay within the length limit", () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
    if (!isTenantId(s)) return;
    assert.ok(s.length <= MAX_TENANT_ID_LENGTH);
    assert.ok(!/[\/:\s\[\]A-Z_]/.test(s), s);
  }));
  // Every domain fast-check generates, lower-cased, that fits the limits is accepted.
  fc.assert(fc.property(fc.domain(), (d) => {
    const id = d.toLowerCase();
    if (id.length <= MAX_TENANT_ID_LENGTH) assert.equal(isTenantId(id), true, id);
  }));
});
