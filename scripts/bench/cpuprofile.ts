/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): the share of samples per source file, and the
 * functions with the most self and inclusive time.
 *
 * ```sh
 * deno run -A --cpu-prof --cpu-prof-dir=prof scripts/bench/profile.ts ts 50000
 * deno run --allow-read scripts/bench/cpuprofile.ts prof/*.cpuprofile [--top 30]
 * ```
 *
 * `(idle)` is time the isolate waited in the event loop, which includes Deno's own HTTP work in Rust when
 * the profile is a server's. Inclusive time of async functions only counts their synchronous stretches.
 *
 * @module
 */
import { parseArgs } from "node:util";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { top: { type: "string", default: "30" } },
  allowPositionals: true,
});
const top = Number(values.top);

for (const file of positionals) {
  const p: { nodes: Node[]; samples: number[]; timeDeltas: number[] } = JSON.parse(
    Deno.readTextFileSync(file),
  );
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map<number, number>();
  p.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...time.values()].reduce((a, b) => a + b, 0);

  const where = (n: Node) => {
    const u = n.callFrame.url;
    if (u.startsWith("ext:")) return u.split("/").slice(0, 2).join("/");
    const src = u.indexOf("/src/");
    if (src >= 0) return u.slice(src + 1);
    if (u.includes("onnxruntime")) return "onnxruntime-web (JS)";
    if (u.startsWith("wasm")) return "onnxruntime-web (wasm)";
    if (u.includes("/hono/")) return "hono";
    return u ? u.split("/").slice(-2).join("/") : n.callFrame.functionName || "(native)";
  };
  const name = (n: Node) =>
    `${n.callFrame.functionName || "(anonymous)"} ${where(n)}:${n.callFrame.lineNumber + 1}`;

  const byFile = new Map<string, number>(),
    self = new Map<string, number>(),
    incl = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  for (const [id, t] of time) {
    const n = nodes.get(id)!;
    add(byFile, where(n), t);
    add(self, name(n), t);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = name(nodes.get(at)!);
      if (!seen.has(k)) seen.add(k), add(incl, k, t);
    }
  }
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(100 * t / total).toFixed(1).padStart(6)} %  ${k}`);
    }
  };
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  print("by file", byFile);
  print("self", self);
  print("inclusive", incl);
}
