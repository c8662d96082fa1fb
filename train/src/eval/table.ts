/**
 * The evaluation table as text: one line per method and K, overall and per subset.
 *
 * @module
 */
import type { EvalResults, ResultRow } from "./fewshot.ts";

const f = (x: number, d = 3) => (Number.isNaN(x) ? "  -  " : x.toFixed(d));

/** Fixed-width lines of result rows. */
export function formatRows(rows: ResultRow[], title: string): string {
  const out = [
    title,
    "method          K  episodes  AUC    ±std   TPR@1e-2  TPR@1e-3  prec@τ  rec@τ",
  ];
  for (const r of rows) {
    out.push(
      `${r.method.padEnd(15)} ${String(r.shots).padStart(2)}  ${String(r.episodes).padStart(8)}  ${
        f(r.auc)
      }  ${f(r.auc_std)}  ${f(r["tpr_at_fpr_1e-2"])}     ${f(r["tpr_at_fpr_1e-3"])}     ${
        f(r.precision_at_tau)
      }   ${f(r.recall_at_tau)}`,
    );
  }
  return out.join("\n");
}

/** The whole table: all attacks, then each subset. */
export function formatResults(r: EvalResults): string {
  const parts = [
    formatRows(
      r.results,
      `all attacks (${r.counts.query.benign} benign query records)`,
    ),
  ];
  for (const [name, rows] of Object.entries(r.subsets)) {
    parts.push(formatRows(rows, `${name} (${r.counts.query[name]} attacks)`));
  }
  return parts.join("\n\n");
}
