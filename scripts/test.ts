/**
 * `deno task test`: every check and test of the project, in order, with one summary line at the end.
 *
 * 1. `deno fmt --check`, `deno lint`, `deno check` (each counts as one test);
 * 2. the Deno tests (`test/`, `src/`; not `test/workerd` and `test/e2e`, which are Node tests), and the
 *    `@example` blocks of `src/` (`deno test --doc`; the workerd-only entries, which import `.wasm` and
 *    `.onnx` modules Deno cannot load, are left out);
 * 3. the training package's tests (Node's test runner);
 * 4. the workerd tests through miniflare (Node), once present;
 * 5. the browser tests (Node, Debian's Chromium through playwright-core), once present. When Chromium is
 *    missing, `scripts/ensure_chromium.sh --lenient` installs it with apt if it can (root, or sudo without a
 *    password); if it still is missing, the browser tests are skipped (counted and reported above the
 *    summary line), so that the quick start works on any machine, unless `TAUGATE_REQUIRE_BROWSER=1`
 *    (`.ci/run` sets it, after installing Chromium) makes them fail. `TAUGATE_SKIP_BROWSER=1` skips them.
 *
 * The last line is `N passed, N failed`; the exit code is non-zero when anything failed.
 */
const root = new URL("../", import.meta.url).pathname;
const deno = Deno.execPath();
const env: Record<string, string> = { ...Deno.env.toObject(), NO_COLOR: "1", FORCE_COLOR: "0" };
let passed = 0, failed = 0;
const failures: string[] = [];

async function run(
  name: string,
  cmd: string,
  args: string[],
  cwd = root,
): Promise<{ ok: boolean; out: string }> {
  console.log(`\n=== ${name}: ${[cmd, ...args].join(" ")}`);
  const child = new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "piped" }).spawn();
  const decoder = new TextDecoder();
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      out += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  return { ok: status.success, out };
}

function gate(name: string, ok: boolean) {
  if (ok) passed++;
  else failed++, failures.push(name);
}

/** Adds a runner's own counts; a run that failed without reporting a failed test counts as one failure. */
function count(name: string, ok: boolean, p: number, f: number) {
  passed += p;
  failed += f;
  if (!ok && f === 0) failed++, failures.push(`${name} (did not complete)`);
  else if (f > 0) failures.push(`${name} (${f} failed)`);
}

function lastNumber(out: string, re: RegExp): number {
  let n = 0;
  for (const m of out.matchAll(re)) n = Number(m[1]);
  return n;
}

const fmt = await run("format", deno, ["fmt", "--check"]);
gate("deno fmt --check", fmt.ok);
const lint = await run("lint", deno, ["lint"]);
gate("deno lint", lint.ok);
const check = await run("type check", deno, ["task", "check"]);
gate("deno check", check.ok);

// test/workerd and test/e2e are Node tests (node:test, miniflare, playwright-core), run below by Node only.
const denoTests = await run("Deno tests", deno, [
  "test",
  "-A",
  "--unstable-kv",
  "--ignore=test/workerd,test/e2e",
  "test/",
  "src/",
]);
count(
  "Deno tests",
  denoTests.ok,
  lastNumber(denoTests.out, /(\d+) passed/g),
  lastNumber(denoTests.out, /(\d+) failed/g),
);

// Every `@example` of src/ runs (blocks marked `ts ignore` are only shown: they need a server or workerd).
const docFiles: string[] = [];
const walk = (dir: string) => {
  for (const e of Deno.readDirSync(root + dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) walk(p);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) docFiles.push(p);
  }
};
walk("src");
const docs = await run("doc examples (deno test --doc)", deno, [
  "test",
  "-A",
  "--unstable-kv",
  "--doc",
  ...docFiles.filter((f) => !/^src\/(worker\/workerd|runtime\/workerd|worker\/deno\.ts)/.test(f)).sort(),
]);
count(
  "doc examples",
  docs.ok,
  lastNumber(docs.out, /(\d+) passed/g),
  lastNumber(docs.out, /(\d+) failed/g),
);

const node = (out: string) => [lastNumber(out, /ℹ pass (\d+)/g), lastNumber(out, /ℹ fail (\d+)/g)] as const;
const train = await run("training package tests (Node)", "npm", ["test", "--silent"], root + "train");
count("training tests", train.ok, ...node(train.out));

try {
  const workerd = [...Deno.readDirSync(root + "test/workerd")].filter((e) => e.name.endsWith(".test.mjs"));
  if (workerd.length > 0) {
    const files = workerd.map((e) => "test/workerd/" + e.name).sort();
    // A test that takes over 3 minutes (each takes seconds) has hung: once, workerd spun at full CPU for 16
    // minutes in the tag-mode test, not reproducible in the next runs. It fails instead of eating CI's budget, and
    // only a timeout (never a failed assertion) runs the suite once more; both runs' output stays in the log.
    const args = ["--test", "--test-reporter=spec", "--test-timeout=180000", ...files];
    let w = await run("workerd tests (miniflare)", "node", args);
    if (!w.ok && /test timed out after \d+ms/.test(w.out)) {
      console.log("\nworkerd tests: a test timed out (a hung workerd); the suite runs once more, and counts");
      w = await run("workerd tests (miniflare), second run after a timeout", "node", args);
    }
    count("workerd tests", w.ok, ...node(w.out));
  }
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

let skipped = 0;
try {
  const e2e = [...Deno.readDirSync(root + "test/e2e")].filter((e) => e.name.endsWith(".test.mjs"));
  if (e2e.length > 0) {
    const files = e2e.map((e) => "test/e2e/" + e.name).sort();
    const chromium = env.CHROMIUM_PATH || "/usr/bin/chromium";
    const present = () => {
      try {
        return Deno.statSync(chromium).isFile;
      } catch {
        return false;
      }
    };
    if (!present() && env.TAUGATE_SKIP_BROWSER !== "1") {
      await new Deno.Command("bash", { args: [root + "scripts/ensure_chromium.sh", "--lenient"], env })
        .output()
        .then((o) => Deno.stderr.write(o.stderr));
      if (!present() && env.TAUGATE_REQUIRE_BROWSER !== "1") env.TAUGATE_SKIP_BROWSER = "1";
    }
    const b = await run("browser tests (Chromium)", "node", ["--test", "--test-reporter=spec", ...files]);
    count("browser tests", b.ok, ...node(b.out));
    skipped = lastNumber(b.out, /ℹ skipped (\d+)/g);
  }
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

console.log("");
if (skipped) {
  console.log(
    `skipped: ${skipped} browser test(s), each saying why above (no Chromium: apt-get install chromium, or set ` +
      "CHROMIUM_PATH; no corpus: the real sites' story needs ../shared/data or TAUGATE_DATA)",
  );
}
if (failures.length) console.log(`failed: ${failures.join("; ")}`);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
