// `sitetau`: detection at the model's τ and at the τ the rule would choose on the measured sites themselves.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { main, tauTransfer } from "../src/cli/sitetau.ts";
import type { SiteLogits } from "../src/sites.ts";

const DATA = new URL("../../../shared/data", import.meta.url).pathname;
const HAVE_SITES = existsSync(join(DATA, "sites"));
const logit = (p: number) => Math.log(p / (1 - p));

/** A site of 2,000 ordinary requests (`hot` of them at 0.97) and 100 injections of each kind at `attack`. */
function site(id: string, hot: number, attack: number[]): SiteLogits {
  const benign = Array.from({ length: 2000 }, (_, i) => logit(i < hot ? 0.97 : 0.01 + (i % 50) / 100));
  const families = [...attack.map(() => "sqli"), ...attack.map(() => "ssti")];
  return {
    id,
    logged: Float64Array.from(benign),
    dressed: Float64Array.from(benign),
    attacks: Float64Array.from([...attack, ...attack].map(logit)),
    families,
  };
}

test("sitetau: the oracle τ meets the targets on the sites themselves and catches what the model's τ misses", () => {
  const attacks = Array.from({ length: 100 }, (_, i) => 0.95 + i * 0.0004); // 0.95 … 0.9896
  const sites = [site("a", 0, attacks), site("b", 2, attacks), site("c", 0, attacks)];
  const r = tauTransfer(sites, 0.99, { median: 0.0005, worst: 0.003 });
  const [model, own] = r.rows;
  assert.equal(model.how, "model");
  assert.equal(model.tau, 0.99);
  assert.equal(model.seen, 0, "every attack is under the model's τ");
  assert.ok(r.worstMet);
  // Site b's two ordinary requests at 0.97 (0.10 %) are within the worst-site target: the lowest τ that keeps
  // every site within it is under them, just above the highest other ordinary score (0.50).
  assert.ok(own.tau > 0.5 && own.tau <= 0.951, `own τ ${own.tau}`);
  assert.ok(own.worst <= 0.003 && own.median <= 0.0005, JSON.stringify(own));
  assert.equal(own.seen, 1);
  assert.equal(own.unseen, 1, "held-out families (ssti) are counted apart");
  // Stricter targets: b's hot requests must go, so τ rises to 0.97 and catches only the attacks above it.
  const strict = tauTransfer(sites, 0.99, { median: 0.0005, worst: 0.0005 }).rows[1];
  assert.ok(strict.tau >= 0.97 && strict.worst === 0, JSON.stringify(strict));
  assert.ok(strict.seen > 0.4 && strict.seen < 0.6, `${strict.seen}`);
});

test("sitetau: on the fold that chose the shipped τ, the rule chooses it again", {
  skip: !HAVE_SITES && "no ../shared/data/sites",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sitetau-"));
  try {
    const out = join(dir, "tau.json");
    // Fold 0 calibrated the shipped model, with the support split's attacks.
    assert.equal(await main(["--data", DATA, "--folds", "0", "--split", "support", "--json", out]), 0);
    const r = JSON.parse(readFileSync(out, "utf8")) as {
      rows: { how: string; tau: number; worst: number }[];
    };
    const [model, own] = r.rows;
    assert.equal(own.tau, model.tau);
    assert.ok(own.worst <= 0.003);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sitetau: a --target that is not two percentages is a usage error", async () => {
  assert.equal(await main(["--target", "0.1"]), 2);
  assert.equal(await main(["--target", "0.1,150"]), 2);
});
