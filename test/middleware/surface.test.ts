// Who sees what (README, "Who sees what"): with default options no response to a client carries a score,
// τ, model, tenant or decision, in any mode, from the bare middleware and from the standalone worker; the
// origin gets the decision headers in tag and log mode (`would-block` for a flagged request in log mode);
// `exposeToClient` (TAUGATE_EXPOSE=on) shows them to clients for debugging.
import assert from "node:assert/strict";
import { Hono } from "hono";
import { type Decision, type Mode, taugate, type TaugateEnv } from "../../src/middleware/mod.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { fakeEngine } from "./_fake_engine.ts";

const HOST = "http://shop.example.com";
const ATTACK = "/search?q=" + encodeURIComponent("<script>alert(document.cookie)</script>");
const BENIGN = "/search?q=red+shoes";
const MODES: Mode[] = ["block", "tag", "log", "off"];

function taugateHeaders(h: Headers): string[] {
  return [...h.keys()].filter((k) => k.startsWith("x-taugate-"));
}

function app(mode: Mode, exposeToClient?: boolean) {
  const seen: { decision: Decision | undefined; headers: Headers }[] = [];
  const a = new Hono<TaugateEnv>();
  a.use(
    "*",
    taugate({ engine: fakeEngine(), mode, log: false, ...(exposeToClient ? { exposeToClient } : {}) }),
  );
  a.all("*", (c) => {
    seen.push({ decision: c.get("taugate"), headers: c.req.raw.headers });
    return c.text("origin");
  });
  return { app: a, seen };
}

Deno.test("default surface: no response carries a score, τ, model, tenant or decision, in any mode", async () => {
  for (const mode of MODES) {
    for (const path of [BENIGN, ATTACK]) {
      const { app: a } = app(mode);
      const res = await a.request(HOST + path, { headers: { "x-taugate-decision": "allow" } });
      assert.deepEqual(taugateHeaders(res.headers), [], `${mode} ${path}`);
      const text = await res.text();
      if (res.status === 403) {
        const body = JSON.parse(text);
        assert.deepEqual(Object.keys(body).sort(), ["error", "request_id"], `${mode}: ${text}`);
        assert.equal(body.error, "blocked");
      }
      assert.doesNotMatch(text, /score|tau|tg-model|shop\.example\.com/);
    }
  }
});

Deno.test("default surface: the origin gets the decision in tag and log mode, would-block when flagged", async () => {
  const expected: Record<Mode, [string | null, string | null]> = {
    block: [null, null], // benign passes with nothing added; the attack never reaches the origin
    tag: ["allow", "tag"],
    log: ["allow", "would-block"],
    off: [null, null],
  };
  for (const mode of MODES) {
    const { app: a, seen } = app(mode);
    // A client's own decision header never reaches the origin.
    await a.request(HOST + BENIGN, { headers: { "x-taugate-decision": "block" } });
    await a.request(HOST + ATTACK);
    const got = seen.map((s) => s.headers.get("x-taugate-decision"));
    const want = mode === "block" ? [expected[mode][0]] : expected[mode];
    if (mode === "off") {
      // `off` is the kill switch: taugate does nothing at all, a client's header included.
      assert.deepEqual(got, ["block", null]);
      continue;
    }
    assert.deepEqual(got, want, mode);
    if (mode === "log") {
      assert.ok(seen[1].headers.get("x-taugate-score") !== null, "the origin sees the score");
      assert.equal(seen[1].decision?.flagged, true);
      assert.equal(seen[1].decision?.decision, "allow", "c.get('taugate') keeps what was done");
    }
  }
});

Deno.test("exposeToClient: the decision headers and the 403's score and τ, for debugging", async () => {
  const { app: a } = app("block", true);
  const ok = await a.request(HOST + BENIGN);
  assert.deepEqual(taugateHeaders(ok.headers).sort(), [
    "x-taugate-decision",
    "x-taugate-head",
    "x-taugate-model",
    "x-taugate-score",
    "x-taugate-tenant",
  ]);
  const blocked = await a.request(HOST + ATTACK);
  const body = await blocked.json();
  assert.equal(blocked.status, 403);
  assert.ok(typeof body.score === "number" && typeof body.tau === "number" && body.request_id);
  assert.equal(blocked.headers.get("x-taugate-decision"), "block");
  // In log mode the client is told what the origin is: a flagged request would have been blocked.
  const { app: logged } = app("log", true);
  assert.equal((await logged.request(HOST + ATTACK)).headers.get("x-taugate-decision"), "would-block");
  assert.equal((await logged.request(HOST + BENIGN)).headers.get("x-taugate-decision"), "allow");
});

Deno.test("standalone worker: TAUGATE_EXPOSE defaults to off; on shows the headers", async () => {
  for (const [env, visible] of [[{}, false], [{ TAUGATE_EXPOSE: "on" }, true]] as const) {
    const w = createWorkerApp({
      config: workerConfigFromEnv({ TAUGATE_MODE: "block", TAUGATE_LOG_SAMPLE: "0", ...env }),
      engine: fakeEngine(),
    });
    const ok = await w.request(HOST + BENIGN);
    assert.equal(ok.status, 200);
    assert.equal(taugateHeaders(ok.headers).length > 0, visible, JSON.stringify(env));
    const blocked = await w.request(HOST + ATTACK);
    assert.equal(blocked.status, 403);
    assert.equal("score" in await blocked.json(), visible);
  }
});
