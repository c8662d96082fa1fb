import assert from "node:assert/strict";
import { Sha256 } from "../../src/worker/sha256.ts";

const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("sha256: the FIPS 180-4 test vectors", () => {
  const enc = new TextEncoder();
  assert.equal(new Sha256().hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    new Sha256().update(enc.encode("abc")).hex(),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    new Sha256().update(enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).hex(),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256: any split of the input into chunks gives Web Crypto's digest", async () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 100_003]) {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = Math.floor(rand() * 256);
    const want = hex(await crypto.subtle.digest("SHA-256", data));
    const h = new Sha256();
    for (let at = 0; at < size;) {
      const n = Math.min(size - at, 1 + Math.floor(rand() * 200));
      h.update(data.subarray(at, at + n));
      at += n;
    }
    assert.equal(h.length, size);
    assert.equal(h.hex(), want, `size ${size}`);
  }
  const done = new Sha256();
  done.hex();
  assert.throws(() => done.update(new Uint8Array(1)), /after digest/);
});
