/**
 * A user's own labelled records as an extra meta-training source (`deno task train --records FILE[:LABEL]`).
 *
 * Each file is read through the project's importers (`src/importers/`), its format detected from its content:
 * JSONL records in the record format (or one JSON array of them), a HAR archive, a raw HTTP dump, or a
 * Common/Combined access log. `LABEL` (`0` or `benign`, `1` or `attack`) is given to every record that
 * carries no label of its own; formats without labels (HAR, raw HTTP, access logs) need it. A folder means
 * every file in it (sorted, recursively, dot files left out). Reading is strict: an entry the importer cannot
 * read, or a record left without a label, refuses the whole file with its name and line, because training
 * on a silently shortened or mislabelled file is worse than not starting.
 *
 * Records are grouped into tenants by their `tenant` field (`"user"` when absent). Each becomes one
 * meta-training tenant, beside the corpus's synthetic tenants and real sites: its benign traffic is its
 * benign records as given (at most `trainBenign` of them, a seeded sample), its attacks are its own labelled
 * attacks (at most half of `trainAttacks`) and attacks implanted into its own benign requests (the rest,
 * from the training payload split, exactly as for the real sites), so that a tenant with benign traffic
 * only (an access log labelled 0) still teaches the model what is unusual on that site.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { detectFormat, type ImportFormat, importText } from "@taugate/importers/mod.ts";
import { afterBom, forEachLine, isBlank, isHttpWhitespace } from "@taugate/importers/_util.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { listFiles } from "../importers/mod.ts";
import {
  type Body,
  cloneReq,
  formEncode,
  type Param,
  parseQuery,
  type Req,
  splitTarget,
} from "../synth/request.ts";
import { makeTenant } from "../synth/tenant.ts";
import { type TenantRecords, trainAttackMaker, type WorldConfig } from "../synth/world.ts";
import { Rng } from "../util/rng.ts";
import type { Pools } from "./pools.ts";

/** Benign records a user tenant needs at least (an episode's query alone takes 24 of them). */
export const USER_MIN_BENIGN = 50;

/** The tenant of records that name none. */
export const USER_DEFAULT_TENANT = "user";

/** A user's records that cannot be trained on; the message names the file and, where it can, the line. */
export class RecordsError extends Error {
  override name = "RecordsError";
}

/** One `--records` argument: a file or folder, and the label of its records that carry none. */
export interface RecordsArg {
  path: string;
  label?: 0 | 1;
}

/** One file's records, ready for training. */
export interface UserSource {
  /** The file, as found. */
  path: string;
  format: ImportFormat;
  /** Every record, labelled, with a family and a tenant. */
  records: RequestRecord[];
  /** SHA-256 of the file's bytes (the model's metadata records it). */
  sha256: string;
}

const LABELS: Record<string, 0 | 1> = { "0": 0, "1": 1, benign: 0, attack: 1 };

const FORMAT_NAMES: Record<ImportFormat, string> = {
  jsonl: "JSONL records",
  har: "a HAR archive",
  raw: "a raw HTTP dump",
  clf: "an access log",
};

/**
 * Parses `FILE[:LABEL]`: a trailing `:0`, `:1`, `:benign` or `:attack` is the label; anything else is part
 * of the path.
 *
 * @throws {RecordsError} on an empty path.
 */
export function parseRecordsArg(arg: string): RecordsArg {
  const i = arg.lastIndexOf(":");
  if (i >= 0) {
    const suffix = arg.slice(i + 1).toLowerCase();
    if (Object.hasOwn(LABELS, suffix)) {
      if (i === 0) throw new RecordsError(`--records ${arg}: no file before the label`);
      return { path: arg.slice(0, i), label: LABELS[suffix] };
    }
  }
  if (arg === "") throw new RecordsError("--records needs a file or folder");
  return { path: arg };
}

/** Where an importer's entry is, for a message: `file:line`, `file: entry n` (HAR), `file` (the whole file). */
function where(name: string, format: ImportFormat, line: number): string {
  if (line === 0) return name;
  return format === "har" ? `${name}: entry ${line}` : `${name}:${line}`;
}

/**
 * Reads one file's text into labelled records (the strict reading described above).
 *
 * @param text The file's content.
 * @param name The file's name, for messages.
 * @param label The label of records that carry none.
 * @throws {RecordsError} naming the file and line of the first problem.
 */
