/**
 * A small command-line parser: `--name value`, `--name=value`, repeated names collect, `--flag` alone is
 * `true`. Unknown names are an error, so a typo does not silently run the defaults.
 *
 * @module
 */

/** Parsed arguments: each name's values in order. */
export class Args {
  private values = new Map<string, string[]>();

  /**
   * @param argv The arguments after the command.
   * @param known Accepted names (without `--`); names in `flags` take no value.
   * @param flags Names that are switches.
   * @throws {Error} on an unknown name or a missing value.
   */
  constructor(argv: string[], known: string[], flags: string[] = []) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (!a.startsWith("--")) throw new Error(`unexpected argument "${a}"`);
      let name = a.slice(2), value: string | undefined;
      const eq = name.indexOf("=");
      if (eq >= 0) value = name.slice(eq + 1), name = name.slice(0, eq);
      if (!known.includes(name) && !flags.includes(name)) {
        throw new Error(`unknown option --${name}`);
      }
      if (flags.includes(name)) value ??= "true";
      else if (value === undefined) {
        if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
        value = argv[++i];
      }
      if (!this.values.has(name)) this.values.set(name, []);
      this.values.get(name)!.push(value);
    }
  }

  /** The last value of `name`, or `fallback`. */
  str(name: string, fallback: string): string;
  str(name: string): string | undefined;
  str(name: string, fallback?: string): string | undefined {
    const v = this.values.get(name);
    return v ? v[v.length - 1] : fallback;
  }

  /** Every value of `name`. */
  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  /** A number option. @throws {Error} when it is not a finite number. */
  num(name: string, fallback: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      throw new Error(`--${name} must be a number, got "${v}"`);
    }
    return n;
  }

  /** A comma-separated list of non-negative integers. */
  ints(name: string, fallback: number[]): number[] {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const out = v.split(",").map((s) => Number(s.trim()));
    if (out.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new Error(`--${name} must be a list of integers`);
    }
    return out;
  }

  /** Whether a switch was given. */
  flag(name: string): boolean {
    return this.values.has(name);
  }
}
