// The README's configuration tables and the schemas agree: the middleware's option table lists exactly the
// options `taugate()` accepts (its zod schema), and the worker's variable table exactly the variables the
// worker, the tenant API and the Deno entry read (their env schemas). Adding an option or a variable without
// its row, or a row without the code, fails here.
import assert from "node:assert/strict";
import { API_CONFIG_VARIABLES } from "../../src/api/config.ts";
import { OPTION_NAMES } from "../../src/middleware/options.ts";
import { CONFIG_VARIABLES, DENO_VARIABLES } from "../../src/worker/config.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

/** The names in the first column of the table whose header row starts with `| <first> |`. */
function firstColumn(first: string): string[] {
  const lines = README.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  assert.ok(at >= 0, `a README table headed "${first}"`);
  const names: string[] = [];
  for (let i = at + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    const cell = lines[i].split("|")[1];
    for (const m of cell.matchAll(/`([^`]+)`/g)) names.push(m[1]);
  }
  return names;
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

Deno.test("README: the middleware's option table lists exactly the options of taugate()", () => {
  assert.deepEqual(sorted(firstColumn("option")), sorted(OPTION_NAMES));
});

Deno.test("README: the worker's variable table lists exactly the variables the code reads", () => {
  const read = [...CONFIG_VARIABLES, ...API_CONFIG_VARIABLES, ...DENO_VARIABLES];
  assert.deepEqual(sorted(firstColumn("variable")), sorted(read));
});
