/**
 * Small statistics for the benchmark: quantiles of samples, and the machine's load at the time.
 *
 * @module
 */

/** The p-quantile (0 ≤ p ≤ 1) of `xs`, nearest rank on the sorted samples. */
export function quantile(xs: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(xs).sort();
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

/** The median of `xs`. */
export function median(xs: ArrayLike<number>): number {
  const s = Float64Array.from(xs).sort();
  if (s.length === 0) return NaN;
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Rounds to `digits` decimals (for the JSON). */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The 1, 5 and 15 minute load averages (`/proc/loadavg`), or `null` where there is none. */
export function loadAverage(): [number, number, number] | null {
  try {
    const [a, b, c] = Deno.readTextFileSync("/proc/loadavg").split(" ").map(Number);
    return [a, b, c];
  } catch {
    return null;
  }
}

/** The load averages as `uptime` prints them. */
export function loadText(): string {
  const l = loadAverage();
  return l === null ? "load unknown" : `load average: ${l.map((x) => x.toFixed(2)).join(", ")}`;
}

/** CPU time counters, in clock ticks (USER_HZ, 100 a second on Linux). */
export interface CpuSnapshot {
  at: number;
  /** Busy ticks of the whole machine, all CPUs (user, nice, system, irq, softirq, steal). */
  machine: number;
  /** Ticks of this process and of the children it waited for (wrk, servers, engine processes). */
  ours: number;
}

/** The machine's and this process tree's CPU counters now, or `null` where `/proc` is missing. */
export function cpuSnapshot(): CpuSnapshot | null {
  try {
    const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = cpu;
    const self = Deno.readTextFileSync("/proc/self/stat");
    // Fields after the command name (which may hold spaces): utime, stime, cutime, cstime are 14-17.
    const f = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number);
    return {
      at: performance.now(),
      machine: user + nice + system + irq + softirq + (steal || 0),
      ours: f[11] + f[12] + f[13] + f[14],
    };
  } catch {
    return null;
  }
}

/**
 * CPU used by other processes between two snapshots, in cores (2 = both CPUs of a 2-CPU machine busy with
 * other work the whole time). The load a measurement competed with.
 */
export function otherCores(a: CpuSnapshot | null, b: CpuSnapshot | null): number | null {
  if (a === null || b === null || b.at <= a.at) return null;
  const ticks = (b.machine - a.machine) - (b.ours - a.ours);
  return Math.max(0, ticks / 100 / ((b.at - a.at) / 1000));
}

/** Samples of one timed quantity, in µs, filled by an interleaved loop. */
export class Samples {
  readonly xs: number[] = [];
  add(us: number): void {
    this.xs.push(us);
  }
  get p50(): number {
    return quantile(this.xs, 0.5);
  }
  get p99(): number {
    return quantile(this.xs, 0.99);
  }
}
