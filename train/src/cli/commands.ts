/**
 * The training package's commands and their option tables: one declaration per option (name, kind, default,
 * help), from which each command both parses its arguments and prints its `--help` (`parseCli` in `args.ts`),
 * and from which `node train/bin/run.mjs --help` lists the commands.
 *
 * @module
 */
import { DEFAULT_RUN, QUICK_RUN } from "../config.ts";
import { USER_MIN_BENIGN } from "../data/user_records.ts";
import type { CommandSpec, OptionSpec } from "./args.ts";

const seed: OptionSpec = {
  name: "seed",
  kind: "value",
  arg: "N",
  type: "number",
  default: "1",
  help: "Seed of everything random.",
};
const json: OptionSpec = {
  name: "json",
  kind: "value",
  arg: "FILE",
  help: "Also write the results as JSON to FILE.",
};
const model: OptionSpec = {
  name: "model",
  kind: "value",
  arg: "FILE",
  defaultText: "models/taugate.onnx",
  help: "The model (int8 ONNX, as `deno task train` exports it).",
};
const siteData: OptionSpec = {
  name: "data",
  kind: "value",
  arg: "DIR",
  default: "../shared/data",
  help: "The public corpus folder (its `sites/` hold the real sites), relative to the working directory.",
};
const folds: OptionSpec = {
  name: "folds",
  kind: "value",
  arg: "LIST",
  type: "integers",
  default: "0",
  help: "Folds of the real sites to run on, comma-separated; fold 0's sites are never trained on.",
};

const split: OptionSpec = {
  name: "split",
  kind: "value",
  arg: "NAME",
  default: "query",
  choices: ["train", "support", "query"],
  help: "Payload split the implanted attacks come from.",
};

/** `deno task train`. */
export const TRAIN: CommandSpec = {
  name: "train",
  invocation: "deno task train",
  summary: "Train the model end to end on the public corpus (and your own records) and write the model card.",
  description:
    `Imports the data, builds tenants and tasks, meta-trains the model and the erm-finetune baseline
    with the same budget, chooses τ, exports the int8 ONNX models to --out, evaluates the held-out tenants and
    writes the model card. Deterministic for a given --seed; the default configuration takes about 9 minutes
    on 2 cores.

    Your own labelled records join meta-training with --records FILE[:LABEL] (repeatable): JSONL records in
    the record format, HAR archives, raw HTTP dumps, or Common/Combined access logs, read through the
    importers (format detected from the content; a folder means every file in it). LABEL (0 or benign, 1 or
    attack) is given to every record of FILE that carries no label of its own; HAR files, HTTP dumps and
    access logs carry none, so they need one (e.g. --records access.log:0). Records are grouped into
    tenants by their "tenant" field ("user" when absent). Each tenant needs at least ${USER_MIN_BENIGN} benign records; its
    attacks are its own labelled attacks (at most half) plus attacks implanted into its own benign requests.
    A file with an entry that cannot be read, or an unlabelled record, is refused with its file and line.
    Your records are used for the shipped model and the baseline only (not the leave-sites-out rotations,
    nor evaluation, τ or canaries); their file names and SHA-256 are recorded in the model's metadata.
    Without --records, training is exactly as before.`,
  options: [
    {
      name: "data",
      kind: "value",
      arg: "DIR",
      defaultText: "../shared/data beside the repository",
      help: "The public corpus folder: fwaf/, urldetect/, httpparams/, payloads/, sites/ and SHA256SUMS.",
    },
    {
      name: "records",
      kind: "value",
      arg: "FILE[:LABEL]",
      repeat: true,
      help: "Your own labelled records (JSONL, HAR, raw HTTP or access log; a folder: every file in it), " +
        "added to meta-training; LABEL (0/benign or 1/attack) labels records that carry none.",
    },
    seed,
    {
      name: "quick",
      kind: "flag",
      help: "The small configuration of the tests (seconds, not minutes): a smoke run, not a model to ship.",
    },
    {
      name: "updates",
      kind: "value",
      arg: "N",
      type: "number",
      defaultText: `${DEFAULT_RUN.train.updates}; ${QUICK_RUN.train.updates} with --quick`,
      help: "Training updates of the model and of the baseline.",
    },
    {
      name: "episodes",
      kind: "value",
      arg: "N",
      type: "number",
      defaultText: `${DEFAULT_RUN.eval.episodes}; ${QUICK_RUN.eval.episodes} with --quick`,
      help: "Evaluation episodes per K on each held-out tenant.",
    },
    {
      name: "out",
      kind: "value",
      arg: "DIR",
      defaultText: "models/",
      help: "Where the model, the baseline and the model card are written.",
    },
    {
      name: "artifacts",
      kind: "value",
      arg: "DIR",
      defaultText: "artifacts/",
      help: "Where the held-out JSONL, float32 models and the run summary are written.",
    },
    {
      name: "ablate",
      kind: "flag",
      help: "Run the ablation study instead (writes ablations.json to --out, which the card then includes).",
    },
    {
      name: "card",
      kind: "flag",
      help:
        "Only rewrite the model card from the last run's run-summary.json and ablations.json (no training).",
    },
    { name: "quiet", kind: "flag", help: "No progress lines." },
  ],
};

