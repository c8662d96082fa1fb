/**
 * What the browser tests run on: the real Deno worker (`deno task start`'s command) on a free port with a
 * model and a Deno KV file of the test's own, and Debian's Chromium driven by playwright-core (nothing
 * downloads a browser).
 *
 * - `chromiumPath()`: `CHROMIUM_PATH` or `/usr/bin/chromium`, or `null` when it is not installed;
 * - `startWorker(env)`: the worker, its base URL and `stop()`;
 * - `launchChromium(path)`: a headless Chromium with a fresh profile, for this machine's closed network;
 * - `until(probe, what)`: polls until `probe()` returns a truthy value (never a fixed sleep).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "../workerd/_helpers.mjs";

export { ROOT };

/** Chromium's flags: headless, and no background connections (this machine's network refuses them). */
export const CHROMIUM_ARGS = Object.freeze([
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]);

/**
 * The Chromium to drive.
 *
 * @returns {string | null} Its path, or `null` when it is not installed.
 */
export function chromiumPath() {
  const path = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  return existsSync(path) ? path : null;
}

/**
 * Starts `src/worker/deno.ts` as `deno task start` does, on a free port.
 *
 * @param {Record<string, string>} env The worker's variables (model, KV path, operator token, ...).
 * @returns {Promise<{ base: string, output: () => string, stop: () => Promise<void> }>}
 */
export async function startWorker(env) {
  const task = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks.start;
  const deno = join(ROOT, "tools/node_modules/.bin/deno");
  const child = spawn(deno, task.split(/\s+/).slice(1), {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", PORT: "0", TAUGATE_LOG_SAMPLE: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s) => out += s);
  child.stderr.setEncoding("utf8").on("data", (s) => out += s);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const base = await Promise.race([
    until(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], "the worker to listen", 30_000),
    exited.then((code) => {
      throw new Error(`the worker exited (${code}): ${out}`);
    }),
  ]);
  return {
    base,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/**
 * Launches Chromium headless with a fresh profile directory.
 *
 * @param {string} executablePath From `chromiumPath()`.
 * @returns {Promise<{ context: import("playwright-core").BrowserContext, close: () => Promise<void> }>}
 */
export async function launchChromium(executablePath) {
  const profile = mkdtempSync(join(tmpdir(), "taugate-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 800 },
    locale: "en-GB",
    timezoneId: "UTC",
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Polls until `probe` returns a truthy value.
 *
 * @template T
 * @param {() => T | Promise<T>} probe The check.
 * @param {string} what What is awaited, for the error.
 * @param {number} timeout In ms.
 * @returns {Promise<T>} The truthy value.
 */
export async function until(probe, what, timeout = 20_000) {
  const end = Date.now() + timeout;
  let last;
  for (let wait = 10;; wait = Math.min(wait * 2, 200)) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, wait));
  }
}
