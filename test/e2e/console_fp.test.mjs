// The false-positive story in the console, on a real site that no training run saw (fold 0 of the corpus's
// sites/), with the shipped model: the tenant loads the requests the global head blocked on its own
// ordinary traffic, marks them benign in bulk and adapts; they pass from the next request on, and, over
// HTTP (the dry run, global head against the tenant's), the site's other ordinary traffic is blocked no more
// than before and its attacks are caught as before (within 0.2 points: see ATTACKS_FALL). The site's story is written by
// `node train/bin/run.mjs sitefp --emit` into a temporary folder (the corpus is read from its path, never
// copied into the repository); without the corpus
// (`../shared/data/sites`, or `TAUGATE_DATA`) the test skips and says so, as the data-dependent tests do.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { chromiumPath, launchChromium, ROOT, startWorker, until } from "./_harness.mjs";

const ADMIN = "console-fp-operator-token-0123456789abcdef";
const TENANT = "site.example";
const DATA = resolve(ROOT, process.env.TAUGATE_DATA ?? "../shared/data");
const HAVE_DATA = existsSync(join(DATA, "sites"));
const CHROMIUM = chromiumPath();
const SKIP = process.env.TAUGATE_SKIP_BROWSER === "1";
/** Most the other ordinary traffic's block rate may rise, in share: issue 12's 0.2 points. */
const KEEP = 0.002;
/**
 * Most the attacks' detection may fall, in share: issue 12's 0.2 points too (one attack of this site's 400 is
 * 0.25, so none may be lost). With the support gate the shipped model's settings choose (in full only to
 * requests made of the upload's features alone) and the correction's bounds, `sitefp --folds 0` loses no
 * attack on any of its 12 sites; with the last release's gate (0.85–0.99) this bound was 1 point, the median
 * fall 0.00 and the largest 3.50.
 */
const ATTACKS_FALL = 0.002;

let worker, browser, page, dir, token, site, story;

const lines = (file) =>
  readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

