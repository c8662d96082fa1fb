// The JSR package as a user gets it: `deno publish --dry-run` must pass (no slow types), and the files it
// would publish, copied alone into a fresh project (an import map to them, the npm dependencies from a
// node_modules folder: offline), must run a Hono app on Deno that blocks a SQL injection and passes a benign
// request with the bundled model through `denoEngine()`.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = Deno.execPath();

async function run(args: string[], cwd: string): Promise<{ code: number; out: string; stdout: string }> {
  const r = await new Deno.Command(DENO, {
    args,
    cwd,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  // Without colours (a child Deno colours its output when the environment says FORCE_COLOR).
  // deno-lint-ignore no-control-regex
  const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
  const stdout = plain(dec.decode(r.stdout));
  return { code: r.code, out: stdout + plain(dec.decode(r.stderr)), stdout };
}

Deno.test("JSR package: publish --dry-run passes; its files alone run a Hono app on Deno, offline", async () => {
  const dry = await run(["publish", "--dry-run", "--allow-dirty"], ROOT);
  assert.equal(dry.code, 0, dry.out.slice(-3000));
  assert.match(dry.out, /Simulating publish of @taugate\/taugate@/);
  const files = [...dry.out.matchAll(/file:\/\/(\/\S+)/g)].map((m) => m[1].slice(ROOT.length));
  assert.ok(files.includes("models/taugate.onnx"), "the bundled model is published");
  assert.ok(files.includes("src/mod.ts"));
  for (const f of files) {
    assert.ok(!/^(test|train|\.ci|scripts)\//.test(f), `ships only what runs: ${f}`);
  }

  const dir = await Deno.makeTempDir({ prefix: "taugate-jsr-" });
  try {
    for (const f of files) {
      await Deno.mkdir(join(dir, "pkg", dirname(f)), { recursive: true });
      await Deno.copyFile(join(ROOT, f), join(dir, "pkg", f));
    }
    const imports = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).imports;
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({
        nodeModulesDir: "manual",
        imports: {
          "@taugate/taugate": "./pkg/src/mod.ts",
          "@taugate/taugate/deno": "./pkg/src/runtime/deno.ts",
          hono: imports.hono,
          "hono/": imports["hono/"],
          zod: imports.zod,
          "onnxruntime-web": imports["onnxruntime-web"],
          "onnxruntime-web/wasm": imports["onnxruntime-web/wasm"],
        },
      }),
    );
    await Deno.writeTextFile(
      join(dir, "package.json"),
      JSON.stringify({ dependencies: { hono: "*", zod: "*", "onnxruntime-web": "*" } }),
    );
    // Third-party packages only (hono, zod, onnxruntime-web and theirs), as npm installed them here.
    await Deno.symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
    // The README's Deno program (Packages), its Deno.serve replaced by two requests to the app.
    const readme = await Deno.readTextFile(join(ROOT, "README.md"));
    const program = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
      .find((b) => b.includes('from "@taugate/taugate/deno"'));
    assert.ok(program?.includes("Deno.serve(app.fetch);"), "the README's Deno package example");
    await Deno.writeTextFile(
      join(dir, "main.ts"),
      program!.replace(
        "Deno.serve(app.fetch);",
        `const benign = await app.request("http://shop.example.com/?page=2&sort=price");
const attack = await app.request(
  "http://shop.example.com/?id=" + encodeURIComponent("1' UNION SELECT username, password FROM users--"),
);
console.log(JSON.stringify({
  benign: [benign.status, await benign.text()],
  attack: [attack.status, await attack.json()],
}));`,
      ),
    );
    const r = await run(["run", "--allow-read", "--allow-env", "--check", "main.ts"], dir);
    assert.equal(r.code, 0, r.out.slice(-3000));
    const got = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(got.benign, [200, "decision: allow"]);
    assert.equal(got.attack[0], 403);
    assert.equal(got.attack[1].error, "blocked");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