export function parseUserRecords(
  text: string,
  name: string,
  label?: 0 | 1,
): { format: ImportFormat; records: RequestRecord[] } {
  let first = 0;
  forEachLine(text, (line, n) => {
    if (isBlank(line)) return true;
    first = n;
    return false;
  });
  if (first === 0) throw new RecordsError(`${name}: empty: no records`);
  const format = detectFormat(text);
  if (format === null) {
    throw new RecordsError(
      `${name}:${first}: not a format the importers read (JSONL records, a HAR archive, a raw HTTP dump, ` +
        `or a Common/Combined access log)`,
    );
  }
  if (format !== "jsonl" && label === undefined) {
    throw new RecordsError(
      `${name}: ${FORMAT_NAMES[format]} carries no labels: give the file's label, ` +
        `--records ${name}:0 (benign) or --records ${name}:1 (attack)`,
    );
  }
  const report = importText(format, text, {
    label,
    maxRecords: Number.MAX_SAFE_INTEGER,
    maxBytes: Number.MAX_SAFE_INTEGER,
    maxSkipped: 5,
  });
  if (report.skipped.length > 0) {
    const s = report.skipped[0], n = report.skipped.length;
    const of = n === 1 ? "" : ` (the first of ${n > 5 ? "more than 5" : n} entries that cannot be read)`;
    throw new RecordsError(`${where(name, format, s.line)}: ${s.reason}${of}`);
  }
  if (report.records.length === 0) throw new RecordsError(`${name}: no records`);
  const unlabelled = report.records.findIndex((r) => r.label === undefined);
  if (unlabelled >= 0) {
    throw new RecordsError(
      `${jsonlEntry(text, name, unlabelled)}: record has no "label": give it one (0 benign, 1 attack), or ` +
        `the file's label, --records ${name}:0 or --records ${name}:1`,
    );
  }
  const records = report.records.map((r) => ({
    ...r,
    family: r.family ?? (r.label === 0 ? "benign" : "user"),
    tenant: r.tenant ?? USER_DEFAULT_TENANT,
  }));
  return { format, records };
}

/** Where the `i`-th record of a JSONL text is (read without a skipped entry, so the i-th entry). */
function jsonlEntry(text: string, name: string, i: number): string {
  let k = afterBom(text);
  while (k < text.length && isHttpWhitespace(text.charCodeAt(k))) k++;
  if (text[k] === "[") return `${name}: record ${i + 1}`;
  let seen = 0, at = 0;
  forEachLine(text, (line, n) => {
    if (isBlank(line)) return true;
    if (seen++ === i) {
      at = n;
      return false;
    }
    return true;
  });
  return `${name}:${at}`;
}

/**
 * Reads the files of `--records` arguments, in order (a folder's files sorted).
 *
 * @throws {RecordsError} for a missing file, an empty folder, or a file that cannot be trained on.
 */
export function loadUserRecords(args: readonly RecordsArg[]): UserSource[] {
  const out: UserSource[] = [];
  for (const a of args) {
    if (!existsSync(a.path)) {
      const hint = a.path.includes(":") ? " (a label is :0, :1, :benign or :attack at the end)" : "";
      throw new RecordsError(`${a.path}: no such file or folder${hint}`);
    }
    const hidden = (f: string) => f.slice(a.path.length).split(/[/\\]/).some((p) => p.startsWith("."));
    const files = statSync(a.path).isDirectory() ? listFiles(a.path).filter((f) => !hidden(f)) : [a.path];
    if (files.length === 0) throw new RecordsError(`${a.path}: the folder holds no files`);
    for (const path of files) {
      const bytes = readFileSync(path);
      const { format, records } = parseUserRecords(bytes.toString("utf8"), path, a.label);
      out.push({ path, format, records, sha256: createHash("sha256").update(bytes).digest("hex") });
    }
  }
  return out;
}

/** A user tenant: its records from every file, in file order. */
export interface UserTenant {
  id: string;
  benign: RequestRecord[];
  attacks: RequestRecord[];
  files: string[];
}

/**
 * The user's records grouped into tenants by their `tenant` field, in order of first appearance.
 *
 * @throws {RecordsError} when a tenant has fewer than {@link USER_MIN_BENIGN} benign records.
 */