before(async () => {
  if (CHROMIUM === null || !HAVE_DATA) return;
  dir = mkdtempSync(join(tmpdir(), "taugate-console-fp-"));
  // Fold 0's stories; the test takes the first site (by name) with at least 10 false positives to upload.
  const run = spawnSync(
    process.execPath,
    ["train/bin/run.mjs", "sitefp", "--data", DATA, "--folds", "0", "--emit", join(dir, "story")],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 },
  );
  assert.equal(run.status, 0, run.stderr);
  site = readdirSync(join(dir, "story")).sort().find((id) =>
    JSON.parse(readFileSync(join(dir, "story", id, "tau.json"), "utf8")).row.uploaded >= 10
  );
  assert.ok(site, "a fold-0 site with false positives to upload");
  const at = (f) => join(dir, "story", site, f);
  story = {
    tau: JSON.parse(readFileSync(at("tau.json"), "utf8")).tau,
    upload: at("upload.jsonl"),
    other: lines(at("other.jsonl")),
    attacks: lines(at("attacks.jsonl")),
  };
  worker = await startWorker({
    TAUGATE_KV_PATH: join(dir, "kv.sqlite3"),
    TAUGATE_ADMIN_TOKEN: ADMIN,
    // The story's τ is a percentile of the site's scores, so an uploaded request's own score, which its
    // duplicates share: a millionth below it, every uploaded request is at or above τ in the worker's engine
    // too (the engines agree to float precision), however many tie there.
    TAUGATE_TAU: String(story.tau - 1e-6),
  });
  const minted = await fetch(`${worker.base}/_taugate/tenants/${TENANT}/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(minted.status, 201);
  token = (await minted.json()).token;
  browser = await launchChromium(CHROMIUM);
  page = browser.context.pages()[0] ?? await browser.context.newPage();
  page.setDefaultTimeout(60_000);
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The share of records the worker's dry run flags with the global head or the tenant's. */
async function flaggedShare(records, head) {
  let flagged = 0;
  for (let i = 0; i < records.length; i += 500) {
    const body = records.slice(i, i + 500).map((r) =>
      JSON.stringify({ method: r.method, url: r.url, headers: r.headers, body: r.body })
    ).join("\n");
    const res = await fetch(`${worker.base}/_taugate/tenants/${TENANT}/score?head=${head}&explain=0`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" },
      body,
    });
    assert.equal(res.status, 200, await res.clone().text());
    flagged += (await res.json()).results.filter((r) => r.flagged).length;
  }
  return flagged / records.length;
}

const text = (selector) => page.locator(selector).first().textContent();
const seeText = (selector, re) =>
  until(async () => re.test((await text(selector)) ?? ""), `${selector} to match ${re}`, 60_000).catch(
    async (err) => {
      throw new Error(`${err.message}; it reads ${JSON.stringify(await text(selector))}`);
    },
  );

test("the console on a held-out real site: its false positives uploaded as benign pass, its other traffic is blocked no more than before", async (t) => {
  if (!HAVE_DATA) return t.skip(`no corpus at ${DATA}/sites (set TAUGATE_DATA): the story needs a real site`);
  if (CHROMIUM === null) {
    if (SKIP) return t.skip("no Chromium: skipped because TAUGATE_SKIP_BROWSER=1");
    assert.fail("no Chromium (apt-get install -y --no-install-recommends chromium, or CHROMIUM_PATH)");
  }
  const before = {
    other: await flaggedShare(story.other, "global"),
    attacks: await flaggedShare(story.attacks, "global"),
  };

  await page.goto(`${worker.base}/_taugate/console`);
  await page.locator("#tenant").fill(TENANT);
  await page.locator("#token").fill(token);
  await page.locator("#signin-submit").click();
  await seeText("#status", /It uses the global head\./);
  // The global head's false positives, blocked at the site's τ (the worker's engine agrees with the training
  // package's to float precision: a request within it of τ may fall either side).
  await page.locator("#file").setInputFiles(story.upload);
  const n = lines(story.upload).length;
  await seeText("#status", new RegExp(`^Loaded ${n} requests from upload\\.jsonl: \\d+ flagged at τ`));
  const flagged = Number(/: (\d+) flagged/.exec(await text("#status"))[1]);
  assert.ok(flagged >= n - 1, `${flagged} of ${n} flagged by the global head`);
  // Marked benign in bulk, then adapt: the guard passes an honest correction.
  await page.locator("#select-all").check();
  await page.locator("#mark-benign").click();
  await seeText("#status", new RegExp(`^${n} requests marked benign\\.$`));
  await page.locator("#adapt").click();
  await seeText("#adapt-result h3", /^Adapted: v\d+ is active$/);
  await seeText("#adapt-result", /Guardpassed/);
  // A correction: the answer says which endpoints it reaches.
  await seeText("#adapt-result", /Applies to\d+ endpoints? of the upload/);
  // ... and, there, how far (the support gate of the shipped model's settings): in full to requests made of
  // the upload's words.
  const gate =
    JSON.parse(readFileSync(join(ROOT, "models/model-card.json"), "utf8")).model.taugate.adapt.residual
      .gate;
  const pctRe = (x) => (100 * x).toFixed(1).replace(".", "\\.");
  await seeText(
    "#adapt-result",
    new RegExp(
      `in full to requests made of the upload's words \\(≥ ${pctRe(gate.to)}% of them\\), not at all below ` +
        `${pctRe(gate.from)}%`,
    ),
  );
  await seeText("#adapt-outcome", new RegExp(`^With the new head: ${n} of ${n} benign requests pass`));
  const rows = await page.locator("#rows-body td.decision").allTextContents();
  assert.equal(rows.length, n);
  assert.ok(rows.every((d) => d === "allow"), "every uploaded request is allowed by the new head");

  // The rest of the site, scored by the worker with the tenant's new head (it serves from the next request).
  const afterOther = await flaggedShare(story.other, "tenant");
  const afterAttacks = await flaggedShare(story.attacks, "tenant");
  const pp = (x) => `${(100 * x).toFixed(2)} %`;
  t.diagnostic(
    `${site}: ${n} uploaded; other ordinary traffic blocked ${pp(before.other)} -> ${pp(afterOther)}; ` +
      `attacks caught ${pp(before.attacks)} -> ${pp(afterAttacks)}`,
  );
  assert.ok(afterOther <= before.other + KEEP, `other traffic: ${pp(before.other)} -> ${pp(afterOther)}`);
  assert.ok(
    afterAttacks >= before.attacks - ATTACKS_FALL,
    `attacks: ${pp(before.attacks)} -> ${pp(afterAttacks)}`,
  );
});