/** `deno task eval` (its command line and JSON output are a stable interface: see issue 3). */
export const EVAL: CommandSpec = {
  name: "eval",
  invocation: "deno task eval",
  summary: "Few-shot evaluation: adapt each method on K labelled records per class and score query files.",
  description: `For each K and episode: draws K benign + K attack records from the support file (and N
    unlabelled ones, at most a fraction C attacks), adapts each method as the worker would (taugate: the model;
    erm-finetune: the baseline; scratch-logreg: logistic regression on the shots' raw features), scores every
    record of the query files and reports AUC, TPR at 1e-2 and 1e-3 FPR, precision and recall at τ. Records
    are canonical JSONL with a label; lines that are not are skipped and reported. Prints a table; --json
    writes {"model", "options", "results": [...], ...}. shots 0 rows are the unadapted models.`,
  options: [
    {
      name: "support",
      kind: "value",
      arg: "FILE",
      required: true,
      help: "Labelled records (JSONL) the shots and unlabelled traffic are drawn from.",
    },
    {
      name: "query",
      kind: "value",
      arg: "FILE",
      required: true,
      repeat: true,
      help: "Labelled records (JSONL) to score; every file's records are pooled.",
    },
    {
      name: "shots",
      kind: "value",
      arg: "LIST",
      type: "integers",
      default: "0,5,10,50",
      help: "K values (per class), comma-separated.",
    },
    {
      name: "episodes",
      kind: "value",
      arg: "N",
      type: "number",
      default: "20",
      help: "Episodes per K.",
    },
    seed,
    {
      ...json,
      help: "Also write the results as JSON to FILE (the stable output other tools read).",
    },
    {
      name: "unlabeled",
      kind: "value",
      arg: "N",
      type: "number",
      default: "0",
      help: "Unlabelled records per episode, drawn from the support file without their labels.",
    },
    {
      name: "contamination",
      kind: "value",
      arg: "C",
      type: "number",
      default: "0.02",
      help: "Largest share of attacks among the unlabelled records.",
    },
    model,
    {
      name: "baseline",
      kind: "value",
      arg: "FILE",
      defaultText: "models/baselines/erm-finetune.onnx",
      help: "The erm-finetune baseline model.",
    },
    {
      name: "no-baseline",
      kind: "flag",
      help: "Leave the erm-finetune baseline out.",
    },
  ],
};

/** `deno task score`. */
export const SCORE: CommandSpec = {
  name: "score",
  invocation: "deno task score",
  summary: "Score records: one JSON line per input record with its score and decision.",
  description: `Reads canonical records (JSONL) from --in or stdin and writes one JSON line each:
    {"score": 0.93, "decision": "block", "tau": 0.8}, or {"line": 7, "error": "..."} for a line that is not a
    valid record. With --head (a tenant head as HeadParams JSON {w, b, a?, profile?}, or a stored head document
    {head, tau?}) the tenant head scores instead of the model's global head.`,
  options: [
    {
      name: "in",
      kind: "value",
      arg: "FILE",
      defaultText: "stdin",
      help: "Records to score (JSONL).",
    },
    model,
    {
      name: "head",
      kind: "value",
      arg: "FILE",
      help: "A tenant head (JSON) to score with.",
    },
    {
      name: "tau",
      kind: "value",
      arg: "T",
      type: "number",
      defaultText: "the head document's τ, else the model's",
      help: "Decision threshold: block when score ≥ T.",
    },
    {
      name: "no-overflow",
      kind: "flag",
      help:
        "Score only what the feature caps read, as a worker with overflow: false (default: what they cut " +
        "off is scored too, as overflow views, the highest score counting, as the worker does).",
    },
  ],
};

