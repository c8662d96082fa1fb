/**
 * Reads every file of the training data folder through its importer, and checks it against the folder's
 * `SHA256SUMS`. The data is read from where it lies; nothing is copied.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  FUZZDB_FAMILIES,
  importParamsCsv,
  importPayloadDir,
  type ImportReport,
  importUrlList,
  listFiles,
  PATT_FAMILIES,
  type Payload,
  type UrlEntry,
} from "../importers/mod.ts";

/** The default data folder: `../shared/data` beside the repository root (resolved from this file). */
export const DEFAULT_DATA_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../shared/data",
);

/** A data file's checksum, and whether it matches the folder's `SHA256SUMS`. */
export interface Checksum {
  path: string;
  sha256: string;
  /** `true` when it matches, `false` when it differs, `null` when the file is not listed. */
  ok: boolean | null;
}

/** Every source of the data folder, imported. */
export interface Sources {
  dataDir: string;
  /** `fwaf/goodqueries_subset.txt`: benign targets of many sites (noisy). */
  fwafGood: UrlEntry[];
  /** `fwaf/badqueries.txt`: scanner and pentest targets, no family. */
  fwafBad: UrlEntry[];
  /** `urldetect/good_fromE2.txt` + `goodfromE.txt`: benign targets of one application. */
  urldetectGood: UrlEntry[];
  /** `urldetect/bad_fromE.txt`: sqlmap against another application. */
  urldetectBad: UrlEntry[];
  /** `httpparams/attacks.csv`. */
  params: Payload[];
  /** `payloads/payloadsallthethings/**` and `payloads/fuzzdb/attack/**`. */
  lists: Payload[];
  reports: ImportReport[];
  checksums: Checksum[];
}

/**
 * Imports the data folder.
 *
 * @param dataDir The folder (default `../shared/data` beside the repository).
 * @throws {Error} when a required file is missing.
 */
export function loadSources(dataDir: string = DEFAULT_DATA_DIR): Sources {
  const read = (rel: string) => {
    const path = join(dataDir, rel);
    if (!existsSync(path)) throw new Error(`data file missing: ${path}`);
    return readFileSync(path);
  };
  const reports: ImportReport[] = [];
  const urls = (
    rel: string,
    label: 0 | 1,
    family: string,
    whitespaceQuery = false,
    tenant?: string,
  ) => {
    const out = importUrlList(read(rel), {
      source: rel,
      label,
      family,
      whitespaceQuery,
      tenant,
    });
    reports.push(out.report);
    return out.entries;
  };
  const fwafGood = urls("fwaf/goodqueries_subset.txt", 0, "benign");
  const fwafBad = urls("fwaf/badqueries.txt", 1, "scanner");
  const urldetectGood = [
    ...urls("urldetect/good_fromE2.txt", 0, "benign", true, "urldetect"),
    ...urls("urldetect/goodfromE.txt", 0, "benign", true, "urldetect"),
  ];
  const urldetectBad = urls("urldetect/bad_fromE.txt", 1, "sqli", true);
  const csv = importParamsCsv(
    read("httpparams/attacks.csv").toString("utf8"),
    "httpparams/attacks.csv",
  );
  reports.push(csv.report);
  const patt = importPayloadDir(
    join(dataDir, "payloads/payloadsallthethings"),
    PATT_FAMILIES,
    dataDir,
  );
  const fuzz = importPayloadDir(
    join(dataDir, "payloads/fuzzdb/attack"),
    FUZZDB_FAMILIES,
    dataDir,
  );
  reports.push(...patt.reports, ...fuzz.reports);
  return {
    dataDir,
    fwafGood,
    fwafBad,
    urldetectGood,
    urldetectBad,
    params: csv.payloads,
    lists: [...patt.payloads, ...fuzz.payloads],
    reports,
    checksums: checksums(dataDir),
  };
}

/** SHA-256 of every file of the data folder (README and SHA256SUMS included), checked against SHA256SUMS. */
export function checksums(dataDir: string): Checksum[] {
  const listed = new Map<string, string>();
  const sums = join(dataDir, "SHA256SUMS");
  if (existsSync(sums)) {
    for (const line of readFileSync(sums, "utf8").split("\n")) {
      const m = /^([0-9a-f]{64})\s+\*?(?:\.\/)?(.+)$/.exec(line.trim());
      if (m) listed.set(m[2], m[1]);
    }
  }
  return listFiles(dataDir).map((file) => {
    const path = file.slice(dataDir.length + 1).split("\\").join("/");
    const sha256 = createHash("sha256").update(readFileSync(file)).digest(
      "hex",
    );
    const want = listed.get(path);
    return { path, sha256, ok: want === undefined ? null : want === sha256 };
  });
}
