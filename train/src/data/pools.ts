/**
 * Attack pools: every attack string of the data, deduplicated, given a family, filtered of fragments that
 * are no attack on their own, and split by a hash of its digit-folded text into `train`, `support` and
 * `query` (so near-duplicates that differ only in random numbers land on the same side). Held-out families
 * never reach `train`.
 *
 * Two kinds: *values* (a payload to inject into a parameter, path segment, body field, header or cookie) and
 * *targets* (a whole scanner request target, sent instead of a site's own path and query).
 *
 * @module
 */
import { canonicalTarget } from "../importers/mod.ts";
import { hashString } from "../util/rng.ts";
import { familyByKeywords, HELD_OUT_FAMILIES, INJECTION_FAMILIES, SCANNER_FAMILY } from "./families.ts";
import type { Sources } from "./sources.ts";

/** Which side of the split an attack string is on. */
export type Split = "train" | "support" | "query";

/** An attack value to inject. */
export interface AttackValue {
  text: string;
  family: string;
  /** `source:line` of its first occurrence. */
  origin: string;
  split: Split;
}

/** A whole attack request target (path and query). */
export interface AttackTarget {
  url: string;
  family: string;
  origin: string;
  split: Split;
}

/** The pools and the account of how they were built. */
export interface Pools {
  values: AttackValue[];
  targets: AttackTarget[];
  /** Counts for the model card: per family and split, and what was dropped and why. */
  stats: {
    values: Record<string, Record<Split, number>>;
    targets: Record<string, Record<Split, number>>;
    dropped: Record<string, number>;
  };
}

/** Folder families that hold no attack value on their own (JSON shapes, bare suffixes): not used. */
const UNUSED_FAMILIES = new Set(["json", "disclosure"]);
/** fuzzdb's `http-protocol` lists are CRLF and header-splitting strings. */
const FAMILY_ALIASES: Record<string, string> = { "http-protocol": "crlf" };
/** Hosts for fuzzdb's `XXpathXX` remote-inclusion placeholder, chosen by a hash of the line. */
const RFI_HOSTS = [
  "http://evil.example/shell.txt?",
  "http://203.0.113.7/x.txt?",
  "ftp://198.51.100.9/c99.php?",
];

/** Split shares: train, support, query (the rest). Held-out families split support/query only. */
const TRAIN_SHARE = 0.7, SUPPORT_SHARE = 0.15;

/**
 * Builds the pools from the imported sources.
 *
 * @param sources The imported data folder.
 * @param seed Salt of the split hash.
 */
export function buildPools(sources: Sources, seed: number): Pools {
  const dropped: Record<string, number> = {};
  const drop = (why: string) => void (dropped[why] = (dropped[why] ?? 0) + 1);
  const known = new Set<string>(INJECTION_FAMILIES);
  const values = new Map<string, AttackValue>();
  const addValue = (text: string, family: string, origin: string) => {
    family = FAMILY_ALIASES[family] ?? family;
    if (UNUSED_FAMILIES.has(family)) {
      return drop(`family ${family} (no attack value on its own)`);
    }
    if (!known.has(family)) return drop(`family ${family} unknown`);
    if (isFragment(text)) {
      return drop(
        "fragment (shorter than 3, or only letters, digits, spaces, _-.)",
      );
    }
    if (values.has(text)) return drop("duplicate value");
    values.set(text, {
      text,
      family,
      origin,
      split: splitOf(text, family, seed),
    });
  };

  for (const p of sources.params) {
    if (p.label === 1) addValue(p.payload, p.family, `${p.source}:${p.line}`);
  }
  for (const p of sources.lists) {
    if (p.family === "rfi" && /xxpathxx/i.test(p.payload)) continue; // whole targets, below
    let family = p.family;
    if (family === "mixed") {
      const f = familyByKeywords(p.payload);
      if (!f) {
        drop("all-attacks line without a keyword family");
        continue;
      }
      family = f;
    }
    addValue(p.payload, family, `${p.source}:${p.line}`);
  }
  // urldetect's sqlmap requests target another application: only their parameter values are used.
  for (const e of sources.urldetectBad) {
    const q = e.raw.replace(/^[^?\t ]*[?\t ]+/, "");
    for (const part of q.split("&")) {
      const eq = part.indexOf("=");
      const v = eq < 0 ? part : part.slice(eq + 1);
      if (familyByKeywords(v) || v.includes("'")) {
        addValue(v, "sqli", `urldetect/bad_fromE.txt:${e.line}`);
      }
    }
  }
  const targets = new Map<string, AttackTarget>();
  const addTarget = (url: string, family: string, origin: string) => {
    if (targets.has(url)) return drop("duplicate target");
    targets.set(url, {
      url,
      family,
      origin,
      split: splitOf(url, family, seed),
    });
  };
  for (const e of sources.fwafBad) {
    const family = familyByKeywords(e.raw);
    // Lines that look like a held-out family leave the data: they carry no family label of their own.
    if (family && HELD_OUT_FAMILIES.includes(family)) {
      drop(`fwaf bad line like held-out ${family}`);
      continue;
    }
    if (e.bare) {
      if (family) addValue(e.raw, family, `fwaf/badqueries.txt:${e.line}`);
      else drop("bare fwaf bad line without a keyword family");
    } else {addTarget(
        e.record.url,
        family ?? SCANNER_FAMILY,
        `fwaf/badqueries.txt:${e.line}`,
      );}
  }
  for (const p of sources.lists) {
    if (p.family !== "rfi" || !/xxpathxx/i.test(p.payload)) continue;
    const host = RFI_HOSTS[hashString(p.payload) % RFI_HOSTS.length];
    const { url } = canonicalTarget(p.payload.replace(/xxpathxx\??/gi, host));
    if (url) addTarget(url, "rfi", `${p.source}:${p.line}`);
    else drop("rfi target that does not parse");
  }

  const stats = { values: {}, targets: {}, dropped } as Pools["stats"];
  const count = (
    into: Record<string, Record<Split, number>>,
    family: string,
    split: Split,
  ) => {
    into[family] ??= { train: 0, support: 0, query: 0 };
    into[family][split]++;
  };
  for (const v of values.values()) count(stats.values, v.family, v.split);
  for (const t of targets.values()) count(stats.targets, t.family, t.split);
  return {
    values: [...values.values()],
    targets: [...targets.values()],
    stats,
  };
}

/** Too short, or only letters, digits, spaces and `_-.`: a word such as `mobile` is no attack on its own. */
export function isFragment(text: string): boolean {
  return text.trim().length < 3 || /^[a-z0-9 _.\-]*$/i.test(text);
}

/** The split of an attack string: a hash of its lower-cased, digit-folded, space-folded text. */
export function splitOf(text: string, family: string, seed: number): Split {
  const key = text.toLowerCase().replace(/[0-9]+/g, "0").replace(/\s+/g, " ")
    .trim();
  const u = hashString(key, seed ^ 0x5eed) / 4294967296;
  if (HELD_OUT_FAMILIES.includes(family)) return u < 0.5 ? "support" : "query";
  return u < TRAIN_SHARE ? "train" : u < TRAIN_SHARE + SUPPORT_SHARE ? "support" : "query";
}
