// Every command of `node train/bin/run.mjs` prints its usage with --help and -h (exit 0, every declared option
// listed with its default, nothing loaded: no data folder, no model, no stdin), and refuses an unknown option
// with exit code 2 and a message naming it. The option tables live in src/cli/commands.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { Args, type CommandSpec, parseCli, usage } from "../src/cli/args.ts";
import { commandList, COMMANDS, EVAL, SCORE, TRAIN } from "../src/cli/commands.ts";

const RUN = fileURLToPath(new URL("../bin/run.mjs", import.meta.url));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs run.mjs with stdin left open (a command that read stdin would hang, and the test time out). */
function run(args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Calls `fn` with console.log and console.error captured. */
async function capture(fn: () => Promise<number> | number): Promise<Ran> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await fn();
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** What a usage text must show of its table: every option, and every default. */
function assertListsEveryOption(text: string, spec: CommandSpec): void {
  assert.match(text, /^usage: /, `${spec.name}: starts with the synopsis`);
  assert.ok(text.includes(spec.invocation), `${spec.name}: names how it is run`);
  for (const o of spec.options) {
    assert.ok(text.includes(`--${o.name}`), `${spec.name} --help lists --${o.name}`);
    const dflt = o.defaultText ?? o.default;
    if (dflt !== undefined) {
      // Wrapping may break a long default over lines: compare with whitespace collapsed.
      const flat = text.replace(/\s+/g, " ");
      assert.ok(flat.includes(`default: ${dflt}`), `${spec.name} --help shows --${o.name}'s default ${dflt}`);
    }
  }
  assert.ok(text.includes("-h, --help"), `${spec.name}: lists --help`);
}

test("every command prints its usage with --help: exit 0, every option and default, nothing loaded", async () => {
  assert.deepEqual(
    COMMANDS.map((c) => c.spec.name),
    [
      "train",
      "eval",
      "score",
      "sitefewshot",
      "sitefp",
      "headerprobe",
      "sitetop",
      "sitetau",
      "learnreplay",
      "rotations",
    ],
  );
  // --data and --model point nowhere: --help must not read them (nor stdin, for score).
  const runs = await Promise.all(
    COMMANDS.map((c) => run([c.spec.name, "--help", "--data", "/nonexistent/taugate-data"])),
  );
  COMMANDS.forEach((c, i) => {
    const r = runs[i];
    assert.equal(r.code, 0, `${c.spec.name} --help: exit ${r.code}, stderr ${r.stderr}`);
    assertListsEveryOption(r.stdout, c.spec);
    assert.equal(r.stdout.trim(), usage(c.spec), `${c.spec.name}: the usage made from its table`);
  });
});

test("-h is --help, anywhere among the arguments", async () => {
  const { main: scoreMain } = await import("../src/cli/score.ts");
  const { main: evalMain } = await import("../src/cli/eval.ts");
  const a = await capture(() => scoreMain(["-h"]));
  assert.equal(a.code, 0);
  assert.equal(a.stdout, usage(SCORE));
  const b = await capture(() => evalMain(["--shots", "0,5", "-h"]));
  assert.equal(b.code, 0);
  assert.equal(b.stdout, usage(EVAL));
});

test("run.mjs --help and no command list the commands, one line each", async () => {
  const [help, none, bad] = await Promise.all([run(["--help"]), run([]), run(["tarin"])]);
  assert.equal(help.code, 0);
  assert.equal(help.stdout.trim(), commandList());
  for (const c of COMMANDS) {
    const line = help.stdout.split("\n").find((l) => l.trimStart().startsWith(c.spec.name + " "));
    assert.ok(line && line.includes(c.spec.summary), `lists ${c.spec.name} with its summary`);
  }
  assert.equal(none.code, 2);
  assert.ok(none.stderr.includes(commandList()));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command "tarin"/);
});