export function userTenants(sources: readonly UserSource[]): UserTenant[] {
  const by = new Map<string, UserTenant>();
  for (const s of sources) {
    for (const r of s.records) {
      const id = r.tenant ?? USER_DEFAULT_TENANT;
      let t = by.get(id);
      if (!t) by.set(id, t = { id, benign: [], attacks: [], files: [] });
      (r.label === 1 ? t.attacks : t.benign).push(r);
      if (!t.files.includes(s.path)) t.files.push(s.path);
    }
  }
  for (const t of by.values()) {
    if (t.benign.length < USER_MIN_BENIGN) {
      throw new RecordsError(
        `tenant "${t.id}" (${t.files.join(", ")}): ${t.benign.length} benign records, at least ` +
          `${USER_MIN_BENIGN} are needed beside its ${t.attacks.length} attacks: add the site's ordinary ` +
          `traffic (e.g. --records access.log:0)`,
      );
    }
  }
  return [...by.values()];
}

/** The cookies of a `cookie` header, sent as they are. */
function cookiesOf(header: string): Param[] {
  const cookies = header.split(";").map((c) => c.trim()).filter((c) => c !== "");
  return cookies.map((c) => {
    const eq = c.indexOf("=");
    return { key: eq < 0 ? c : c.slice(0, eq), value: eq < 0 ? "" : c.slice(eq + 1), encoded: true };
  });
}

/** A record's body as an injector's body: form fields and JSON objects by field, anything else as text. */
function bodyOfRecord(text: string | undefined, contentType: string): Body | null {
  if (text === undefined || text === "") return null;
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") {
    const fields = parseQuery(text);
    // Form keys are re-encoded when sent: only keys that come out the same keep the body as it was.
    if (fields.every((f) => !f.bare && formEncode(f.key) === f.key)) return { kind: "form", fields };
  } else if (type === "application/json" || type.endsWith("+json")) {
    try {
      const value = JSON.parse(text);
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        return { kind: "json", value };
      }
    } catch { /* sent as text */ }
  }
  return { kind: "raw", contentType: contentType || "text/plain", text };
}

/** A recorded request as a request under construction, so that attacks can be implanted into it. */
export function reqOfRecord(r: RequestRecord): Req {
  const { path, query } = splitTarget(r.url);
  const headers: [string, string][] = [];
  let cookies: Param[] = [], contentType = "";
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    const name = k.toLowerCase();
    if (name === "cookie") cookies = cookiesOf(v);
    else if (name === "content-type") contentType = v;
    else if (name !== "content-length") headers.push([name, v]);
  }
  const body = bodyOfRecord(r.body, contentType);
  return {
    method: r.method,
    path: path === "" ? "/" : path,
    query: parseQuery(query),
    headers,
    cookies,
    body,
  };
}

/**
 * The user's tenants as meta-training tenants (see the module's documentation); none without sources, and
 * then nothing random is drawn.
 *
 * @param sources The user's files (`loadUserRecords`).
 * @param pools Attack pools (the training split is used).
 * @param seed The run's seed.
 * @param world Sizes.
 * @throws {RecordsError} as {@link userTenants}.
 */
export function userTrainTenants(
  sources: readonly UserSource[],
  pools: Pools,
  seed: number,
  world: WorldConfig,
): TenantRecords[] {
  if (sources.length === 0) return [];
  const maker = trainAttackMaker(pools, world);
  return userTenants(sources).map((u) => {
    const r = new Rng(seed, `user:${u.id}`);
    const benign = u.benign.length > world.trainBenign ? r.sample(u.benign, world.trainBenign) : u.benign;
    const tenant = makeTenant(`user-${u.id}`, "user", benign.map((x) => x.url), r);
    const own = Math.min(u.attacks.length, Math.floor(world.trainAttacks / 2));
    const attacks = own < u.attacks.length ? r.sample(u.attacks, own) : [...u.attacks];
    const bases = benign.map(reqOfRecord);
    const baseOf = (rr: Rng) => cloneReq(rr.pick(bases));
    attacks.push(...maker.make(tenant, world.trainAttacks - own, world.mix, "train", r, true, baseOf));
    return { tenant, benign, attacks };
  });
}

/** One user file as the model's metadata and the run summary record it. */
export interface UserRecordsEntry {
  file: string;
  format: ImportFormat;
  benign: number;
  attacks: number;
  sha256: string;
}

/** What the model's metadata and the run summary record of the user's files: name, format, counts, SHA-256. */
export function userRecordsAccount(sources: readonly UserSource[]): UserRecordsEntry[] {
  return sources.map((s) => ({
    file: basename(s.path),
    format: s.format,
    benign: s.records.filter((r) => r.label === 0).length,
    attacks: s.records.filter((r) => r.label === 1).length,
    sha256: s.sha256,
  }));
}
