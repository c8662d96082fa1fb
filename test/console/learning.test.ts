// The console's Learning panel: the client script (the embedded copy the worker serves) runs on the page's
// HTML in a small DOM (./_dom.ts), its requests answered by the worker's app with the tenant API, learning
// mode on, and traffic sent to the tenant's host. What the panel shows is checked against the API's own
// answers and the store; the guard's refusal and malformed answers come from stubs of those routes.
import assert from "node:assert/strict";
import { refusal } from "../../src/api/api.ts";
import type { GuardFigures } from "../../src/api/guard.ts";
import { APP_JS } from "../../src/console/assets.ts";
import { consolePage } from "../../src/console/mod.ts";
import { attackRecord, benignRecord } from "../api/_model.ts";
import { testWorld } from "../api/_app.ts";
import { type FakeBrowser, FakeEvent, openConsole, until } from "./_dom.ts";

const TENANT = "shop.example";
const LEARN = { TAUGATE_MODE: "log", TAUGATE_LEARN: "on" };
type World = ReturnType<typeof testWorld>;
type Serve = (url: string, init: { method: string; headers: Headers; body?: string }) => Promise<Response>;

/** A world whose tenant's site has served `benign` ordinary requests and `attacks` attacks. */
async function learntWorld(benign: number, attacks = 0, env: Record<string, string> = LEARN) {
  const w = testWorld({ env });
  for (let i = 0; i < benign; i++) await w.send(TENANT, benignRecord(i));
  for (let i = 0; i < attacks; i++) await w.send(TENANT, attackRecord(i));
  return { w, token: await w.mint(TENANT) };
}

const toWorld = (w: World): Serve => (url, init) => Promise.resolve(w.app.request(url, init));

/** Opens the console, signs in with the tenant token and waits for the Learning panel's first answer. */
async function signIn(w: World, token: string, serve: Serve = toWorld(w)): Promise<FakeBrowser> {
  const b = openConsole({ html: consolePage(), script: APP_JS, origin: `http://${TENANT}`, serve });
  b.$("tenant").value = TENANT;
  b.$("token").value = token;
  b.$("signin-form").dispatchEvent(new FakeEvent("submit"));
  await until(() => !b.$("workspace").hidden, "the workspace");
  await idle(b, "learning-refresh");
  return b;
}

/** Waits until the button's action has finished. */
const idle = (b: FakeBrowser, id: string) =>
  until(() => b.$(id).getAttribute("aria-busy") === null, `#${id} to be done`);

async function learningOf(w: World): Promise<Learning> {
  const res = await w.api(`/tenants/${TENANT}/learning`);
  assert.equal(res.status, 200);
  return await res.json();
}

interface Proposal {
  fpr: number;
  tau: number;
  expected_block_rate: number;
  settled: boolean;
  needed: number;
  limit: string | null;
}
interface Learning {
  requests: number;
  since: string;
  updated: string;
  flushMs: number | null;
  progress: number;
  settled: boolean;
  contamination: number;
  tauMax: number;
  histogram: { lo: number; step: number; counts: number[] };
  histogramRequests: number;
  served: { tau: number; flaggedRate: number };
  proposals: Proposal[];
}

const en = (n: number) => n.toLocaleString("en");
/** An API reason as the console writes it: capitalised, with a full stop unless it ends with one. */
const asSentence = (t: string) => t[0].toUpperCase() + t.slice(1) + (/[.!?]\)?$/.test(t) ? "" : ".");
const text = (b: FakeBrowser, id: string) => b.$(id).textContent.replace(/\s+/g, " ").trim();
const rowsOf = (b: FakeBrowser) =>
  b.$("learning-proposals-body").querySelectorAll("tr").map((tr) => ({
    fpr: tr.dataset.fpr,
    target: tr.querySelector("th")!.textContent,
    tau: tr.querySelector("td.tau")!.textContent,
    rate: tr.querySelector("td.rate")!.textContent,
    settled: tr.querySelector("td.settled")!.textContent,
    limit: tr.querySelector("td.limit")!.textContent,
    apply: tr.querySelector("button.apply")!,
  }));

