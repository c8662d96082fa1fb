/**
 * Few-shot curves as a small standalone SVG: AUC (left) and TPR at 1% FPR (right) against K for each
 * method, one line per method, so a reader can see at a glance how adaptation pays.
 *
 * @module
 */

/** One curve: a method's points (K, value). */
export interface Curve {
  label: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** One panel: axes, grid, curves, legend. */
function panel(
  x0: number,
  title: string,
  curves: Curve[],
  yMin: number,
  yMax: number,
  ks: number[],
): string {
  const W = 380,
    H = 260,
    left = x0 + 50,
    top = 40,
    right = x0 + W - 15,
    bottom = top + H - 70;
  // K on a log-like axis: 0 at the left edge, then log(1 + K).
  const kx = (k: number) => left + (Math.log1p(k) / Math.log1p(Math.max(...ks))) * (right - left);
  const vy = (v: number) => bottom - ((v - yMin) / (yMax - yMin)) * (bottom - top);
  const out: string[] = [];
  out.push(
    `<text x="${x0 + W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${
      esc(title)
    }</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = yMin + (i / 5) * (yMax - yMin);
    out.push(
      `<line x1="${left}" y1="${vy(v)}" x2="${right}" y2="${vy(v)}" stroke="#ddd"/>`,
    );
    out.push(
      `<text x="${left - 6}" y="${vy(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(2)}</text>`,
    );
  }
  for (const k of ks) {
    out.push(
      `<line x1="${kx(k)}" y1="${top}" x2="${kx(k)}" y2="${bottom}" stroke="#eee"/>`,
    );
    out.push(
      `<text x="${kx(k)}" y="${bottom + 14}" text-anchor="middle" font-size="10">${k}</text>`,
    );
  }
  out.push(
    `<text x="${(left + right) / 2}" y="${
      bottom + 30
    }" text-anchor="middle" font-size="11">K (labelled examples per class)</text>`,
  );
  out.push(
    `<rect x="${left}" y="${top}" width="${right - left}" height="${
      bottom - top
    }" fill="none" stroke="#888"/>`,
  );
  curves.forEach((c, i) => {
    const pts = c.points.filter(([, v]) => Number.isFinite(v)).map(([k, v]) =>
      `${kx(k).toFixed(1)},${vy(Math.max(yMin, Math.min(yMax, v))).toFixed(1)}`
    );
    const dash = c.dashed ? ` stroke-dasharray="5,3"` : "";
    out.push(
      `<polyline points="${pts.join(" ")}" fill="none" stroke="${c.color}" stroke-width="2"${dash}/>`,
    );
    for (const p of pts) {
      const [px, py] = p.split(",");
      out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${c.color}"/>`);
    }
    const ly = bottom + 46 + Math.floor(i / 2) * 14, lx = left + (i % 2) * 160;
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${
        ly - 4
      }" stroke="${c.color}" stroke-width="2"${dash}/>`,
    );
    out.push(
      `<text x="${lx + 22}" y="${ly}" font-size="10">${esc(c.label)}</text>`,
    );
  });
  return out.join("\n");
}

/**
 * The SVG of two panels.
 *
 * @param title Caption under the panels.
 * @param auc Curves of AUC.
 * @param tpr Curves of TPR at 1% FPR.
 * @param ks The K values.
 */
export function fewShotSvg(
  title: string,
  auc: Curve[],
  tpr: Curve[],
  ks: number[],
): string {
  const lo = (cs: Curve[]) =>
    Math.max(
      0,
      Math.floor(
        Math.min(
          ...cs.flatMap((c) => c.points.map(([, v]) => v)).filter(
            Number.isFinite,
          ),
        ) * 10,
      ) / 10,
    );
  const height = 260 + 14 * Math.ceil(Math.max(auc.length, tpr.length) / 2) +
    30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="780" height="${height}" viewBox="0 0 780 ${height}" font-family="sans-serif">`,
    `<rect width="780" height="${height}" fill="white"/>`,
    panel(0, "AUC", auc, lo(auc), 1, ks),
    panel(390, "TPR at 1% FPR", tpr, lo(tpr), 1, ks),
    `<text x="390" y="${height - 8}" text-anchor="middle" font-size="11" fill="#444">${esc(title)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
