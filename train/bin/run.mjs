#!/usr/bin/env node
// Entry for `deno task train|eval|score`: registers tsx (from this package's node_modules) so that Node 20
// runs the TypeScript of train/ and of ../src, then hands the remaining arguments to the command.
import { register } from "tsx/esm/api";

const commands = {
  train: "../src/cli/train.ts",
  eval: "../src/cli/eval.ts",
  score: "../src/cli/score.ts",
  sitefewshot: "../src/cli/sitefewshot.ts", // few-shot evaluation on real sites left out of training
  sitefp: "../src/cli/sitefp.ts", // the false-positive story on real sites left out of training
  learnreplay: "../src/cli/learnreplay.ts", // learning mode replayed on real sites left out of training
  rotations: "../src/cli/rotations.ts", // internal: train's leave-sites-out rotations, in a process of their own
};
const [command, ...args] = process.argv.slice(2);
if (!(command in commands)) {
  console.error(`usage: run.mjs <${Object.keys(commands).join("|")}> [options]`);
  process.exit(2);
}
register();
process.argv = [process.argv[0], command, ...args];
const { main } = await import(new URL(commands[command], import.meta.url).href);
process.exitCode = await main(args);
