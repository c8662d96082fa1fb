/**
 * The model card: `models/model-card.json` (everything measured), `models/model-card.md` (the same for a
 * reader) and `models/few-shot.svg` (few-shot curves). Every figure comes from the run that wrote it
 * (`deno task train`) or from `models/ablations.json` (`deno task train --ablate`).
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FEATURE_SPEC, specId } from "@taugate/features/mod.ts";
import type { ResultRow } from "../eval/fewshot.ts";
import { meanStd } from "../eval/metrics.ts";
import type { RunSummary } from "../pipeline.ts";
import { round } from "./model.ts";
import { type Curve, fewShotSvg } from "./svg.ts";
import { sitesMarkdown, type SitesSummary } from "./sites_card.ts";
import { headlineSites, summariseFigures, TAU_TARGET } from "../sites.ts";

/** The command lines behind the card's figures. */
export const COMMANDS = {
  train: "deno task train",
  ablate: "deno task train --ablate",
  eval: (tenant: string, n = 0) =>
    `deno task eval --support artifacts/eval/${tenant}/support.jsonl --query artifacts/eval/${tenant}/query.jsonl --shots 0,5,10,50 --episodes 10 --seed 1${
      n ? ` --unlabeled ${n}` : ""
    } --json artifacts/eval/${tenant}/results${n ? `-n${n}` : ""}.json`,
};

