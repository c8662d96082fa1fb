// wrangler.toml builds both Workers offline, as `wrangler deploy` would upload them, without a warning:
// `--env=""` (the default build, onnxruntime-web and its precompiled wasm) and `--env free` (the TypeScript
// engine, no wasm). A bare `wrangler deploy` may print one warning only, wrangler 4's "Multiple environments
// are defined ..." (printed whenever [env.*] exists and no `--env` is given, whatever the file says).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT } from "./_helpers.mjs";

const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const MULTIPLE_ENVS = "Multiple environments are defined in the Wrangler configuration file";

let dir;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "taugate-wrangler-"));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `wrangler deploy --dry-run` with `envArgs`: its exit status, output and the files it wrote. */
function dryRun(name, envArgs) {
  const outdir = join(dir, name);
  const env = { ...process.env, NO_COLOR: "1", WRANGLER_SEND_METRICS: "false", CI: "1" };
  delete env.CLOUDFLARE_ENV;
  const r = spawnSync(process.execPath, [WRANGLER, "deploy", "--dry-run", "--outdir", outdir, ...envArgs], {
    cwd: ROOT,
    env,
    encoding: "utf8",
  });
  const output = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, output);
  const warnings = output.split("\n").filter((l) => /\[WARNING\]|\[ERROR\]/.test(l));
  return { output, warnings, files: readdirSync(outdir) };
}

test('wrangler: `deploy --dry-run --env=""` builds the default Worker without a warning', () => {
  const { output, warnings, files } = dryRun("default", ["--env="]);
  assert.deepEqual(warnings, [], output);
  assert.ok(
    files.some((f) => f.endsWith(".wasm")),
    `onnxruntime-web's wasm is a module: ${files.join(", ")}`,
  );
  assert.ok(files.some((f) => f.endsWith(".onnx")), `the model is a module: ${files.join(", ")}`);
  assert.match(output, /env\.TENANT_KV\s.*KV Namespace/);
});

test("wrangler: `deploy --dry-run --env free` builds the free-plan Worker without a warning", () => {
  const { output, warnings, files } = dryRun("free", ["--env", "free"]);
  assert.deepEqual(warnings, [], output);
  assert.ok(!files.some((f) => f.endsWith(".wasm")), `no onnxruntime-web wasm: ${files.join(", ")}`);
  assert.ok(files.some((f) => f.endsWith(".onnx")), `the model is a module: ${files.join(", ")}`);
  assert.match(output, /env\.TAUGATE_ENGINE \("ts"\)/);
});

test("wrangler: a bare `deploy --dry-run` builds the default Worker, warning only about environments", () => {
  const { output, warnings, files } = dryRun("bare", []);
  assert.ok(warnings.every((w) => w.includes(MULTIPLE_ENVS)), output);
  assert.ok(files.some((f) => f.endsWith(".wasm")), `the default build: ${files.join(", ")}`);
});
