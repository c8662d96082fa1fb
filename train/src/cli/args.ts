/**
 * A small command-line parser driven by a declared option table: `--name value`, `--name=value`, repeated
 * names collect, `--flag` alone is `true`, `--help` / `-h` asks for the usage. Unknown names are an error, so
 * a typo does not silently run the defaults. The usage text is made from the same table as the parsing
 * (one declaration per option: name, kind, default, help), so the two cannot drift apart.
 *
 * @module
 */

/** One option of a command. */
export interface OptionSpec {
  /** The name, without `--`. */
  name: string;
  /** `value`: takes one (`--name V` or `--name=V`); `flag`: a switch, given alone. */
  kind: "value" | "flag";
  /** How the value is shown in the usage (`N`, `DIR`, `FILE`); `VALUE` when absent. */
  arg?: string;
  /** The value used when the option is absent (the accessors fall back to it); shown in the usage. */
  default?: string;
  /** Shown as the default instead of `default`, where the default is computed by the command. */
  defaultText?: string;
  /** The values accepted; any other is a usage error. */
  choices?: readonly string[];
  /** What the value must be, checked when parsing: a finite number, or comma-separated integers ≥ 0. */
  type?: "number" | "integers";
  /** Given more than once, every value counts (`all`); other options keep their last value. */
  repeat?: boolean;
  /** Must be given. */
  required?: boolean;
  /** What it does, in a sentence or a few. */
  help: string;
}

/** A command: how it is run, what it does, and every option it accepts. */
export interface CommandSpec {
  /** The command's name (`train`), the prefix of its error messages. */
  name: string;
  /** How a user runs it, without options: `deno task train`, `node train/bin/run.mjs sitefp`. */
  invocation: string;
  /** One line, for the list of commands. */
  summary: string;
  /** Paragraphs shown between the synopsis and the options (blank lines separate paragraphs). */
  description?: string;
  options: readonly OptionSpec[];
}

/** Width the usage text is wrapped to. */
const WIDTH = 100;

/** Wraps `text` to `width` columns, every line after the first indented by `indent` spaces. */
function wrap(text: string, width: number, indent: number, first = indent): string[] {
  const lines: string[] = [];
  let line = "";
  let room = width - first;
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = width - indent;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? "" : " ".repeat(indent)) + l);
}

/** `--name ARG` (or `--name` for a switch). */
function optionLabel(o: OptionSpec): string {
  return o.kind === "flag" ? `--${o.name}` : `--${o.name} ${o.arg ?? "VALUE"}`;
}

/** The one-line synopsis: required options as they are, the others in brackets. */
export function synopsis(spec: CommandSpec): string {
  const parts = [spec.invocation];
  for (const o of spec.options.filter((o) => o.required)) {
    parts.push(optionLabel(o));
    if (o.repeat) parts.push(`[${optionLabel(o)} ...]`);
  }
  for (const o of spec.options.filter((o) => !o.required)) {
    parts.push(`[${optionLabel(o)}]${o.repeat ? "..." : ""}`);
  }
  const out: string[] = [];
  let line = "usage:";
  for (const p of parts) {
    if (line.length + 1 + p.length > WIDTH && line.trim() !== "usage:") {
      out.push(line);
      line = " ".repeat(7) + p;
    } else line += " " + p;
  }
  out.push(line);
  return out.join("\n");
}

/** The full usage: synopsis, description, and every option with its default. */
export function usage(spec: CommandSpec): string {
  const out = [synopsis(spec), "", ...wrap(spec.summary, WIDTH, 0)];
  for (const para of (spec.description ?? "").split(/\n\s*\n/)) {
    if (para.trim() !== "") out.push("", ...wrap(para, WIDTH, 0));
  }
  out.push("", "options:");
  const rows: [string, string][] = spec.options.map((o) => {
    const notes: string[] = [];
    if (o.required) notes.push("required");
    if (o.repeat) notes.push("repeatable");
    if (o.choices) notes.push(`one of ${o.choices.join(", ")}`);
    const dflt = o.defaultText ?? o.default;
    if (dflt !== undefined) notes.push(`default: ${dflt}`);
    if (notes.length === 0) return [optionLabel(o), o.help];
    const [text, stop] = o.help.endsWith(".") ? [o.help.slice(0, -1), "."] : [o.help, ""];
    return [optionLabel(o), `${text} (${notes.join("; ")})${stop}`];
  });
  rows.push(["-h, --help", "Print this help and exit."]);
  const col = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  for (const [label, help] of rows) {
    const body = wrap(help, WIDTH, col + 2, col + 2);
    if (label.length > col - 2) {
      out.push("  " + label, " ".repeat(col + 2) + body[0], ...body.slice(1));
    } else out.push(("  " + label).padEnd(col + 2) + body[0], ...body.slice(1));
  }
  return out.join("\n");
}

