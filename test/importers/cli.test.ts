import assert from "node:assert/strict";
import { importHar, importRawHttp } from "../../src/importers/mod.ts";
import { fixture } from "./_helpers.ts";

const root = new URL("../../", import.meta.url).pathname;
const fixtures = root + "test/fixtures/importers/";

async function cli(args: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "scripts/import.ts", ...args],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  } catch (e) {
    // The CLI may exit (bad arguments) before it reads its input.
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
  const { code, stdout, stderr } = await child.output();
  const d = new TextDecoder();
  return { code, stdout: d.decode(stdout), stderr: d.decode(stderr) };
}

function jsonl(text: string): unknown[] {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

Deno.test("cli: a HAR file to stdout, labelled, with the report on stderr", async () => {
  const r = await cli([
    "--format",
    "har",
    "--label",
    "0",
    "--tenant",
    "shop-1",
    "--in",
    fixtures + "chrome.har",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(jsonl(r.stdout), importHar(fixture("chrome.har"), { label: 0, tenant: "shop-1" }).records);
  assert.equal(r.stderr, "import: 2 records imported, 0 skipped, 2 read\n");
});

Deno.test("cli: stdin to a file; each skipped line is listed with its reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = fixture("burp.txt") + "\r\nGET /broken\r\n\r\n";
    const r = await cli(["--format=raw", "--label=1", "--family", "sqli", "--out", `${dir}/out.jsonl`], text);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const written = jsonl(await Deno.readTextFile(`${dir}/out.jsonl`));
    assert.deepEqual(written, importRawHttp(text, { label: 1, family: "sqli" }).records);
    assert.equal(written.length, 2);
    assert.equal(
      r.stderr,
      "import: 2 records imported, 1 skipped, 3 read\n" +
        '  line 26: not a request line (METHOD TARGET HTTP/x): "GET /broken"\n',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --format auto detects the format", async () => {
  const r = await cli(["--format", "auto", "--in", fixtures + "apache.log"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(jsonl(r.stdout).length, 3);
  assert.ok(r.stderr.startsWith("import: format clf (detected)\n"), r.stderr);
});

Deno.test("cli: exit code 1 when nothing was imported", async () => {
  const r = await cli(["--format", "har"], "{not json");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /^import: 0 records imported, 1 skipped, 1 read\n {2}input: not a HAR file: invalid JSON: /,
  );
  const big = await cli(["--format", "jsonl", "--max-bytes", "10"], '{"method":"GET","url":"/"}');
  assert.equal(big.code, 1);
  assert.equal(
    big.stderr,
    "import: 0 records imported, 1 skipped, 1 read\n  input: input is over the 10-byte limit\n",
  );
});

Deno.test("cli: --help prints the usage and exits 0", async () => {
  const r = await cli(["--help"]);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.startsWith("usage: deno task import --format jsonl|har|raw|clf|auto"), r.stdout);
});

Deno.test("cli: exit code 2 on bad arguments or an unreadable input", async () => {
  for (
    const args of [
      [],
      ["--format", "xml"],
      ["--format", "har", "--label", "2"],
      ["--format", "har", "--bogus", "1"],
      ["--format"],
      ["--format", "har", "--max-records", "0"],
      ["--format", "har", "--in", fixtures + "does-not-exist.har"],
      ["--format", "auto"],
    ]
  ) {
    const r = await cli(args, "???");
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.startsWith("import: "), r.stderr);
  }
});