/** Mean rows over several tenants' results (same method and K). */
export function meanRows(tables: ResultRow[][]): ResultRow[] {
  const out: ResultRow[] = [];
  for (const r of tables[0] ?? []) {
    const same = tables.map((t) => t.find((x) => x.method === r.method && x.shots === r.shots)!).filter((x) =>
      x
    );
    const m = (k: keyof ResultRow) => meanStd(same.map((x) => x[k] as number)).mean;
    out.push({
      method: r.method,
      shots: r.shots,
      episodes: r.episodes,
      auc: m("auc"),
      auc_std: meanStd(same.map((x) => x.auc)).std,
      "tpr_at_fpr_1e-2": m("tpr_at_fpr_1e-2"),
      "tpr_at_fpr_1e-3": m("tpr_at_fpr_1e-3"),
      precision_at_tau: m("precision_at_tau"),
      recall_at_tau: m("recall_at_tau"),
    });
  }
  return out;
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–");

function mdTable(rows: ResultRow[]): string {
  const lines = [
    "| method | K | episodes | AUC | ± std | TPR @ 1e-2 FPR | TPR @ 1e-3 FPR | precision @ τ | recall @ τ |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.method} | ${r.shots} | ${r.episodes} | ${f3(r.auc)} | ${f3(r.auc_std)} | ${
        f3(r["tpr_at_fpr_1e-2"])
      } | ${f3(r["tpr_at_fpr_1e-3"])} | ${f3(r.precision_at_tau)} | ${f3(r.recall_at_tau)} |`,
    );
  }
  return lines.join("\n");
}

/** One row of a result table. */
function find(
  rows: ResultRow[] | undefined,
  method: string,
  k: number,
): ResultRow | undefined {
  return rows?.find((r) => r.method === method && r.shots === k);
}

/** The issue's targets, each with the figure measured and whether it is met. */
export function targets(
  s: RunSummary,
): { target: string; measured: number; met: boolean }[] {
  const u = s.evals["urldetect"];
  const out: { target: string; measured: number; met: boolean }[] = [];
  const inj0 = find(u?.subsets["injections"], "taugate", 0)?.auc ?? NaN;
  out.push({
    target: "injections, K = 0: AUC ≥ 0.97 (unseen tenant, seen and unseen families)",
    measured: inj0,
    met: inj0 >= 0.97,
  });
  const uns0 = find(u?.subsets["unseen-families"], "taugate", 0)?.auc ?? NaN;
  out.push({
    target: "unseen families only, K = 0: AUC ≥ 0.97",
    measured: uns0,
    met: uns0 >= 0.97,
  });
  const t10 = find(u?.results, "taugate", 10)?.auc ?? NaN;
  const e10 = find(u?.results, "erm-finetune", 10)?.auc ?? NaN;
  const s10 = find(u?.results, "scratch-logreg", 10)?.auc ?? NaN;
  out.push({
    target: "all attacks, K = 10: AUC ≥ 0.95",
    measured: t10,
    met: t10 >= 0.95,
  });
  out.push({
    target: "all attacks, K = 10: above erm-finetune",
    measured: t10 - e10,
    met: t10 > e10,
  });
  out.push({
    target: "all attacks, K = 10: above scratch-logreg",
    measured: t10 - s10,
    met: t10 > s10,
  });
  const tpr50 = find(u?.results, "taugate", 50)?.["tpr_at_fpr_1e-2"] ?? NaN;
  out.push({
    target: "all attacks, K = 50: TPR ≥ 0.90 at 1% FPR",
    measured: tpr50,
    met: tpr50 >= 0.9,
  });
  const q = s.quantization as { aucCost: number };
  out.push({
    target: "quantisation costs ≤ 0.002 AUC",
    measured: q.aucCost,
    met: q.aucCost <= 0.002,
  });
  const sites = s.sites as SitesSummary | null | undefined;
  if (sites && sites.rotations.length > 0) {
    const f = summariseFigures(headlineSites(sites.rotations).headline);
    const where = "leave-sites-out, test folds never looked at";
    out.push(
      {
        target: `real sites: block rate at τ ≤ 0.1 % (median site; ${where})`,
        measured: f.block_logged.median,
        met: f.block_logged.median <= 0.001,
      },
      {
        target: `real sites: block rate at τ ≤ 0.5 % (worst site)`,
        measured: f.block_logged.worst,
        met: f.block_logged.worst <= 0.005,
      },
      {
        target: `real sites: block rate at τ with full browser/bot headers ≤ 0.5 % (worst site)`,
        measured: f.block_dressed.worst,
        met: f.block_dressed.worst <= 0.005,
      },
      {
        target: `real sites: injections caught at τ ≥ 90 %, seen families (median site)`,
        measured: f.detect_seen.median,
        met: f.detect_seen.median >= 0.9,
      },
      {
        target: `real sites: injections caught at τ ≥ 75 %, held-out families (median site)`,
        measured: f.detect_unseen.median,
        met: f.detect_unseen.median >= 0.75,
      },
      {
        target: `real sites: AUC on all attacks at K = 0 ≥ 0.95 (median site)`,
        measured: f.auc.median,
        met: f.auc.median >= 0.95,
      },
    );
  }
  const bytes = (s.models["taugate"] as { bytes: number }).bytes;
  out.push({
    target: "model ≤ 256 KB",
    measured: bytes,
    met: bytes <= 256 * 1024,
  });
  return out;
}

/**
 * Writes the card's three files.
 *
 * @param outDir `models/`.
 * @param s The run's summary.
 * @param ablations `models/ablations.json`, if present.
 */
export function writeCard(
  outDir: string,
  s: RunSummary,
  ablations: unknown,
): void {
  const fwafIds = Object.keys(s.evals).filter((k) => k.startsWith("fwaf-"));
  const fwafMean = {
    all: meanRows(fwafIds.map((k) => s.evals[k].results)),
    injections: meanRows(fwafIds.map((k) => s.evals[k].subsets["injections"])),
    anomalies: meanRows(fwafIds.map((k) => s.evals[k].subsets["anomalies"])),
    "unseen-families": meanRows(
      fwafIds.map((k) => s.evals[k].subsets["unseen-families"]),
    ),
  };
  const u = s.evals["urldetect"];
  const kxn: { unlabeled: number; rows: ResultRow[] }[] = Object.entries(
    s.evals,
  )
    .filter(([k]) => k.startsWith("urldetect"))
    .map(([k, v]) => ({
      unlabeled: Number(k.split("=")[1] ?? 0),
      rows: v.results.filter((r) => r.method !== "scratch-logreg"),
    }));
  const card = {
    model: s.models,
    featureSpec: { id: specId(FEATURE_SPEC), ...FEATURE_SPEC },
    targets: targets(s),
    tau: {
      value: (s.models["taugate"] as { tau: number }).tau,
      chosenFor: s.sites
        ? `block rate of the calibration sites' ordinary traffic at most ${TAU_TARGET.median} (median site) and ${TAU_TARGET.worst} (worst site)`
        : `at most ${
          (s.config as { tauFpr: number }).tauFpr * 100
        }% of held-out benign requests flagged by the global head`,
    },
    sites: s.sites,
    heldOut: {
      tenants: s.world,
      note:
        "urldetect (a whole benign source) and fwaf groups never meta-trained on; families never meta-trained on",
    },
    results: {
      command: COMMANDS.eval("urldetect"),
      urldetect: u,
      fwafHeldOutMean: { tenants: fwafIds, ...fwafMean },
      unlabeled: {
        note: "K × N on urldetect: N unlabelled support records per episode, 2% attacks",
        table: kxn,
      },
    },
    quantization: s.quantization,
    ablations,
    data: { reports: s.reports, checksums: s.checksums, pools: s.pools },
    seconds: s.seconds,
    config: s.config,
  };
  writeFileSync(
    join(outDir, "model-card.json"),
    JSON.stringify(card, null, 1) + "\n",
  );
  writeFileSync(
    join(outDir, "model-card.md"),
    markdown(card, s, fwafMean, kxn, ablations),
  );
  const ks = (s.config as { eval: { shots: number[] } }).eval.shots;
  const curve = (
    rows: ResultRow[] | undefined,
    method: string,
    label: string,
    color: string,
    dashed = false,
    key: keyof ResultRow = "auc",
  ): Curve => ({
    label,
    color,
    dashed,
    points: ks.map((k) => [k, (find(rows, method, k)?.[key] as number) ?? NaN]),
  });
  const curves = (key: keyof ResultRow) => [
    curve(u?.results, "taugate", "taugate, all attacks", "#1f77b4", false, key),
    curve(
      u?.subsets["injections"],
      "taugate",
      "taugate, injections",
      "#1f77b4",
      true,
      key,
    ),
    curve(
      u?.subsets["anomalies"],
      "taugate",
      "taugate, anomalies",
      "#9467bd",
      true,
      key,
    ),
    curve(u?.results, "erm-finetune", "erm-finetune", "#ff7f0e", false, key),
    curve(
      u?.results,
      "scratch-logreg",
      "scratch-logreg",
      "#2ca02c",
      false,
      key,
    ),
  ];
  writeFileSync(
    join(outDir, "few-shot.svg"),
    fewShotSvg(
      "urldetect (unseen tenant): all attacks (solid), subsets (dashed); from deno task train (model-card.md)",
      curves("auc"),
      curves("tpr_at_fpr_1e-2"),
      ks,
    ),
  );
}

