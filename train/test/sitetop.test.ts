// `sitetop` on the design fold with the shipped model: every listed request scores at least --min, highest first,
// counted once per distinct logged request, each with at most --explain contributions.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { main, type TopRequest } from "../src/cli/sitetop.ts";

const DATA = new URL("../../../shared/data", import.meta.url).pathname;
const HAVE_SITES = existsSync(join(DATA, "sites"));

test("sitetop: the design fold's highest-scored ordinary requests, with why", {
  skip: !HAVE_SITES && "no ../shared/data/sites",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sitetop-"));
  try {
    const out = join(dir, "top.json");
    const model = new URL("../../models/taugate.onnx", import.meta.url).pathname;
    const code = await main([
      "--data",
      DATA,
      "--folds",
      "0",
      "--min",
      "0.95",
      "--explain",
      "2",
      "--model",
      model,
      "--json",
      out,
    ]);
    assert.equal(code, 0);
    const r = JSON.parse(readFileSync(out, "utf8")) as { min: number; total: number; top: TopRequest[] };
    assert.ok(r.total > 10_000, `${r.total} ordinary requests`);
    assert.ok(r.top.length > 0, "the shipped model scores some ordinary request of fold 0 at 0.95 or more");
    const keys = new Set<string>();
    r.top.forEach((x, i) => {
      assert.ok(x.score >= 0.95 - 1e-9, `${x.url}: ${x.score}`);
      if (i > 0) assert.ok(r.top[i - 1].score >= x.score, "highest first");
      assert.ok(x.count >= 1);
      assert.ok(x.why !== undefined && x.why.length <= 2 && x.why.length > 0);
      const k = JSON.stringify([x.site, x.method, x.url, x.userAgent, x.referer]);
      assert.ok(!keys.has(k), `listed once: ${k}`);
      keys.add(k);
    });
    // Fewer listed at a higher floor.
    const out2 = join(dir, "top2.json");
    await main(["--data", DATA, "--folds", "0", "--min", "0.99", "--model", model, "--json", out2]);
    const r2 = JSON.parse(readFileSync(out2, "utf8")) as { top: TopRequest[] };
    assert.ok(r2.top.length <= r.top.length && r2.top.every((x) => x.why === undefined));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sitetop: a --min outside (0, 1) is a usage error", async () => {
  assert.equal(await main(["--min", "1.5"]), 2);
  assert.equal(await main(["--min", "0"]), 2);
});