Deno.test("learning panel: a worker that does not learn says learning mode must be on", async () => {
  const { w, token } = await learntWorld(0, 0, {});
  const b = await signIn(w, token);
  assert.equal(text(b, "learning-summary"), "Nothing learnt yet.");
  const empty = text(b, "learning-empty");
  assert.match(empty, /^Learning mode must be on .*start it with TAUGATE_LEARN=on.* TAUGATE_MODE=log /);
  assert.match(empty, /Nothing was learnt yet\.$/);
  assert.deepEqual(b.$("learning-empty").querySelectorAll("code").map((c) => c.textContent), [
    "TAUGATE_LEARN=on",
    "TAUGATE_MODE=log",
  ]);
  assert.match(text(b, "learning-note"), /The worker that answered does not learn/);
  assert.ok(b.$("learning-body").hidden, "no histogram nor proposals");
  assert.ok(!b.$("learning-empty").hidden);
  assert.ok(b.$("learning-reset").disabled, "nothing to start again from");
  b.$("learning-refresh").click();
  await idle(b, "learning-refresh");
  assert.equal(text(b, "status"), "Learning refreshed: nothing learnt yet.");
  assert.equal(text(b, "alert"), "");
});

Deno.test("learning panel: what was learnt, how settled, the histogram with each τ, the proposals", async () => {
  const { w, token } = await learntWorld(1200, 20);
  const L = await learningOf(w);
  assert.equal(L.requests, 1220, "every request of the site was learnt (no client address: no cap)");
  const b = await signIn(w, token);
  // Count, since and last update (machine-readable times), the flush interval.
  assert.match(
    text(b, "learning-summary"),
    new RegExp(`^${en(L.requests)} requests of shop\\.example learnt since `),
  );
  assert.deepEqual(
    b.$("learning-summary").querySelectorAll("time").map((t) => t.getAttribute("datetime")),
    [L.since, L.updated],
  );
  assert.equal(L.flushMs, 300_000);
  assert.match(
    text(b, "learning-note"),
    /other isolates' learning arrives within 5 minutes, their flush interval/,
  );
  assert.match(text(b, "learning-note"), /^Learning under the global head:/);
  assert.ok(b.$("learning-empty").hidden);
  assert.ok(!b.$("learning-body").hidden);
  assert.ok(!b.$("learning-reset").disabled);
  // How settled the 1e-3 estimate is: the bar and its words.
  const target = L.proposals.find((p) => p.fpr === 0.001)!;
  assert.equal(b.$("learning-progress").value, L.progress);
  assert.equal(L.settled, false, "1,020 requests do not settle 1 in 1,000 (3,000 needed)");
  assert.equal(
    text(b, "learning-progress-text"),
    `${Math.round(L.progress * 100)}% settled for 1 in 1,000 false positives: about ${
      en(target.needed)
    } more ordinary requests to go.`,
  );
  // The proposals, one row per target, as the API made them.
  const rows = rowsOf(b);
  assert.deepEqual(rows.map((r) => r.fpr), L.proposals.map((p) => String(p.fpr)));
  assert.deepEqual(rows.map((r) => r.target), ["1 in 100", "1 in 1,000", "1 in 10,000"]);
  assert.deepEqual(rows.map((r) => r.tau), L.proposals.map((p) => p.tau.toFixed(4)));
  assert.deepEqual(
    rows.map((r) => r.settled),
    L.proposals.map((p) => p.settled ? "settled" : `not yet: ${en(p.needed)} more`),
  );
  assert.deepEqual(
    rows.map((r) => r.limit),
    L.proposals.map((p) =>
      p.limit === "canaries" ? "the canaries' limit" : p.limit === null ? "not held" : "the floor"
    ),
  );
  for (const [i, r] of rows.entries()) {
    assert.ok(Math.abs(parseFloat(r.rate) / 100 - L.proposals[i].expected_block_rate) < 0.0005, r.rate);
    assert.equal(r.apply.getAttribute("aria-label"), `Apply τ ${r.tau} for ${r.target} false positives`);
  }
  // Contamination and the current τ's flagged share.
  const contamination =
    /^Contamination: ([\d.]+)% of the learnt requests score like attacks \(at or above τ ([\d.]+)/
      .exec(text(b, "learning-contamination"));
  assert.ok(contamination, text(b, "learning-contamination"));
  assert.ok(L.contamination > 0, "the attacks sent count as contamination");
  assert.ok(Math.abs(Number(contamination[1]) / 100 - L.contamination) < 0.0005);
  assert.equal(contamination[2], L.tauMax.toFixed(4));
  assert.match(
    text(b, "learning-served"),
    new RegExp(`^At the current τ ${L.served.tau.toFixed(3)} \\(the global head\\)`),
  );
  // The histogram: one bar per bucket with requests, holding every request the proposals were made on.
  const svg = b.$("learning-hist");
  const bars = svg.querySelectorAll("rect.bar:not(.key)");
  const inBar = (r: (typeof bars)[number]) =>
    Number(/^([\d,]+) requests? scoring/.exec(r.querySelector("title")!.textContent)![1].replaceAll(",", ""));
  assert.equal(bars.length, L.histogram.counts.filter((c) => c > 0).length);
  assert.equal(bars.reduce((n, r) => n + inBar(r), 0), L.histogramRequests);
  assert.ok(
    bars.some((r) => r.classList.contains("attack")),
    "the contamination's bars in the attack colour",
  );
  // A marker per distinct proposed τ and one for the current τ.
  const marks = svg.querySelectorAll("line.tau.proposal:not(.key)");
  const distinct = [...new Set(L.proposals.map((q) => q.tau.toFixed(4)))];
  assert.equal(marks.length, distinct.length);
  assert.equal(svg.querySelectorAll("line.tau.current:not(.key)").length, 1);
  const labels = svg.querySelectorAll("text.tau-label").map((t) => t.textContent);
  assert.ok(labels.includes(`now ${L.served.tau.toFixed(3)}`), labels.join(" | "));
  // Where a proposal is not held at a limit, the bucket just below its τ has requests (else τ would be
  // lower): that bar ends at the marker, and the requests at or right of the marker are the expected block
  // rate.
  const checked = L.proposals.filter((p) => p.limit === null);
  assert.ok(checked.length > 0);
  for (const p of checked) {
    const x = Number(marks[distinct.indexOf(p.tau.toFixed(4))].getAttribute("x1"));
    const below = bars.find((r) => r.querySelector("title")!.textContent.endsWith(` to ${p.tau.toFixed(4)}`));
    assert.ok(below, `${p.fpr}: a bar ends at τ ${p.tau}`);
    const end = Number(below.getAttribute("x")) + Number(below.getAttribute("width"));
    assert.ok(
      end <= x + 1e-6 && x - end <= 0.5 + 1e-6,
      `${p.fpr}: the bar ends at ${end}, the marker is at ${x}`,
    );
    const right = bars.filter((r) => Number(r.getAttribute("x")) >= x - 1e-6).reduce(
      (n, r) => n + inBar(r),
      0,
    );
    assert.ok(Math.abs(right / L.histogramRequests - p.expected_block_rate) < 1e-3, `${p.fpr}: ${right}`);
  }
  assert.match(
    text(b, "learning-hist-title"),
    /^Scores of [\d,]+ learnt requests, on a logit scale: proposed τ /,
  );
  assert.match(text(b, "learning-hist-caption"), /logit scale/);
});

Deno.test("learning panel: Apply makes the new version, shows its τ and the guard's verdict, refreshes the panels", async () => {
  const { w, token } = await learntWorld(1200, 20);
  const before = await learningOf(w);
  const b = await signIn(w, token);
  assert.match(text(b, "history-summary"), /^No head of your own/);
  const row = rowsOf(b).find((r) => r.fpr === "0.001")!;
  row.apply.click();
  await until(() => text(b, "status").startsWith("Version "), "the new version");
  // The stored head is the one the page names, with the τ proposed for 1 in 1,000.
  const { active } = await w.store.read(TENANT);
  assert.ok(active !== null);
  assert.equal(active.tauSource, "learning");
  assert.equal(text(b, "learning-result").startsWith(`Applied: v${active.version} is active`), true);
  assert.equal(text(b, "learning-version"), `v${active.version}`);
  assert.equal(text(b, "learning-tau"), active.tau!.toFixed(4));
  assert.equal(active.tau, before.proposals.find((p) => p.fpr === 0.001)!.tau);
  assert.equal(text(b, "learning-verdict"), "passed");
  assert.ok(b.$("learning-verdict").classList.contains("ok"));
  const facts = Object.fromEntries(
    b.$("learning-result").querySelectorAll("dt").map((dt, i) => [
      dt.textContent,
      b.$("learning-result").querySelectorAll("dd")[i].textContent,
    ]),
  );
  const g = active.guard as GuardFigures;
  assert.equal(facts["Replaces"], "the global head");
  assert.equal(
    facts["Canaries before"],
    `${(g.canaries.global * 100).toFixed(1)}% of ${g.canaries.count} caught by the global head at τ ${
      g.canaries.globalTau.toFixed(3)
    }`,
  );
  assert.match(facts["Canaries after"], new RegExp(`^${(g.canaries.tenant * 100).toFixed(1)}% caught at τ `));
  assert.equal(facts["Learnt from"].startsWith(`${en(before.requests)} requests`), true);
  assert.ok(!b.$("learning-result").hidden);
  assert.ok(b.$("learning-result").classList.contains("adapted"));
  assert.equal(b.document.activeElement, b.$("learning-result"), "focus moves to the result");
  assert.equal(
    text(b, "status"),
    `Version ${active.version} is active, with the learnt τ ${active.tau!.toFixed(4)}.`,
  );
  // The request: the target as JSON, the token as the bearer token only.
  const post = b.calls.find((c) => c.method === "POST")!;
  assert.equal(post.url, `/_taugate/tenants/${TENANT}/learning/apply`);
  assert.deepEqual(JSON.parse(post.body!), { fpr: 0.001 });
  assert.equal(post.headers["content-type"], "application/json");
  for (const c of b.calls) {
    assert.equal(c.headers.authorization, `Bearer ${token}`);
    assert.equal(c.init.credentials, "omit");
    assert.ok(!c.url.includes(token.slice(4, 20)), "never in a URL");
  }
  // History: the new version is active, described as learnt; learning starts afresh under it.
  assert.match(text(b, "history-summary"), new RegExp(`^Active: v${active.version}, τ `));
  assert.match(text(b, "history-body"), new RegExp(`τ learnt from ${en(before.requests)} requests`));
  assert.equal(text(b, "learning-summary"), "Nothing learnt yet.");
  assert.match(text(b, "learning-note"), new RegExp(`^Learning under your head v${active.version}:`));
  assert.equal(text(b, "alert"), "");
  // Signing out forgets all of it.
  b.$("sign-out").click();
  assert.equal(text(b, "learning-summary"), "Not loaded yet.");
  assert.ok(b.$("learning-result").hidden && b.$("learning-body").hidden && b.$("learning-empty").hidden);
});

Deno.test("learning panel: the guard's refusal shows its reason and figures, and nothing changes", async () => {
  const { w, token } = await learntWorld(1200, 20);
  const guard: GuardFigures = {
    margin: 0.05,
    canaries: { count: 40, global: 1, globalTau: 0.5, tenant: 0.875, tau: 0.99, drop: 0.125, passed: false },
    benign: { count: 0, global: 0, tenant: 0, rise: 0, passed: true },
    conflicts: 0,
    passed: false,
    forced: false,
  };
  const reason = refusal(guard, "learning");
  const real = toWorld(w);
  const b = await signIn(
    w,
    token,
    (url, init) =>
      url.endsWith("/learning/apply")
        ? Promise.resolve(
          Response.json({ error: "guard_refused", reason, tenant: TENANT, tau: 0.99, guard }, {
            status: 422,
          }),
        )
        : real(url, init),
  );
  const calls = b.calls.length;
  rowsOf(b).find((r) => r.fpr === "0.0001")!.apply.click();
  await until(() => !b.$("learning-result").hidden, "the result");
  assert.equal(
    b.$("learning-result").querySelector("h3")!.textContent,
    "Not applied: the guard refused the learnt τ",
  );
  assert.equal(
    text(b, "learning-refusal"),
    asSentence(reason),
  );
  assert.match(
    text(b, "learning-refusal"),
    /^The learnt head is refused: it would catch 87\.5% of the 40 canary attacks/,
  );
  assert.equal(text(b, "learning-verdict"), "refused");
  assert.ok(b.$("learning-verdict").classList.contains("bad"));
  assert.match(text(b, "learning-result"), /Proposed τ0\.9900/);
  assert.match(
    text(b, "learning-result"),
    /Canaries before100\.0% of 40 caught by the global head at τ 0\.500/,
  );
  assert.match(
    text(b, "learning-result"),
    /Canaries after87\.5% caught at τ 0\.9900 \(a fall of 12\.5%; the guard allows 5\.0%\)/,
  );
  assert.ok(b.$("learning-result").classList.contains("refused"));
  assert.equal(text(b, "status"), "The guard refused the learnt τ: the active head is unchanged.");
  assert.equal(text(b, "alert"), "", "shown in the panel, not as an error of the console");
  assert.deepEqual(b.calls.slice(calls).map((c) => `${c.method} ${c.url}`), [
    `POST /_taugate/tenants/${TENANT}/learning/apply`,
  ], "nothing refreshed: nothing changed");
  assert.deepEqual(JSON.parse(b.calls[calls].body!), { fpr: 0.0001 }, "the target of the row chosen");
  assert.equal((await w.store.read(TENANT)).active, null);
  assert.match(text(b, "history-summary"), /^No head of your own/);
  assert.equal(rowsOf(b).length, 3, "the proposals stay");
});

Deno.test("learning panel: too little traffic to apply: the API's reason, and no head", async () => {
  const { w, token } = await learntWorld(250);
  const b = await signIn(w, token);
  assert.match(text(b, "learning-summary"), /^250 requests of shop\.example learnt since/);
  rowsOf(b).find((r) => r.fpr === "0.001")!.apply.click();
  await until(() => !b.$("learning-result").hidden, "the result");
  assert.equal(
    b.$("learning-result").querySelector("h3")!.textContent,
    "Not applied: not enough traffic learnt yet",
  );
  // What the API says to the same request (which changes nothing), as the page shows it.
  const res = await w.api(`/tenants/${TENANT}/learning/apply`, {
    method: "POST",
    body: JSON.stringify({ fpr: 0.001 }),
  });
  assert.equal(res.status, 409);
  const { error, reason } = await res.json();
  assert.equal(error, "not_enough_traffic");
  assert.equal(
    text(b, "learning-refusal"),
    asSentence(reason),
  );
  assert.match(text(b, "learning-refusal"), /apply needs at least 300/);
  assert.equal(b.$("learning-result").querySelectorAll("#learning-verdict").length, 0, "no guard ran");
  assert.equal(text(b, "status"), "Not enough traffic learnt yet to apply: the active head is unchanged.");
  assert.equal((await w.store.read(TENANT)).active, null);
});

Deno.test("learning panel: Start again asks first; confirmed, what was learnt is forgotten", async () => {
  const { w, token } = await learntWorld(300);
  const b = await signIn(w, token);
  b.$("learning-reset").click();
  await until(() => b.$("confirm").open, "the confirmation");
  assert.equal(text(b, "confirm-h"), "Start learning again?");
  assert.match(
    text(b, "confirm-text"),
    /^The 300 requests learnt so far and the proposals made from them are forgotten/,
  );
  assert.equal(b.document.activeElement, b.$("confirm-cancel"), "Cancel has the focus");
  b.$("confirm-cancel").click();
  await idle(b, "learning-reset");
  assert.equal(text(b, "status"), "Nothing was forgotten.");
  assert.equal((await learningOf(w)).requests, 300);
  assert.ok(!b.calls.some((c) => c.method === "DELETE"));

  b.$("learning-reset").click();
  await until(() => b.$("confirm").open, "the confirmation");
  b.$("confirm-ok").click();
  await idle(b, "learning-reset");
  assert.deepEqual(b.calls.filter((c) => c.method === "DELETE").map((c) => c.url), [
    `/_taugate/tenants/${TENANT}/learning`,
  ]);
  assert.match(text(b, "status"), /^Learning starts again: \d+ stored shards? deleted\.$/);
  assert.match(text(b, "learning-summary"), /^Nothing learnt yet since learning started again on .+\.$/);
  assert.equal((await learningOf(w)).requests, 0);
  assert.ok(b.$("learning-reset").disabled);
  assert.ok(b.$("learning-body").hidden);
  // Learning goes on: more traffic shows on Refresh.
  for (let i = 0; i < 5; i++) await w.send(TENANT, benignRecord(i));
  b.$("learning-refresh").click();
  await idle(b, "learning-refresh");
  assert.equal(text(b, "status"), "Learning refreshed: 5 requests learnt.");
  assert.match(text(b, "learning-summary"), /^5 requests of shop\.example learnt since/);
});

Deno.test("learning panel: an answer it cannot read, or an error of the worker, is said plainly", async () => {
  const { w, token } = await learntWorld(10);
  const real = toWorld(w);
  let answer: (() => Response) | null = null; // null: the worker's own answer
  const b = await signIn(
    w,
    token,
    (url, init) =>
      answer !== null && url.endsWith("/learning") && init.method === "GET"
        ? Promise.resolve(answer())
        : real(url, init),
  );
  assert.match(text(b, "learning-summary"), /^10 requests of shop\.example learnt since/);
  assert.ok(!b.$("learning-body").hidden);
  // A malformed answer: said, and the figures read before are no longer shown as current.
  answer = () => Response.json({ tenant: TENANT, requests: "many", proposals: [] });
  b.$("learning-refresh").click();
  await idle(b, "learning-refresh");
  assert.equal(
    text(b, "alert"),
    "The worker's learning answer cannot be shown: it has no count of requests learnt.",
  );
  assert.equal(text(b, "learning-summary"), "Learning could not be read.");
  assert.ok(b.$("learning-body").hidden && b.$("learning-empty").hidden);
  assert.ok(b.$("learning-reset").disabled);
  // An error answer: its reason.
  answer = () =>
    Response.json({ error: "store_unavailable", reason: "the tenant store is unavailable" }, { status: 503 });
  b.$("learning-refresh").click();
  await idle(b, "learning-refresh");
  assert.equal(text(b, "alert"), "The tenant store is unavailable.");
  assert.equal(text(b, "learning-summary"), "Learning could not be read.");
  // The worker's answer again: the panel recovers, and the alert goes.
  answer = null;
  b.$("learning-refresh").click();
  await idle(b, "learning-refresh");
  assert.equal(text(b, "alert"), "");
  assert.match(text(b, "learning-summary"), /^10 requests of shop\.example learnt since/);
});

Deno.test("learning panel: an answer that comes after signing out is dropped", async () => {
  const { w, token } = await learntWorld(10);
  const real = toWorld(w);
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  let held = false;
  const b = openConsole({
    html: consolePage(),
    script: APP_JS,
    origin: `http://${TENANT}`,
    serve: async (url, init) => {
      if (url.endsWith("/learning") && !held) {
        held = true;
        await gate;
      }
      return real(url, init);
    },
  });
  b.$("tenant").value = TENANT;
  b.$("token").value = token;
  b.$("signin-form").dispatchEvent(new FakeEvent("submit"));
  await until(() => held && !b.$("workspace").hidden, "the learning request");
  assert.equal(text(b, "learning-summary"), "Reading what was learnt…");
  b.$("sign-out").click();
  release();
  await idle(b, "learning-refresh");
  assert.equal(text(b, "learning-summary"), "Not loaded yet.");
  assert.ok(b.$("learning-body").hidden && b.$("learning-empty").hidden);
  assert.equal(b.sessionStorage.length, 0);
});