/** `node train/bin/run.mjs sitefewshot`. */
export const SITEFEWSHOT: CommandSpec = {
  name: "sitefewshot",
  invocation: "node train/bin/run.mjs sitefewshot",
  summary: "deno task eval's few-shot evaluation on real sites left out of training, median over sites.",
  description: `For each site of the chosen folds: its ordinary requests (dressed with a client context) and
    attacks implanted into its own requests (payloads of --split), cut in two halves by a seeded shuffle: one
    is the support pool, the other the query set; then the methods of deno task eval. Fold 0's sites are the
    ones the shipped model never trained on; folds 1-4 are for choosing adaptation settings. Needs the
    corpus's sites/ and the models.`,
  options: [
    siteData,
    folds,
    split,
    {
      name: "shots",
      kind: "value",
      arg: "LIST",
      type: "integers",
      default: "0,5,10,50",
      help: "K values, comma-separated.",
    },
    {
      name: "episodes",
      kind: "value",
      arg: "N",
      type: "number",
      default: "3",
      help: "Episodes per K and site.",
    },
    {
      name: "unlabeled",
      kind: "value",
      arg: "N",
      type: "number",
      default: "0",
      help: "Unlabelled records per episode, at most 2% of them attacks.",
    },
    {
      name: "sites",
      kind: "value",
      arg: "N",
      type: "number",
      default: "1000",
      help: "Most sites to run on.",
    },
    {
      name: "variants",
      kind: "value",
      arg: "LIST",
      help: "Also run the shipped model adapted with other settings: no-profile, no-residual, residual " +
        "(TG_RESIDUAL, JSON, overrides the residual's settings), no-values (without the value profile), values " +
        "(TG_VALUES, JSON, overrides the value profile's settings), profile (TG_PROFILE, JSON, overrides the site " +
        "profile's settings, its meta-learned a0 included), comma-separated.",
    },
    json,
    seed,
    model,
    {
      name: "no-baseline",
      kind: "flag",
      help: "Leave the erm-finetune baseline out.",
    },
  ],
};

/** `node train/bin/run.mjs headerprobe`. */
export const HEADERPROBE: CommandSpec = {
  name: "headerprobe",
  invocation: "node train/bin/run.mjs headerprobe",
  summary:
    "Injections in a client's headers, parameter names, form, JSON and multipart bodies and XML on real sites left out.",
  description:
    `For each site: its ordinary requests dressed with a client context, and for each placement (after a
    browser's whole user agent, as the whole user agent, as the whole referer, in a link of the site given as
    referer, raw or URL-encoded, in X-Forwarded-For; in a query parameter, plain, as base64 and as its name; in
    a posted form's value; in a JSON body's value and key; in a multipart form's value and part name; in a SOAP
    call's element, escaped, as CDATA and in an attribute) --per of them
    carrying a payload of the evaluation split (sqli, xss, cmdi), and --per carrying hard benign text (prose
    with SQL words, code, URLs, tokens) in the same place. Reported per placement, as the median and worst
    site: the share of attacks caught at the model's τ by the global head, their AUC against the site's
    ordinary requests, the share of the hard benign text blocked, and the attacks' AUC against it.`,
  options: [
    siteData,
    folds,
    {
      name: "per",
      kind: "value",
      arg: "N",
      type: "number",
      default: "40",
      help: "Injections per placement per site.",
    },
    json,
    seed,
    model,
    { name: "quiet", kind: "flag", help: "No per-site lines." },
  ],
};

