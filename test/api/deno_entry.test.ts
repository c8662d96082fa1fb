// `deno task start` with the tenant API on: an upload over HTTP, the next request scored with the new head,
// the head kept in the Deno KV file across a restart; a short operator token stops it at start.
import assert from "node:assert/strict";
import { labelled } from "./_app.ts";
import { apiModelBytes, benignRecord } from "./_model.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ADMIN = "entry-operator-token-0123456789abcdef0123";

function spawn(env: Record<string, string>): Deno.ChildProcess {
  const task: string = JSON.parse(Deno.readTextFileSync(ROOT + "deno.json")).tasks.start;
  return new Deno.Command(Deno.execPath(), {
    args: task.split(/\s+/).slice(1),
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      TAUGATE_LOG_SAMPLE: "0",
      TAUGATE_LOG_FLAGGED_SAMPLE: "0",
      PORT: "0",
      TAUGATE_EXPOSE: "on",
      ...env,
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

/** Starts the worker; its base URL once it listens. */
async function start(
  env: Record<string, string>,
): Promise<{ child: Deno.ChildProcess; base: string; line: string }> {
  const child = spawn(env);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/listening on (http:\/\/\S+).*\n/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the worker exited: ${seen}`);
    seen += value;
  }
  // Keep draining stdout (audit lines), so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return { child, base: /listening on (http:\/\/\S+)/.exec(seen)![1], line: seen.split("\n")[0] };
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await child.status;
}

Deno.test("deno task start with TAUGATE_ADMIN_TOKEN: upload, next request, kept in Deno KV across a restart", async () => {
  const dir = await Deno.makeTempDir();
  const model = `${dir}/model.onnx`;
  await Deno.writeFile(model, apiModelBytes());
  const env = { TAUGATE_MODEL: model, TAUGATE_KV_PATH: `${dir}/kv.sqlite3`, TAUGATE_ADMIN_TOKEN: ADMIN };
  const fp = benignRecord(502); // a form POST the global head blocks
  const sendFp = (base: string) =>
    fetch(base + fp.url, { method: fp.method, headers: fp.headers, body: fp.body });
  try {
    let { child, base, line } = await start(env);
    assert.match(line, /tenant API on at \/_taugate/);
    const before = await sendFp(base);
    await before.body?.cancel();
    assert.equal(before.status, 403);
    // Requests to 127.0.0.1 are that tenant's (the host name is the tenant).
    const res = await fetch(`${base}/_taugate/tenants/127.0.0.1/examples`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/x-ndjson" },
      body: labelled(Array.from({ length: 20 }, (_, i) => benignRecord(i)), 0).map((r) => JSON.stringify(r))
        .join("\n"),
    });
    const up = await res.json();
    assert.equal(res.status, 201, JSON.stringify(up));
    const after = await sendFp(base);
    await after.body?.cancel();
    assert.equal(after.status, 200);
    assert.equal(after.headers.get("x-taugate-head"), "tenant");
    await stop(child);

    ({ child, base } = await start(env));
    const again = await sendFp(base);
    await again.body?.cancel();
    assert.equal(again.headers.get("x-taugate-head"), "tenant", "the head survived the restart");
    assert.equal(again.headers.get("x-taugate-score"), after.headers.get("x-taugate-score"));
    const head = await (await fetch(`${base}/_taugate/tenants/127.0.0.1/head`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    })).json();
    assert.equal(head.version, up.version);
    await stop(child);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start: an operator token under 32 characters stops it, without showing the token", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: JSON.parse(Deno.readTextFileSync(ROOT + "deno.json")).tasks.start.split(/\s+/).slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1", TAUGATE_ADMIN_TOKEN: "hunter2-is-short" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /^taugate: invalid TAUGATE_ADMIN_TOKEN: must be at least 32 characters/);
  assert.ok(!err.includes("hunter2"));
});
