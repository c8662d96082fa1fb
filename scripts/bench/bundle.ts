/**
 * Bundle sizes: `wrangler deploy --dry-run` of both builds (the default one with onnxruntime-web, and
 * `--env free` with the TypeScript engine) in a copy of the worker's sources with the benchmark's model in
 * place, and the gzip size of what it would upload, against Cloudflare's long-standing 3 MB (free) and
 * 10 MB (paid) compressed limits.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "./model.ts";

/** Cloudflare's long-standing compressed Worker size limits (bytes). */
export const LIMIT_FREE = 3 * 1024 * 1024;
export const LIMIT_PAID = 10 * 1024 * 1024;

/** One build's sizes. */
export interface BundleResult {
  /** `ort` (default build) or `ts` (`--env free`). */
  engine: "ort" | "ts";
  /** Bytes of every file wrangler wrote. */
  rawBytes: number;
  /** Sum of each file's gzip size (our own count). */
  gzipBytes: number;
  /** What wrangler printed as `gzip:` (KiB converted to bytes), when it printed it. */
  wranglerGzipBytes: number | null;
  fitsFree: boolean;
  fitsPaid: boolean;
  files: { name: string; bytes: number; gzip: number }[];
}

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  let n = 0;
  for await (const chunk of stream) n += chunk.length;
  return n;
}

/**
 * Builds both bundles with wrangler and measures them.
 *
 * @param model The model file to bundle.
 * @param tmp A temporary directory.
 */
export async function bundleSizes(model: string, tmp: string): Promise<BundleResult[]> {
  const dir = join(tmp, "wrangler");
  await Deno.mkdir(join(dir, "models"), { recursive: true });
  const cp = await new Deno.Command("cp", {
    args: ["-r", join(ROOT, "src"), join(ROOT, "wrangler.toml"), dir],
  })
    .output();
  if (!cp.success) throw new Error("cannot copy the worker's sources");
  await Deno.copyFile(model, join(dir, "models/taugate.onnx"));
  await Deno.symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const env = { ...Deno.env.toObject(), NO_COLOR: "1", WRANGLER_SEND_METRICS: "false", CI: "1" };
  const out: BundleResult[] = [];
  for (const [engine, wranglerEnv] of [["ort", ""], ["ts", "free"]] as const) {
    const outdir = join(tmp, `dist-${engine}`);
    const built = await new Deno.Command(join(ROOT, "node_modules/.bin/wrangler"), {
      args: ["deploy", "--dry-run", "--outdir", outdir, `--env=${wranglerEnv}`],
      cwd: dir,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(built.stdout) + new TextDecoder().decode(built.stderr);
    if (!built.success) throw new Error(`wrangler deploy --dry-run failed:\n${text}`);
    const files: BundleResult["files"] = [];
    for await (const e of Deno.readDir(outdir)) {
      if (!e.isFile || e.name.endsWith(".map") || e.name === "README.md") continue;
      const bytes = await Deno.readFile(join(outdir, e.name));
      files.push({ name: e.name, bytes: bytes.length, gzip: await gzipSize(bytes) });
    }
    files.sort((a, b) => b.bytes - a.bytes);
    const m = /gzip:\s*([\d.]+)\s*KiB/.exec(text);
    const wranglerGzipBytes = m ? Math.round(Number(m[1]) * 1024) : null;
    const gzipBytes = files.reduce((s, f) => s + f.gzip, 0);
    const judged = wranglerGzipBytes ?? gzipBytes;
    out.push({
      engine,
      rawBytes: files.reduce((s, f) => s + f.bytes, 0),
      gzipBytes,
      wranglerGzipBytes,
      fitsFree: judged <= LIMIT_FREE,
      fitsPaid: judged <= LIMIT_PAID,
      files,
    });
  }
  return out;
}