/** `node train/bin/run.mjs sitetop`. */
export const SITETOP: CommandSpec = {
  name: "sitetop",
  invocation: "node train/bin/run.mjs sitetop",
  summary: "The ordinary requests of real sites that the global head scores highest, with why.",
  description:
    `For each site of --folds: its ordinary requests as logged (method, target, user agent, referer;
    the documented scanner filter applied), scored by the model's global head. Prints every distinct request
    scoring at least --min, highest first, with its site and how many times it was logged, and with --explain N
    the N inputs that contribute most to its logit (gradient × input, as the tenant API's dry run explains a
    score). The design work of a feature spec starts here: run it on fold 0, the design fold, never on a test
    fold.`,
  options: [
    siteData,
    folds,
    {
      name: "min",
      kind: "value",
      arg: "S",
      type: "number",
      default: "0.9",
      help: "Lowest score listed.",
    },
    {
      name: "explain",
      kind: "value",
      arg: "N",
      type: "number",
      default: "0",
      help: "Contributions listed per request (0: none).",
    },
    json,
    model,
  ],
};

/** `node train/bin/run.mjs sitefp`. */
export const SITEFP: CommandSpec = {
  name: "sitefp",
  invocation: "node train/bin/run.mjs sitefp",
  summary:
    "The false-positive story on real sites left out of training: flagged requests uploaded as benign.",
  description: `For each site: its ordinary requests cut in two halves. The first half's requests flagged at τ
    (at most --max) are uploaded labelled benign and the head is adapted as the tenant API adapts it (their
    views as benign rows too), every request scored as the worker scores it (the highest over its views); reported
    per site and as median and worst: the share of uploaded requests still flagged, the block rate of the other
    half and the implanted attacks' detection, before and after. τ is the worker's, or, where the global head
    flags under 2% of the first half, the score at --quantile of that half. TG_RESIDUAL (JSON) overrides the
    residual's settings.`,
  options: [
    siteData,
    folds,
    {
      name: "quantile",
      kind: "value",
      arg: "Q",
      type: "number",
      default: "0.98",
      help: "Quantile of a site's scores taken as its τ where the global head flags under 2% of it.",
    },
    {
      name: "max",
      kind: "value",
      arg: "N",
      type: "number",
      default: "50",
      help: "Most false positives uploaded per site.",
    },
    json,
    seed,
    model,
    {
      name: "no-contrasts",
      kind: "flag",
      help: "Adapt without contrast records.",
    },
    {
      name: "site",
      kind: "value",
      arg: "ID",
      help: "Only this site (its file name in sites/, without .jsonl.gz).",
    },
    {
      name: "emit",
      kind: "value",
      arg: "DIR",
      help:
        "Also write each site's story as canonical records to DIR/<site>/: upload.jsonl (the false positives), " +
        "other.jsonl (the other half), attacks.jsonl, tau.json (outside the repository: the data is not ours).",
    },
    {
      name: "lost",
      kind: "flag",
      help:
        "Also print each implanted attack the correction lost, with the uploaded requests of its endpoint.",
    },
    {
      name: "from",
      kind: "value",
      arg: "LIST",
      help:
        "Summarise the --json files of earlier runs (comma-separated) instead of running: leave-sites-out is one " +
        "run per rotation, each with its model on its own test fold.",
    },
  ],
};

/** `node train/bin/run.mjs learnreplay`. */
export const LEARNREPLAY: CommandSpec = {
  name: "learnreplay",
  invocation: "node train/bin/run.mjs learnreplay",
  summary: "Learning mode replayed on real sites left out of training, through the worker's own code.",
  description: `For each site: the first --n ordinary requests (at most half) are replayed through the
    middleware in log mode with learning on, then learning/apply {"fpr": --fpr} makes the tenant's head; the
    next --n requests and implanted attacks are scored before and after. Scenarios: clean (as they are), mixed
    (2% replaced by attacks from many clients), oneclient (20% replaced by attacks from one client).`,
  options: [
    siteData,
    folds,
    {
      name: "n",
      kind: "value",
      arg: "N",
      type: "number",
      default: "5000",
      help: "Requests learnt from, and requests tested.",
    },
    {
      name: "fpr",
      kind: "value",
      arg: "F",
      type: "number",
      default: "0.001",
      help: "False-positive rate apply targets.",
    },
    {
      name: "scenarios",
      kind: "value",
      arg: "LIST",
      default: "clean,mixed,oneclient",
      help: "Scenarios to run, comma-separated.",
    },
    json,
    seed,
    model,
    {
      name: "logged",
      kind: "value",
      arg: "0|1",
      default: "0",
      help: "1: replay the requests as logged (user agent and referer only) instead of dressed.",
    },
    {
      name: "no-profile",
      kind: "flag",
      help: "Apply without the learnt site profile.",
    },
  ],
};

