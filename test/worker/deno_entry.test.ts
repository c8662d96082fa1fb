// `deno task start`'s entry, run as its own process with the task's exact flags and permissions.
import assert from "node:assert/strict";
import { DenoKvHeadStore } from "../../src/store/deno_kv.ts";
import { writeTestModel } from "./_model.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ATTACK = "/search?q=" + encodeURIComponent("<script>alert(document.cookie)</script>");

/** The `start` task's arguments after `deno`, read from deno.json (so the test runs what users run). */
function startArgs(): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(ROOT + "deno.json")).tasks.start;
  const words = task.split(/\s+/);
  assert.equal(words[0], "deno");
  return words.slice(1);
}

function spawn(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: startArgs(),
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      TAUGATE_LOG_SAMPLE: "0",
      TAUGATE_LOG_FLAGGED_SAMPLE: "0",
      TAUGATE_EXPOSE: "on",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("deno task start: a missing model stops it at once with one line saying how to make one", async () => {
  const out = await spawn({ TAUGATE_MODEL: "/nonexistent/taugate.onnx" }).output();
  assert.equal(out.code, 1);
  const err = new TextDecoder().decode(out.stderr).trim();
  assert.equal(err.split("\n").length, 1, err);
  assert.match(err, /no model at \/nonexistent\/taugate\.onnx: build it with `deno task train`/);
});

Deno.test("deno task start: a bad setting stops it with a line naming the variable", async () => {
  const out = await spawn({ TAUGATE_MODE: "deny" }).output();
  assert.equal(out.code, 1);
  assert.match(new TextDecoder().decode(out.stderr), /^taugate: invalid TAUGATE_MODE/);
});

Deno.test("deno task start: serves with the model and the Deno KV file, scores, and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const model = await writeTestModel();
  try {
    // A tenant head in the KV file before start: requests to 127.0.0.1 are that tenant's.
    const kvPath = `${dir}/kv.sqlite3`;
    const kv = await Deno.openKv(kvPath);
    await new DenoKvHeadStore(kv).put("127.0.0.1", {
      version: 5,
      head: { w: new Array(16).fill(0), b: 10 }, // scores σ(10) ≈ 0.99995 for every request
      createdAt: "2026-11-29T00:00:00Z",
    });
    kv.close();
    const child = spawn({ TAUGATE_MODEL: model, TAUGATE_KV_PATH: kvPath, PORT: "0" });
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!/listening on (http:\/\/\S+)/.test(seen)) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the worker exited: ${seen}`);
      seen += value;
    }
    const base = /listening on (http:\/\/\S+)/.exec(seen)![1];
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await fetch(`${base}${ATTACK}`);
    const body = await res.json();
    assert.equal(res.status, 403, JSON.stringify(body));
    assert.equal(res.headers.get("x-taugate-head"), "tenant");
    assert.equal(res.headers.get("x-taugate-tenant"), "127.0.0.1");
    assert.equal(res.headers.get("x-taugate-model"), "test-random-11");
    assert.ok(body.score > 0.9999);
    // Via another host name (no head stored): the global head.
    const other = await fetch(`${base.replace("127.0.0.1", "localhost")}/`).catch(() => null);
    if (other !== null) {
      assert.equal(other.headers.get("x-taugate-head"), "global");
      await other.body?.cancel();
    }

    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
    await lines.cancel();
    await child.stderr.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(model);
  }
});