/** Whether the arguments ask for the usage (`--help` or `-h` anywhere). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** A number value. @throws {Error} when it is not a finite number. */
function checkNumber(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
  return n;
}

/** A comma-separated list of non-negative integers. @throws {Error} when it is not one. */
function checkIntegers(name: string, v: string): number[] {
  const out = v.split(",").map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`--${name} must be a list of integers, got "${v}"`);
  }
  return out;
}

/** Parsed arguments: each declared name's values in order. */
export class Args {
  private values = new Map<string, string[]>();
  private byName: Map<string, OptionSpec>;

  /**
   * @param argv The arguments after the command.
   * @param spec The command and its option table.
   * @throws {Error} on an unknown name, a missing value, a value not among the option's choices, or a
   *   missing required option. A name given twice keeps both values (`str` reads the last).
   */
  constructor(argv: readonly string[], readonly spec: CommandSpec) {
    this.byName = new Map(spec.options.map((o) => [o.name, o]));
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (!a.startsWith("--")) throw new Error(`unexpected argument "${a}"`);
      let name = a.slice(2), value: string | undefined;
      const eq = name.indexOf("=");
      if (eq >= 0) value = name.slice(eq + 1), name = name.slice(0, eq);
      const o = this.byName.get(name);
      if (!o) throw new Error(`unknown option --${name}`);
      if (o.kind === "flag") value ??= "true";
      else if (value === undefined) {
        if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
        value = argv[++i];
      }
      if (o.choices && !o.choices.includes(value)) {
        throw new Error(`--${name} must be one of ${o.choices.join(", ")}, got "${value}"`);
      }
      if (o.type === "number") checkNumber(name, value);
      if (o.type === "integers") checkIntegers(name, value);
      if (!this.values.has(name)) this.values.set(name, []);
      this.values.get(name)!.push(value);
    }
    for (const o of spec.options) {
      if (o.required && !this.values.has(o.name)) throw new Error(`missing --${o.name}`);
    }
  }

  private declared(name: string): OptionSpec {
    const o = this.byName.get(name);
    if (!o) throw new Error(`internal: --${name} is not declared for ${this.spec.name}`);
    return o;
  }

  /** The last value of `name`, or `fallback`, or the declared default. */
  str(name: string, fallback: string): string;
  str(name: string): string | undefined;
  str(name: string, fallback?: string): string | undefined {
    const o = this.declared(name);
    const v = this.values.get(name);
    return v ? v[v.length - 1] : fallback ?? o.default;
  }

  /** Every value of `name`. */
  all(name: string): string[] {
    this.declared(name);
    return this.values.get(name) ?? [];
  }

  /**
   * A number option: its value, or `fallback`, or the declared default.
   *
   * @throws {Error} when it is not a finite number, or when it is absent with no fallback and no default.
   */
  num(name: string, fallback?: number): number {
    const o = this.declared(name);
    const v = this.values.get(name)?.at(-1);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      const d = o.default;
      if (d === undefined) throw new Error(`missing --${name}`);
      return Number(d);
    }
    return checkNumber(name, v);
  }

  /** A comma-separated list of non-negative integers: its value, or `fallback`, or the declared default. */
  ints(name: string, fallback?: number[]): number[] {
    const o = this.declared(name);
    const v = this.values.get(name)?.at(-1);
    if (v === undefined && fallback !== undefined) return fallback;
    const text = v ?? o.default;
    if (text === undefined) throw new Error(`missing --${name}`);
    return checkIntegers(name, text);
  }

  /** Whether a switch was given. */
  flag(name: string): boolean {
    this.declared(name);
    return this.values.has(name);
  }
}

/**
 * The arguments of a command as its `main` needs them: with `--help` or `-h`, prints the usage on stdout and
 * returns 0; on a usage error, prints the error, the synopsis and a pointer to `--help` on stderr and returns
 * 2; otherwise the parsed arguments.
 */
export function parseCli(argv: readonly string[], spec: CommandSpec): Args | number {
  if (wantsHelp(argv)) {
    console.log(usage(spec));
    return 0;
  }
  try {
    return new Args(argv, spec);
  } catch (e) {
    console.error(`${spec.name}: ${(e as Error).message}`);
    console.error(synopsis(spec));
    console.error(`(${spec.invocation} --help lists every option)`);
    return 2;
  }
}
