#!/usr/bin/env node
// Installs the pinned toolchain (Deno from npm in tools/, then hono, zod, onnxruntime-web, wrangler,
// miniflare, ... in the root, and the training package with --train) when a checkout has none yet or
// its lock file changed since the last install. Runs before `npm start` and `npm test`; cheap when current.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function ensure(dir) {
  const lock = join(dir, "package-lock.json");
  const stamp = join(dir, "node_modules", ".taugate-lock-sha256");
  const want = createHash("sha256").update(readFileSync(lock)).digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  console.error(`[bootstrap] npm ci in ${dir === root ? "." : dir.slice(root.length + 1)}`);
  execFileSync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: "inherit" });
  writeFileSync(stamp, want);
}

ensure(join(root, "tools"));
ensure(root);
if (process.argv.includes("--train")) ensure(join(root, "train"));
