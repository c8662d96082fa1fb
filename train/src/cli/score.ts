/**
 * `deno task score [--in records.jsonl] [--model M.onnx] [--head head.json] [--tau T]`: one JSON line per
 * input record (stdin when no `--in`): `{"score": 0.93, "decision": "block", "tau": 0.8}`, or
 * `{"line": 7, "error": "..."}` for a line that is not a valid record. With `--head` (a tenant head, as
 * `HeadParams` JSON or a stored head document with `head` and optional `tau`) the tenant head scores instead of
 * the model's global head, its site profile's novelty term included. `--help` lists every option (the table
 * is `SCORE` in `commands.ts`) without reading stdin.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { extractFeatures, featuresOfRecord, needsViews, overflowOfRecord } from "@taugate/features/mod.ts";
import { scoreWithHead, viewOf } from "@taugate/heads/score.ts";
import { checkModelSpec } from "@taugate/model/spec_check.ts";
import type { HeadParams } from "@taugate/model/types.ts";
import { headFromJson as storedHeadParams, parseStoredHead } from "@taugate/store/head_doc.ts";
import { parseRecord } from "@taugate/record/mod.ts";
import { loadModel } from "../eval/model_io.ts";
import { parseCli } from "./args.ts";
import { SCORE } from "./commands.ts";
import { DEFAULT_MODEL } from "./eval.ts";

/**
 * A head from JSON: `{w, b, a?, profile?}` (a tenant head as the tenant API stores it, the site profile's
 * bits as base64) or a stored document `{head: {...}, tau?}`.
 *
 * @throws {Error} naming what is wrong.
 */
export function headFromJson(
  value: unknown,
  embedDim: number,
): { head: HeadParams; tau?: number } {
  const doc = value as { head?: unknown; tau?: unknown };
  const h = (doc && typeof doc === "object" && "head" in doc ? doc.head : value) as Record<string, unknown>;
  if (!h || typeof h.b !== "number") throw new Error("head.b must be a number");
  if (!Array.isArray(h.w) || h.w.length !== embedDim || h.w.some((x) => typeof x !== "number")) {
    throw new Error(`head.w must be ${embedDim} numbers`);
  }
  const checked = parseStoredHead({ version: 1, createdAt: "-", head: h });
  const tau = typeof doc.tau === "number" ? doc.tau : undefined;
  return { head: storedHeadParams(checked.head), tau };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The CLI entry: returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, SCORE);
  if (typeof args === "number") return args;
  const m = loadModel(args.str("model", DEFAULT_MODEL));
  checkModelSpec(m.model.meta);
  let head = m.head, tau = m.tau;
  const headPath = args.str("head");
  if (headPath) {
    const h = headFromJson(
      JSON.parse(readFileSync(headPath, "utf8")),
      m.model.meta.embedDim,
    );
    head = h.head;
    tau = h.tau ?? tau;
  }
  tau = args.num("tau", tau);
  const overflow = !args.flag("no-overflow");
  const inPath = args.str("in");
  const text = inPath ? readFileSync(inPath, "utf8") : await readStdin();
  const out: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch (e) {
      out.push(
        JSON.stringify({
          line: i + 1,
          error: `not JSON: ${(e as Error).message}`,
        }),
      );
      continue;
    }
    const r = parseRecord(value);
    if (!r.ok) {
      out.push(JSON.stringify({ line: i + 1, error: r.error }));
      continue;
    }
    const f = featuresOfRecord(r.record);
    // As the worker scores: the structure tokens (site profile) and the features (residual, value profile);
    // what the caps cut off as overflow views, the highest score counting.
    let score = scoreWithHead(head, m.engine.embedSync(f), f.structure, undefined, f);
    if (overflow && needsViews(f)) {
      for (const w of overflowOfRecord(r.record).views) {
        const fw = extractFeatures(w);
        // A view is judged with its request by a correction's shape (`ofShape`).
        const hf = viewOf(fw, f);
        score = Math.max(score, scoreWithHead(head, m.engine.embedSync(fw), fw.structure, undefined, hf));
      }
    }
    out.push(
      JSON.stringify({
        score: Number(score.toFixed(6)),
        decision: score >= tau ? "block" : "allow",
        tau,
      }),
    );
  }
  if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
  return 0;
}
