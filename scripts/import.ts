/**
 * `deno task import`: converts a HAR file, a raw HTTP dump, an access log or JSONL into canonical JSONL.
 *
 * ```sh
 * deno task import --format har --label 0 --tenant shop-1 --in traffic.har --out shop-1.jsonl
 * cat access.log | deno task import --format clf > requests.jsonl
 * ```
 *
 * The report (counts, then each skipped line with its reason) goes to stderr. Exit code 0 when at least one
 * record was imported, 1 when none was, 2 on bad arguments or an unreadable input. `--help` prints the usage.
 *
 * @module
 */
import {
  detectFormat,
  formatJsonl,
  IMPORT_FORMATS,
  type ImportFormat,
  type ImportOptions,
  importText,
} from "../src/importers/mod.ts";
import { MAX_RECORDS, MAX_UPLOAD_BYTES } from "../src/record/mod.ts";

const USAGE = `usage: deno task import --format ${IMPORT_FORMATS.join("|")}|auto [--label 0|1] [--family F]
         [--tenant T] [--in FILE] [--out OUT.jsonl] [--max-records N] [--max-bytes N]
  Reads FILE (default stdin), writes JSONL to OUT (default stdout) and the report to stderr.
  --label, --family, --tenant are given to records that carry none. Limits default to the tenant API's
  (${MAX_RECORDS} records, ${MAX_UPLOAD_BYTES} bytes).`;

interface Args {
  format: ImportFormat | "auto";
  input?: string;
  output?: string;
  options: ImportOptions;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const values = new Map<string, string>();
  const known = [
    "--format",
    "--label",
    "--family",
    "--tenant",
    "--in",
    "--out",
    "--max-records",
    "--max-bytes",
  ];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const [name, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!known.includes(name)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    if (values.has(name)) throw new UsageError(`${name} given twice`);
    values.set(name, value);
  }
  const format = values.get("--format");
  if (format === undefined) throw new UsageError("--format is required");
  if (format !== "auto" && !(IMPORT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${IMPORT_FORMATS.join(", ")}, auto`);
  }
  const options: ImportOptions = {};
  const label = values.get("--label");
  if (label !== undefined) {
    if (label !== "0" && label !== "1") throw new UsageError("--label must be 0 or 1");
    options.label = label === "1" ? 1 : 0;
  }
  if (values.has("--family")) options.family = values.get("--family");
  if (values.has("--tenant")) options.tenant = values.get("--tenant");
  options.maxRecords = positive(values, "--max-records", MAX_RECORDS);
  options.maxBytes = positive(values, "--max-bytes", MAX_UPLOAD_BYTES);
  options.maxSkipped = Math.max(options.maxRecords, MAX_RECORDS);
  return {
    format: format as ImportFormat | "auto",
    input: values.get("--in"),
    output: values.get("--out"),
    options,
  };
}

function positive(values: Map<string, string>, name: string, fallback: number): number {
  const v = values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^[0-9]{1,15}$/.test(v) || n < 1) throw new UsageError(`${name} must be a positive integer`);
  return n;
}

/** Reads at most `max + 1` bytes: enough for the importer to see that an input is over the limit. */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    while (size <= max) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = value.subarray(0, max + 1 - size);
      chunks.push(take);
      size += take.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) all.set(c, at), at += c.length;
  return new TextDecoder().decode(all);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`import: ${e.message}\n${USAGE}`);
    return 2;
  }
  let text: string;
  try {
    const stream = args.input === undefined ? Deno.stdin.readable : (await Deno.open(args.input)).readable;
    text = await readCapped(stream, args.options.maxBytes!);
  } catch (e) {
    console.error(`import: cannot read ${args.input ?? "stdin"}: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  let format = args.format;
  if (format === "auto") {
    const detected = detectFormat(text);
    if (detected === null) {
      console.error("import: cannot tell the format; give --format");
      return 2;
    }
    console.error(`import: format ${detected} (detected)`);
    format = detected;
  }
  const report = importText(format, text, args.options);
  const jsonl = formatJsonl(report.records);
  if (args.output === undefined) await writeAll(Deno.stdout, jsonl);
  else await Deno.writeTextFile(args.output, jsonl);
  const where = format === "har" ? "entry" : "line";
  console.error(
    `import: ${report.records.length} records imported, ${report.skipped.length} skipped, ${report.total} read`,
  );
  for (const s of report.skipped) {
    console.error(`  ${s.line === 0 ? "input" : `${where} ${s.line}`}: ${s.reason}`);
  }
  return report.records.length > 0 ? 0 : 1;
}

async function writeAll(sink: typeof Deno.stdout, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length;) at += await sink.write(bytes.subarray(at));
}

if (import.meta.main) Deno.exit(await main(Deno.args));
