// `docs/score-probes.jsonl` and `docs/edge-probes.jsonl` are what the README pipes into `deno task score --in`:
// every line a valid record with a name of its own, and the README cites each file's requests by that command.
import assert from "node:assert/strict";
import { parseRecord } from "../../src/record/mod.ts";

const README = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));

for (const FILE of ["docs/score-probes.jsonl", "docs/edge-probes.jsonl"]) {
  const lines = Deno.readTextFileSync(new URL(`../../${FILE}`, import.meta.url)).split("\n").filter((l) => l);
  Deno.test(`score probes (${FILE}): every line is a record \`deno task score\` accepts, named once`, () => {
    assert.ok(lines.length >= 10, `${lines.length} probes`);
    const names = new Set<string>();
    for (const [i, line] of lines.entries()) {
      const raw = JSON.parse(line) as { name?: unknown };
      assert.equal(typeof raw.name, "string", `line ${i + 1} has a name`);
      assert.ok(!names.has(raw.name as string), `line ${i + 1}: "${raw.name}" named once`);
      names.add(raw.name as string);
      const r = parseRecord(raw);
      assert.ok(r.ok, `line ${i + 1}: ${r.ok ? "" : r.error}`);
    }
    assert.ok(README.includes(`deno task score --in ${FILE}`), "the README gives the command");
  });
}
