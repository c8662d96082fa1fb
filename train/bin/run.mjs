#!/usr/bin/env node
// Entry for `deno task train|eval|score`: registers tsx (from this package's node_modules) so that Node 20
// runs the TypeScript of train/ and of ../src, then hands the remaining arguments to the command.
// `run.mjs --help` (or no command) lists the commands; `run.mjs <command> --help` prints a command's options.
// The commands and their option tables are declared once, in src/cli/commands.ts.
import { register } from "tsx/esm/api";

// The worker's modules are imported as `@taugate/...` (train/tsconfig.json `paths`), not by climbing out.
process.env.TSX_TSCONFIG_PATH ??= new URL("../tsconfig.json", import.meta.url).pathname;
register();
const commandsUrl = new URL("../src/cli/commands.ts", import.meta.url);
const { COMMANDS, commandList } = await import(commandsUrl.href);
const [command, ...args] = process.argv.slice(2);
const entry = COMMANDS.find((c) => c.spec.name === command);
if (command === "--help" || command === "-h" || command === "help") {
  console.log(commandList());
} else if (entry === undefined) {
  if (command !== undefined) {
    console.error(`run.mjs: unknown command "${command}"`);
  }
  console.error(commandList());
  process.exitCode = 2;
} else {
  process.argv = [process.argv[0], command, ...args];
  const { main } = await import(new URL(entry.module, commandsUrl).href);
  process.exitCode = await main(args);
}