function markdown(
  card: Record<string, unknown>,
  s: RunSummary,
  fwafMean: Record<string, ResultRow[]>,
  kxn: { unlabeled: number; rows: ResultRow[] }[],
  ablations: unknown,
): string {
  const m = s.models["taugate"] as Record<string, number | string>;
  const e = s.models["erm-finetune"] as Record<string, number | string>;
  const u = s.evals["urldetect"];
  const lines: string[] = [];
  const spec = FEATURE_SPEC;
  lines.push(`# taugate model card`, "");
  lines.push(
    `Written by \`${COMMANDS.train}\` (seed ${s.seed}); every figure below comes from that run, or from`,
  );
  lines.push(
    `\`models/ablations.json\` (\`${COMMANDS.ablate}\`) for the ablations. Curves: [few-shot.svg](few-shot.svg).`,
    "",
  );
  if (s.sites) lines.push(...sitesMarkdown(s.sites as SitesSummary, COMMANDS.train));
  lines.push(`## Model`, "");
  lines.push(`| | |`, `| --- | --- |`);
  lines.push(`| model id | \`${m.modelId}\` |`);
  lines.push(
    `| file | \`models/taugate.onnx\`, ${m.bytes} bytes (int8 weight-only per-channel QDQ; float32 would be ${m.float32Bytes}) |`,
  );
  lines.push(
    `| feature spec | \`${specId(spec)}\`: D = ${spec.dim}, n-grams ${JSON.stringify(spec.ngrams)} over ${
      spec.ngramFields.join(", ")
    }; ${
      spec.sharedFields.map(([f, to]) => `${f} hashed as ${to}`).join(", ") || "no shared fields"
    }; ${spec.decodeRounds} decode rounds |`,
  );
  const cfg = s.config as {
    train: {
      pretrainShare?: number;
      hidden: number;
      layers: { out: number; act: string }[];
      method: string;
      updates: number;
    };
  };
  lines.push(
    `| backbone | sparse ${spec.dim} + dense ${40} → ${cfg.train.hidden} relu → ${
      cfg.train.layers.map((l) => `${l.out} ${l.act}`).join(" → ")
    } = z |`,
  );
  lines.push(
    `| head | logistic on z; tenant heads adapted with \`adaptHead\` and \`meta.adapt\` (${
      (s.config as { train: { adapt: { profile?: unknown } } }).train.adapt
          .profile
        ? "with"
        : "without"
    } the site profile) |`,
  );
  lines.push(
    `| training | ${cfg.train.method}${
      cfg.train.pretrainShare
        ? ` after ERM pre-training (${cfg.train.pretrainShare * 100}% of the updates)`
        : ""
    }, ${cfg.train.updates} updates, ${m.rows} rows, ${m.trainSeconds} s; baseline erm-finetune: ${e.rows} rows |`,
  );
  const sel = s.proxSelection as { prox: number; auc: number }[] | undefined;
  if (sel) {
    lines.push(
      `| adaptation | \`meta.adapt\` = ${JSON.stringify(m.adapt)} (meta-training's inner loop used λ = ${
        (s.config as { train: { adapt: { prox: number } } }).train.adapt.prox
      }); λ chosen on the held-out fwaf tenants' support pools (K = 10 AUC ${
        sel.map((r) => `λ=${r.prox}: ${f3(r.auc)}`).join(", ")
      }; ties → stronger pull)${
        (m.adapt as { residual?: unknown }).residual
          ? "; with `residual` set, tenant heads are residual heads (`src/heads/residual.ts`) and λ, `steps` and " +
            "`lr` apply only to a model adapted without it; the residual's settings were chosen with " +
            "`node train/bin/run.mjs sitefewshot --folds 1,2,3,4 --split support` and `sitefp --folds 1,2` on the " +
            "shipped model's training sites, the correction's support gate (`gate`) with `sitefp` on validation " +
            "folds (the seed-1 rotation-0 model on fold 1, the rotation-1 model on fold 2: each rotation's " +
            "calibration fold), the novelty prior (`l2Novelty`, `noveltyFrom`) and the value profile " +
            "(`values`) with `sitefewshot --folds 1,2 --split support` (AUC, TPR at 1 % FPR and the block rate at " +
            "the head's τ, with and without `--unlabeled 1000`), never on fold 0"
          : ""
      } |`,
    );
  }
  lines.push(
    `| τ | ${Number(m.tau).toFixed(4)}: ${
      (card.tau as { chosenFor: string }).chosenFor
    } (measured ${m.heldOutBenignFlagged}) |`,
  );
  lines.push(
    `| canaries | ${
      (s.config as { canariesPerFamily: number }).canariesPerFamily
    } per training family, in \`meta.canary\`; global head detects ${m.canaryDetection} at τ |`,
  );
  const q = s.quantization as Record<string, number>;
  lines.push(
    `| quantisation | AUC float32 ${q.aucFloat32}, int8 ${q.aucInt8}: cost ${q.aucCost}; largest score difference ${q.maxScoreDifference} (${q.records} held-out records) |`,
  );
  lines.push("");
  lines.push(
    `## Targets`,
    "",
    `| target | measured | met |`,
    `| --- | ---: | :---: |`,
  );
  for (
    const t of card.targets as {
      target: string;
      measured: number;
      met: boolean;
    }[]
  ) {
    lines.push(
      `| ${t.target} | ${Number.isFinite(t.measured) ? round(t.measured, 4) : "–"} | ${
        t.met ? "yes" : "**no**"
      } |`,
    );
  }
  lines.push("");
  lines.push(`## Held out of meta-training`, "");
  const w = s.world as Record<string, unknown>;
  lines.push(
    `- Tenants: ${
      (w.evalTenants as string[]).join(", ")
    }. \`urldetect\` is the whole \`urldetect/good_fromE2.txt\` +`,
  );
  lines.push(
    `  \`goodfromE.txt\` source (an application meta-training never saw); the \`fwaf-NN\` tenants are groups of`,
  );
  lines.push(
    `  \`fwaf/goodqueries_subset.txt\` (by a hash of the first path segment) that meta-training never saw.`,
  );
  lines.push(
    `- Families: ${
      (w.heldOutFamilies as string[]).join(", ")
    } — no payload of theirs is trained on, and \`fwaf/badqueries.txt\``,
  );
  lines.push(`  lines that look like them (keyword rules) are dropped.`);
  lines.push(
    `- Payloads: every attack string is split by a hash of its digit-folded text into train / support / query;`,
  );
  lines.push(`  evaluation tenants use only support and query strings.`);
  lines.push("");
  lines.push(
    `## Results: unseen tenant \`urldetect\``,
    "",
    `Command: \`${COMMANDS.eval("urldetect")}\``,
    "",
  );
  lines.push(`### All attacks`, "", mdTable(u.results), "");
  for (const [name, rows] of Object.entries(u.subsets)) {
    lines.push(
      `### ${name} (${u.counts.query[name]} attacks)`,
      "",
      mdTable(rows),
      "",
    );
  }
  lines.push(
    `## Results: held-out fwaf tenants (mean over ${
      Object.keys(s.evals).filter((k) => k.startsWith("fwaf-")).length
    })`,
    "",
  );
  for (const [name, rows] of Object.entries(fwafMean)) {
    lines.push(`### ${name}`, "", mdTable(rows), "");
  }
  lines.push(
    `## Unlabelled traffic (site profile): K × N on \`urldetect\``,
    "",
  );
  lines.push(
    `Each episode also gets N unlabelled support records (2% attacks). With a site profile, the head is adapted`,
    `on its deviations from the profile of those records and of the labelled benign examples; without one, the`,
    `unlabelled records are not used. \`taugate+profile\` (or \`taugate-noprofile\`) is the shipped model adapted`,
    `the other way round; see also the profile ablation.`,
    "",
  );
  lines.push(
    `| method | N | ${
      (s.config as { eval: { shots: number[] } }).eval.shots.map((k) => `K=${k} AUC / TPR@1e-2`).join(" | ")
    } |`,
  );
  lines.push(
    `| --- | ---: | ${
      (s.config as { eval: { shots: number[] } }).eval.shots.map(() => "---:")
        .join(" | ")
    } |`,
  );
  for (const { unlabeled, rows } of kxn) {
    for (const method of [...new Set(rows.map((r) => r.method))]) {
      const cells = (s.config as { eval: { shots: number[] } }).eval.shots.map(
        (k) => {
          const r = find(rows, method, k);
          return r ? `${f3(r.auc)} / ${f3(r["tpr_at_fpr_1e-2"])}` : "–";
        },
      );
      lines.push(`| ${method} | ${unlabeled} | ${cells.join(" | ")} |`);
    }
  }
  lines.push("");
  lines.push(`## Ablations`, "");
  if (ablations) {
    const a = ablations as {
      command: string;
      note?: string;
      tables: {
        title: string;
        header: string[];
        rows: (string | number)[][];
      }[];
    };
    lines.push(`From \`${a.command}\`${a.note ? ` — ${a.note}` : ""}.`, "");
    const t =
      (s.config as { train: { method: string; pretrainShare?: number; adapt: { profile?: unknown } } }).train;
    lines.push(
      `Shipped: ${t.method}${
        t.pretrainShare ? ` after ERM pre-training for ${t.pretrainShare * 100}% of the updates` : ""
      }, ${t.adapt.profile ? "with" : "without"} the site profile, D = ${FEATURE_SPEC.dim}, n-grams ${
        JSON.stringify(FEATURE_SPEC.ngrams)
      }.`,
      "",
    );
    for (const t of a.tables) {
      lines.push(
        `### ${t.title}`,
        "",
        `| ${t.header.join(" | ")} |`,
        `| ${t.header.map(() => "---").join(" | ")} |`,
      );
      for (const r of t.rows) {
        lines.push(
          `| ${
            r.map((c) => (typeof c === "number" ? (Number.isInteger(c) ? String(c) : f3(c)) : c)).join(" | ")
          } |`,
        );
      }
      lines.push("");
    }
  } else {lines.push(
      `Not run yet: \`${COMMANDS.ablate}\` writes \`models/ablations.json\`.`,
      "",
    );}
  lines.push(`## Data`, "");
  lines.push(
    `Read from the data folder (never copied); checksums in \`model-card.json\` (\`data.checksums\`), all matching \`SHA256SUMS\`.`,
    "",
  );
  lines.push(
    `| source | lines | records/payloads | blank | comments | skipped | warnings |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  );
  const reps = s.reports as {
    source: string;
    lines: number;
    items: number;
    blank: number;
    comments: number;
    skipped: number;
    warnings: number;
  }[];
  const payloadReps = reps.filter((r) => r.source.startsWith("payloads/"));
  for (const r of reps.filter((r) => !r.source.startsWith("payloads/"))) {
    lines.push(
      `| ${r.source} | ${r.lines} | ${r.items} | ${r.blank} | ${r.comments} | ${r.skipped} | ${r.warnings} |`,
    );
  }
  const sum = (
    k: "lines" | "items" | "blank" | "comments" | "skipped" | "warnings",
  ) => payloadReps.reduce((a, r) => a + r[k], 0);
  lines.push(
    `| payloads/ (${payloadReps.length} lists) | ${sum("lines")} | ${sum("items")} | ${sum("blank")} | ${
      sum("comments")
    } | ${sum("skipped")} | ${sum("warnings")} |`,
  );
  lines.push("");
  lines.push(
    `Benign cleaning of \`fwaf/goodqueries_subset.txt\` (lines dropped by rule): \`${
      JSON.stringify(w.benignDropped)
    }\`;`,
  );
  lines.push(
    `${w.benignDuplicates} duplicate benign lines dropped. Attack pools per family and split: \`model-card.json\` → \`data.pools\`.`,
    "",
  );
  lines.push(
    `## Time`,
    "",
    `Phases (seconds): \`${JSON.stringify(s.seconds)}\`.`,
    "",
  );
  return lines.join("\n");
}
