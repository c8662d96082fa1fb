// The npm package as a Workers user gets it, offline: `scripts/build_npm.mjs`, `npm pack`, the tarball
// unpacked into a fresh project's node_modules beside its dependencies (hono, zod, onnxruntime-web: the
// copies npm installed here, linked), a Hono Worker of a few lines bundled by `wrangler deploy --dry-run`
// with no configuration of ours (the onnxruntime-web WebAssembly through wrangler's default CompiledWasm
// rule, the model inlined in the package), then run on workerd (Miniflare): a SQL injection is blocked, a
// benign request passes. Also checks the package's contents and that its types check in the project.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { COMPATIBILITY_DATE, ROOT } from "./_helpers.mjs";

let dir, mf;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "taugate-npm-"));
});

after(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sh = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", stdio: "pipe" });

test("npm package: packed, installed offline, bundled by wrangler, blocks SQL injection on workerd", async () => {
  const pkgDir = join(dir, "pkg");
  sh(process.execPath, [join(ROOT, "scripts/build_npm.mjs"), "--out", pkgDir], ROOT);
  const packed = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", dir], pkgDir))[0];
  const shipped = packed.files.map((f) => f.path);
  assert.ok(shipped.includes("package.json") && shipped.includes("dist/index.js"));
  for (const f of shipped) {
    assert.ok(!/^(test|train|\.ci|scripts|src)\//.test(f), `ships only what runs: ${f}`);
  }
  const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  assert.ok(manifest.peerDependencies.hono);
  assert.deepEqual(Object.keys(manifest.exports).sort(), [".", "./package.json", "./worker", "./workerd"]);

  const proj = join(dir, "shop-worker");
  mkdirSync(join(proj, "src"), { recursive: true });
  mkdirSync(join(proj, "node_modules/taugate"), { recursive: true });
  sh("tar", [
    "xzf",
    join(dir, packed.filename),
    "-C",
    join(proj, "node_modules/taugate"),
    "--strip-components=1",
  ], dir);
  for (const dep of ["hono", "zod", "onnxruntime-web"]) {
    symlinkSync(join(ROOT, "node_modules", dep), join(proj, "node_modules", dep));
  }
  writeFileSync(
    join(proj, "package.json"),
    JSON.stringify({ name: "shop-worker", private: true, type: "module" }),
  );
  writeFileSync(
    join(proj, "wrangler.toml"),
    `name = "shop-worker"\nmain = "src/index.ts"\ncompatibility_date = "${COMPATIBILITY_DATE}"\n`,
  );
  // The README's Workers program (Packages), as the project's entry.
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const program = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.includes('from "taugate/workerd"'));
  assert.ok(program?.includes("export default app"), "the README's Workers package example");
  writeFileSync(join(proj, "src/index.ts"), program);
  // The project's code type-checks against the package's declarations.
  writeFileSync(
    join(proj, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: "preserve",
        moduleResolution: "bundler",
        target: "es2022",
        lib: ["es2022", "dom", "dom.iterable"],
        skipLibCheck: true,
        types: [],
      },
      include: ["src"],
    }),
  );
  sh(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "."], proj);

  const out = join(proj, "out");
  sh(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out],
    proj,
    {
      WRANGLER_SEND_METRICS: "false",
      CI: "1",
    },
  );
  const files = readdirSync(out);
  const wasm = files.find((f) => f.endsWith(".wasm"));
  assert.ok(wasm, `wrangler bundled the WebAssembly (${files.join(", ")})`);

  mf = new Miniflare({
    modules: [
      {
        type: "ESModule",
        path: join(out, "index.js"),
        contents: readFileSync(join(out, "index.js"), "utf8"),
      },
      { type: "CompiledWasm", path: join(out, wasm), contents: readFileSync(join(out, wasm)) },
    ],
    modulesRoot: out,
    compatibilityDate: COMPATIBILITY_DATE,
  });
  const benign = await mf.dispatchFetch("http://shop.example.com/?page=2&sort=price");
  const text = await benign.text();
  assert.equal(benign.status, 200, text);
  assert.equal(text, "decision: allow");
  const attack = await mf.dispatchFetch(
    "http://shop.example.com/?id=" +
      encodeURIComponent("1' UNION SELECT username, password FROM users--"),
  );
  assert.equal(attack.status, 403);
  const body = await attack.json();
  assert.equal(body.error, "blocked");
  assert.equal(attack.headers.get("x-taugate-score"), null, "clients see no score by default");
});
