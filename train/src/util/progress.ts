/**
 * Progress lines for long work: phase, step, loss and ETA, at most every few seconds, on stderr.
 *
 * @module
 */

/** Reports the progress of one phase. */
export class Progress {
  private start = performance.now();
  private last = 0;

  /**
   * @param phase Name shown on every line.
   * @param total Steps the phase will take.
   * @param quiet Print nothing (tests).
   * @param every Seconds between lines.
   */
  constructor(
    readonly phase: string,
    readonly total: number,
    readonly quiet = false,
    readonly every = 5,
  ) {}

  /** Reports step `i` (1-based) with optional figures; prints when `every` seconds have passed or at the end. */
  tick(i: number, figures: Record<string, number> = {}): void {
    if (this.quiet) return;
    const now = performance.now();
    if (i < this.total && now - this.last < this.every * 1000) return;
    this.last = now;
    const elapsed = (now - this.start) / 1000;
    const eta = i > 0 ? (elapsed / i) * (this.total - i) : 0;
    const figs = Object.entries(figures).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
      .join(" ");
    console.error(
      `[${this.phase}] step ${i}/${this.total} ${figs} elapsed=${elapsed.toFixed(0)}s eta=${eta.toFixed(0)}s`,
    );
  }

  /** Seconds since the phase started. */
  seconds(): number {
    return (performance.now() - this.start) / 1000;
  }
}

/** Logs a line of a phase (unless quiet). */
export function log(quiet: boolean, phase: string, message: string): void {
  if (!quiet) console.error(`[${phase}] ${message}`);
}