test("an unknown option fails with exit code 2 and names the option, for every command", async () => {
  for (const c of COMMANDS) {
    const { main } = await import(new URL(`../src/cli/${c.module.slice(2)}`, import.meta.url).href);
    const r = await capture(() => main(["--bogus-option", "1"]));
    assert.equal(r.code, 2, `${c.spec.name}: exit ${r.code}`);
    assert.match(r.stderr, new RegExp(`^${c.spec.name}: unknown option --bogus-option`), c.spec.name);
    assert.ok(r.stderr.includes("--help"), `${c.spec.name}: points to --help`);
    assert.equal(r.stdout, "");
  }
  // And through run.mjs, as a user runs it.
  const r = await run(["train", "--epochs", "3"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /train: unknown option --epochs/);
});

test("bad values are usage errors (exit 2) before any work", async () => {
  const { main: evalMain } = await import("../src/cli/eval.ts");
  const { main: fewMain } = await import("../src/cli/sitefewshot.ts");
  const cases: [() => Promise<number>, RegExp][] = [
    [() => evalMain(["--support", "s", "--query", "q", "--episodes", "many"]), /--episodes must be a number/],
    [
      () => evalMain(["--support", "s", "--query", "q", "--shots", "0,x"]),
      /--shots must be a list of integers/,
    ],
    [() => evalMain(["--query", "q"]), /missing --support/],
    [() => evalMain(["--support", "s", "--query"]), /--query needs a value/],
    [() => fewMain(["--split", "holdout"]), /--split must be one of train, support, query/],
    [() => fewMain(["--variants", "nope"]), /unknown variant nope/],
  ];
  for (const [fn, message] of cases) {
    const r = await capture(fn);
    assert.equal(r.code, 2, String(message));
    assert.match(r.stderr, message);
  }
});

test("Args: the table drives parsing, defaults and the usage", () => {
  const spec: CommandSpec = {
    name: "demo",
    invocation: "demo",
    summary: "A demo.",
    options: [
      { name: "n", kind: "value", arg: "N", type: "number", default: "3", help: "A number." },
      { name: "ks", kind: "value", arg: "LIST", type: "integers", default: "0,5", help: "Some K." },
      { name: "in", kind: "value", arg: "FILE", repeat: true, help: "Inputs." },
      { name: "mode", kind: "value", choices: ["a", "b"], default: "a", help: "A mode." },
      { name: "fast", kind: "flag", help: "Go fast." },
    ],
  };
  const a = new Args(["--n=7", "--in", "x", "--in", "y", "--fast"], spec);
  assert.equal(a.num("n"), 7);
  assert.deepEqual(a.ints("ks"), [0, 5]);
  assert.deepEqual(a.all("in"), ["x", "y"]);
  assert.equal(a.str("mode"), "a");
  assert.equal(a.flag("fast"), true);
  assert.throws(() => a.flag("slow"), /not declared/);
  assert.throws(() => new Args(["--mode", "c"], spec), /--mode must be one of a, b/);
  assert.throws(() => new Args(["x"], spec), /unexpected argument "x"/);
  assert.throws(() => new Args(["--n"], spec), /--n needs a value/);
  const text = usage(spec);
  for (
    const s of ["--n N", "--ks LIST", "--in FILE", "--mode VALUE", "--fast", "(default: 3)", "repeatable"]
  ) {
    assert.ok(text.includes(s), s);
  }
  // The declared defaults are the commands' real ones.
  const e = new Args(["--support", "s", "--query", "q"], EVAL);
  assert.equal(e.num("episodes"), 20);
  assert.equal(e.num("contamination"), 0.02);
  assert.deepEqual(e.ints("shots"), [0, 5, 10, 50]);
});

test("train: --records problems fail at once (before the data is read), with the file named", async () => {
  const { main } = await import("../src/cli/train.ts");
  const missing = "/nonexistent/taugate-records.jsonl";
  let r = await capture(() => main(["--records", `${missing}:0`, "--data", "/nonexistent/data"]));
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${missing}: no such file or folder`), r.stderr);
  r = await capture(() => main(["--records", "x.jsonl", "--card"]));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--records .* nothing with --card/);
  r = await capture(() => main(["--data", RUN]));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--data takes the public corpus folder/);
  const help = await capture(() => main(["--help"]));
  assert.equal(help.code, 0);
  assertListsEveryOption(help.stdout, TRAIN);
  assert.ok(help.stdout.includes("--records FILE[:LABEL]"));
  assert.ok(parseCli(["--records", "a:0", "--records", "b"], TRAIN) instanceof Args);
});

test("every option a command reads is declared in its table (usage and parsing cannot drift)", () => {
  for (const c of COMMANDS) {
    const source = readFileSync(new URL(`../src/cli/${c.module.slice(2)}`, import.meta.url), "utf8");
    const read = [...source.matchAll(/args\.(?:str|num|ints|all|flag)\("([a-z-]+)"/g)].map((m) => m[1]);
    assert.ok(read.length > 0, `${c.spec.name} reads its options through Args`);
    const declared = new Set(c.spec.options.map((o) => o.name));
    for (const name of read) {
      assert.ok(declared.has(name), `${c.spec.name} reads --${name}, which it does not declare`);
    }
    for (const name of declared) {
      assert.ok(read.includes(name), `${c.spec.name} declares --${name} and never reads it`);
    }
  }
});
