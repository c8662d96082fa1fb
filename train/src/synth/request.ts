/**
 * A request under construction: structured enough that an injector can put a payload into one query value,
 * path segment, body field, header or cookie, and serialised to a canonical record at the end.
 *
 * @module
 */
import type { RequestRecord } from "@taugate/record/record.ts";

/**
 * A name/value pair. `value` is sent exactly as given when `encoded` is set, else a client encodes it. A
 * `bare` query part has no `=` (`?about`): only its key is sent.
 */
export interface Param {
  key: string;
  value: string;
  encoded?: boolean;
  bare?: boolean;
}

/** A multipart part. */
export interface Part {
  name: string;
  value: string;
  filename?: string;
  contentType?: string;
  /** The name and file name keep a `"` as it is (see {@link dispositionName}). */
  raw?: boolean;
}

/**
 * A body: form fields, a JSON object, multipart parts, an XML document of named elements (plain, or a SOAP
 * call when `soap` names its operation; a field's value is XML-escaped unless `encoded`), or raw text of a
 * content type.
 */
export type Body =
  | { kind: "form"; fields: Param[] }
  | { kind: "json"; value: Record<string, unknown> }
  | { kind: "multipart"; parts: Part[]; boundary: string }
  | { kind: "xml"; root: string; fields: Param[]; soap?: string; contentType: string }
  | { kind: "raw"; contentType: string; text: string };

/** Text as XML character data. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Text as a CDATA section (a `]]>` in it split across two sections). */
export function cdata(s: string): string {
  return `<![CDATA[${s.replaceAll("]]>", "]]]]><![CDATA[>")}]]>`;
}

/**
 * A multipart part's name or file name inside its quotes, as a browser writes it (`"`, CR and LF
 * percent-encoded); `raw` keeps `"` as it is, as a hand-made request may (a line break would end the header).
 */
export function dispositionName(s: string, raw = false): string {
  return s.replace(raw ? /[\r\n]/g : /[\r\n"]/g, (c) => encodeURIComponent(c));
}

/** A request being synthesised. */
export interface Req {
  method: string;
  /** Path as sent (already percent-encoded where a client would). */
  path: string;
  query: Param[];
  /** Header names lower-case, in sending order; `cookie` and `content-type` are derived, not listed here. */
  headers: [string, string][];
  cookies: Param[];
  body: Body | null;
}

/** A deep copy, so an injection never changes the benign request it started from. */
export function cloneReq(r: Req): Req {
  return {
    method: r.method,
    path: r.path,
    query: r.query.map((p) => ({ ...p })),
    headers: r.headers.map(([k, v]) => [k, v]),
    cookies: r.cookies.map((p) => ({ ...p })),
    body: r.body === null ? null : structuredClone(r.body),
  };
}

/** Percent-encodes what a browser encodes in a query value (and `+` for space, as forms do). */
export function formEncode(s: string, spaceAsPlus = true): string {
  const e = encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
  return spaceAsPlus ? e.replace(/%20/g, "+") : e;
}

/** The query string of the parameters. */
export function queryString(r: Req): string {
  const parts: string[] = [];
  for (const p of r.query) {
    const k = p.encoded ? p.key : formEncode(p.key);
    parts.push(
      p.bare ? k : `${k}=${p.encoded ? p.value : formEncode(p.value)}`,
    );
  }
  return parts.join("&");
}

/** A source query string as parameters sent verbatim (`encoded`), `bare` parts included. */
export function parseQuery(query: string | null): Param[] {
  if (query === null) return [];
  return query.split("&").map((part) => {
    const eq = part.indexOf("=");
    return eq < 0
      ? { key: part, value: "", encoded: true, bare: true }
      : { key: part.slice(0, eq), value: part.slice(eq + 1), encoded: true };
  });
}

/**
 * The request target a server sees. A path that starts with `//` or `/\` becomes an absolute URL on
 * `localhost`, which keeps it a path (the URL parser would take it for a host).
 */
export function targetOf(r: Req): string {
  const q = queryString(r);
  const t = r.query.length === 0 ? r.path : `${r.path}?${q}`;
  return t.startsWith("//") || t.startsWith("/\\") ? "http://localhost" + t : t;
}

/** The body's text and content type. */
export function bodyOf(body: Body): { text: string; contentType: string } {
  switch (body.kind) {
    case "form":
      return {
        text: body.fields.map((p) => `${formEncode(p.key)}=${p.encoded ? p.value : formEncode(p.value)}`)
          .join(
            "&",
          ),
        contentType: "application/x-www-form-urlencoded",
      };
    case "json":
      return {
        text: JSON.stringify(body.value),
        contentType: "application/json",
      };
    case "multipart": {
      const lines: string[] = [];
      for (const p of body.parts) {
        lines.push(`--${body.boundary}`);
        const file = p.filename === undefined ? "" : `; filename="${dispositionName(p.filename, p.raw)}"`;
        lines.push(`Content-Disposition: form-data; name="${dispositionName(p.name, p.raw)}"${file}`);
        if (p.contentType) lines.push(`Content-Type: ${p.contentType}`);
        lines.push("", p.value);
      }
      lines.push(`--${body.boundary}--`, "");
      return {
        text: lines.join("\r\n"),
        contentType: `multipart/form-data; boundary=${body.boundary}`,
      };
    }
    case "xml": {
      const tag = (k: string) => k.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^(?=[^A-Za-z_])/, "_");
      const els = body.fields.map((p) =>
        `<${tag(p.key)}>${p.encoded ? p.value : xmlEscape(p.value)}</${tag(p.key)}>`
      ).join("");
      const doc = body.soap === undefined ? `<${body.root}>${els}</${body.root}>` : `<soap:Envelope ` +
        `xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><${body.soap}Request>${els}` +
        `</${body.soap}Request></soap:Body></soap:Envelope>`;
      return { text: `<?xml version="1.0" encoding="utf-8"?>${doc}`, contentType: body.contentType };
    }
    case "raw":
      return { text: body.text, contentType: body.contentType };
  }
}

/**
 * The canonical record of a request.
 *
 * @param r The request.
 * @param label 0 benign, 1 attack.
 * @param family Its family.
 * @param tenant Its tenant id.
 */
export function toRecord(
  r: Req,
  label: 0 | 1,
  family: string,
  tenant: string,
): RequestRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers) headers[k] = v;
  if (r.cookies.length > 0) {
    headers["cookie"] = r.cookies.map((c) => `${c.key}=${c.encoded ? c.value : formEncode(c.value, false)}`)
      .join("; ");
  }
  const rec: RequestRecord = { method: r.method, url: targetOf(r), headers };
  if (r.body !== null) {
    const { text, contentType } = bodyOf(r.body);
    if (!("content-type" in headers)) headers["content-type"] = contentType;
    rec.body = text;
  }
  rec.label = label;
  rec.family = family;
  rec.tenant = tenant;
  return rec;
}

/** Path and query of a record URL (origin-form or absolute), split at the first `?`. */
export function splitTarget(
  url: string,
): { path: string; query: string | null } {
  let t = url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(t);
  if (scheme) t = t.slice(scheme[0].length) || "/";
  const q = t.indexOf("?");
  return q < 0 ? { path: t, query: null } : { path: t.slice(0, q), query: t.slice(q + 1) };
}