/** `node train/bin/run.mjs sitetau`. */
export const SITETAU: CommandSpec = {
  name: "sitetau",
  invocation: "node train/bin/run.mjs sitetau",
  summary: "Detection on real sites at the model's τ and at the τ the same rule would choose on those sites.",
  description:
    `For the sites of --folds: their ordinary requests (as logged and dressed with a client context) and
    attacks implanted into their own requests (payloads of --split), as the leave-sites-out rotations measure
    them. Prints the block rate (median and worst site) and the injections caught (seen and held-out
    families, median site) at the model's τ, and at the lowest τ at which these sites themselves meet the
    τ rule's targets (--target). The second is an oracle, never a deployable τ: a rotation's model run on its
    own test fold, it says how much of what is missed at τ is lost to τ's transfer from the calibration fold
    rather than to the ranking.`,
  options: [
    siteData,
    folds,
    split,
    {
      name: "target",
      kind: "value",
      arg: "M,W",
      default: "0.05,0.3",
      help: "Block-rate targets of the rule, in percent: median site, worst site (the issue's: 0.1,0.5).",
    },
    seed,
    json,
    model,
  ],
};

/** `node train/bin/run.mjs rotations` (internal: `deno task train` starts it). */
export const ROTATIONS: CommandSpec = {
  name: "rotations",
  invocation: "node train/bin/run.mjs rotations",
  summary:
    "Leave-sites-out rotations alone (train starts them): with another --seed, how much the headline moves.",
  description: `Runs the given leave-sites-out rotations of a training run: for each, a model trained without
    its test fold and its calibration fold, calibrated and given τ on the calibration fold, measured on the
    test fold. deno task train runs them beside the shipped model's training (one process per core). Run
    alone, with the shipped configuration and another --seed, it prints the median and worst site of the
    headline folds (1-4; fold 0 chose the design and is printed apart): the spread a figure of the card has
    over training seeds.`,
  options: [
    {
      name: "config",
      kind: "value",
      arg: "FILE",
      defaultText: "the shipped configuration (train/src/config.ts)",
      help: "The run's configuration (JSON).",
    },
    {
      name: "data",
      kind: "value",
      arg: "DIR",
      defaultText: "../shared/data beside the repository",
      help: "The public corpus folder.",
    },
    seed,
    {
      name: "only",
      kind: "value",
      arg: "LIST",
      type: "integers",
      default: "0",
      help: "Rotations to run, comma-separated (0,1,2,3,4: all five).",
    },
    {
      name: "out",
      kind: "value",
      arg: "FILE",
      help: "Where the rotations are written (JSON); without it, their summary table is printed.",
    },
    {
      name: "save",
      kind: "value",
      arg: "DIR",
      help:
        "Also write each rotation's model to DIR/rotation-<fold>-seed<N>.onnx (calibrated, with its τ, adaptation " +
        "settings and canaries), for sitefewshot and sitefp --model on its own test fold (outside the repository).",
    },
    { name: "quiet", kind: "flag", help: "No progress lines." },
    {
      name: "print-config",
      kind: "flag",
      help:
        "Print the run's configuration (JSON, what --config reads) and exit: a start for a variant's file.",
    },
  ],
};

/** Every command, in the order `run.mjs --help` lists them, with the module that runs it. */
export const COMMANDS: readonly { spec: CommandSpec; module: string }[] = [
  { spec: TRAIN, module: "./train.ts" },
  { spec: EVAL, module: "./eval.ts" },
  { spec: SCORE, module: "./score.ts" },
  { spec: SITEFEWSHOT, module: "./sitefewshot.ts" },
  { spec: SITEFP, module: "./sitefp.ts" },
  { spec: HEADERPROBE, module: "./headerprobe.ts" },
  { spec: SITETOP, module: "./sitetop.ts" },
  { spec: SITETAU, module: "./sitetau.ts" },
  { spec: LEARNREPLAY, module: "./learnreplay.ts" },
  { spec: ROTATIONS, module: "./rotations.ts" },
];

/** The list of commands, one line each (`run.mjs --help`). */
export function commandList(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    "usage: node train/bin/run.mjs <command> [options]   (deno task train|eval|score [options])",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    "",
    "node train/bin/run.mjs <command> --help prints a command's options.",
  ].join("\n");
}
