/**
 * Puts an attack payload into one of a tenant's own requests, at a place attackers use for its family
 * (query value, path segment, form field, JSON value, multipart field or file name, header, cookie), in an
 * encoding attackers use; or replaces the request's target with a whole scanner target.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import {
  base64Value,
  encodeValue,
  evade,
  jsonUnicode,
  minimalCookie,
  minimalHeader,
  minimalSegment,
  percent,
  urlEncode,
  xmlText,
} from "./encode.ts";
import { cloneReq, parseQuery, type Req, splitTarget } from "./request.ts";
import { formOfPath, type Tenant } from "./tenant.ts";

/** Places a payload can go. */
export const LOCATIONS = ["query", "path", "body", "header", "cookie"] as const;
/** One place. */
export type Location = typeof LOCATIONS[number];

/** How often each family is found at each place (query, path, body, header, cookie). */
const LOCATION_WEIGHTS: Record<string, number[]> = {
  // Headers (user agent, referer, forwarding headers) carry injections in real traffic: enough of them in
  // training that a payload in a client's header is caught from its keywords and symbols alone.
  sqli: [0.45, 0.05, 0.25, 0.15, 0.1],
  xss: [0.45, 0.05, 0.25, 0.2, 0.05],
  cmdi: [0.45, 0.05, 0.25, 0.17, 0.08],
  traversal: [0.4, 0.4, 0.12, 0.03, 0.05],
  lfi: [0.5, 0.3, 0.12, 0.03, 0.05],
  rfi: [0.8, 0, 0.15, 0.05, 0],
  crlf: [0.5, 0.3, 0.1, 0.1, 0],
  redirect: [0.8, 0.1, 0.1, 0, 0],
  xxe: [0.2, 0, 0.8, 0, 0],
  ssi: [0.5, 0.05, 0.25, 0.15, 0.05],
  ssti: [0.55, 0.05, 0.3, 0.05, 0.05],
  ldap: [0.6, 0, 0.35, 0, 0.05],
  nosqli: [0.5, 0, 0.5, 0, 0],
  xpath: [0.6, 0, 0.4, 0, 0],
};
const DEFAULT_WEIGHTS = [0.5, 0.1, 0.25, 0.1, 0.05];

/**
 * Families an application can be hit with through a parameter's name (a PHP or Rails app that reflects or
 * queries by the names it was sent), and how often a query, form or multipart injection of theirs goes there.
 */
const NAME_FAMILIES = new Set(["sqli", "xss", "cmdi", "ssti", "ssi", "ldap", "xpath"]);
const NAME_SHARE = 0.08;
/** A multipart part's name: where upload forms are attacked through their own parts. */
const PART_NAME_SHARE = 0.35;

/** Characters a parameter name cannot carry raw in a query or form (the rest an attacker sends as they are). */
const nameEncode = (s: string) => percent(s, (c) => "&=#%+ ".includes(c));

/** Headers that carry attacks in practice. */
const ATTACK_HEADERS = [
  "user-agent",
  "referer",
  "x-forwarded-for",
  "x-api-version",
  "x-client-ip",
  "accept-language",
];

/** What an injection did, for tests and the report. */
export interface Injection {
  req: Req;
  location: Location;
  encoding: string;
}

/**
 * Injects a payload into a copy of `base`.
 *
 * @param base A benign request of the tenant (left unchanged).
 * @param tenant The tenant (its parameter names, for a parameter the request lacks).
 * @param payload The attack text.
 * @param family Its family.
 * @param rng The random stream.
 */
export function inject(
  base: Req,
  tenant: Tenant,
  payload: string,
  family: string,
  rng: Rng,
): Injection {
  const req = cloneReq(base);
  const { text, how } = evade(payload, family, rng);
  let location = rng.weighted(
    LOCATIONS,
    LOCATION_WEIGHTS[family] ?? DEFAULT_WEIGHTS,
  );
  if (location === "body" && req.body === null) {
    location = family === "xxe" ? "body" : "query";
  }
  if (location === "cookie" && req.cookies.length === 0 && rng.chance(0.5)) {
    location = "query";
  }
  let encoding = how;
  const enc = (e: string) => (encoding = encoding ? `${encoding}+${e}` : e);

  switch (location) {
    case "query": {
      if (NAME_FAMILIES.has(family) && rng.chance(NAME_SHARE)) {
        // The payload as a parameter's name (`?id'+OR+1=1--=1`), URL-encoded or with only what must be.
        const url = rng.chance(0.6);
        enc(url ? "name-url" : "name-minimal");
        req.query.push({
          key: url ? urlEncode(text) : nameEncode(text),
          value: String(rng.int(10)),
          encoded: true,
        });
        break;
      }
      const v = encodeValue(text, rng);
      enc(v.how);
      const own = req.query.filter((p) => !p.bare);
      if (own.length > 0 && rng.chance(0.8)) {
        const p = rng.pick(own);
        // A base64 value replaces the parameter's own (the application decodes all of it).
        const keep = v.how !== "base64" && rng.chance(0.3)
          ? (p.encoded ? p.value : encodeURIComponent(p.value))
          : "";
        Object.assign(p, { value: keep + v.text, encoded: true });
      } else {
        const form = formOfPath(tenant, req.path);
        const key = form.length > 0 && rng.chance(0.8)
          ? rng.pick(form).name
          : rng.pick(["id", "q", "page", "file"]);
        req.query.push({ key, value: v.text, encoded: true });
      }
      break;
    }
    case "path": {
      // Traversal as attackers send it: raw dot segments (`/static/../../etc/passwd`), encoded dots or
      // backslashes, which the URL parser resolves away; the extractor keeps them as evidence.
      // Browsers and HTTP libraries resolve dot segments before they send: raw ones are deliberate.
      if ((family === "traversal" || family === "lfi") && text.includes("..") && rng.chance(0.7)) {
        let raw = percent(text, (c) => c === "#" || c === "?" || c === " " || c === "&");
        const style = rng.int(4);
        if (style === 1) raw = raw.replaceAll("..", "%2e%2e");
        else if (style === 2) raw = raw.replaceAll("../", ".%2e/");
        else if (style === 3) raw = raw.replaceAll("/", "\\");
        enc(["raw-dots", "encoded-dots", "mixed-dots", "backslashes"][style]);
        const parts = req.path.split("/");
        const keep = 1 + rng.int(Math.max(1, parts.length - 1));
        req.path = parts.slice(0, keep).join("/") + "/" + raw.replace(/^[/\\]+/, "");
        if (!req.path.startsWith("/")) req.path = "/" + req.path;
        break;
      }
      const seg = rng.chance(0.7) ? minimalSegment(text) : urlEncode(text);
      enc(seg === minimalSegment(text) ? "minimal" : "url");
      const parts = req.path.split("/");
      let last = parts.length - 1;
      while (last > 0 && parts[last] === "") last--;
      if (last > 0 && rng.chance(0.6)) parts[last] = seg;
      else parts.splice(last + 1, 0, seg);
      req.path = parts.join("/") || "/";
      if (!req.path.startsWith("/")) req.path = "/" + req.path;
      break;
    }
    case "body": {
      if (family === "xxe" || req.body === null) {
        req.method = "POST";
        req.body = {
          kind: "raw",
          contentType: rng.pick(["application/xml", "text/xml"]),
          text,
        };
        enc("raw");
        break;
      }
      const body = req.body;
      if (body.kind === "form" && body.fields.length > 0) {
        if (NAME_FAMILIES.has(family) && rng.chance(NAME_SHARE)) {
          rng.pick(body.fields).key = text; // form-encoded when sent
          enc("name-form");
        } else {
          const v = encodeValue(text, rng);
          enc(v.how);
          Object.assign(rng.pick(body.fields), { value: v.text, encoded: true });
        }
      } else if (body.kind === "xml" && body.fields.length > 0) {
        const v = xmlText(text, rng);
        enc(v.how);
        Object.assign(rng.pick(body.fields), { value: v.text, encoded: true });
      } else if (body.kind === "raw" && body.contentType.includes("xml") && body.text.includes("</")) {
        // An XML document of the site's own (a SOAP call): the payload replaces an element's text.
        const v = xmlText(text, rng);
        enc(v.how);
        const close = body.text.indexOf("</");
        const open = body.text.lastIndexOf(">", close);
        body.text = body.text.slice(0, open + 1) + v.text + body.text.slice(close);
      } else if (body.kind === "json") {
        const keys = Object.keys(body.value).filter((k) => typeof body.value[k] !== "object");
        const key = keys.length > 0 ? rng.pick(keys) : "q";
        if (rng.chance(0.15)) {
          // Sent with `\u` escapes: JSON.stringify would undo them, so the body is written as raw text.
          const marker = "\u0000";
          const raw = JSON.stringify({ ...body.value, [key]: marker }).replace(
            '"\\u0000"',
            `"${jsonUnicode(text)}"`,
          );
          req.body = {
            kind: "raw",
            contentType: "application/json",
            text: raw,
          };
          enc("json-unicode");
        } else if (rng.chance(0.07)) {
          // Base64 of the payload in a JSON string (an API that decodes a field).
          body.value[key] = base64Value(text, rng);
          enc("json-base64");
        } else {
          body.value[key] = text;
          enc("json");
        }
      } else if (body.kind === "multipart" && body.parts.length > 0) {
        const p = rng.pick(body.parts);
        if (
          p.filename !== undefined &&
          (family === "traversal" || family === "lfi" || rng.chance(0.3))
        ) {
          p.filename = text;
          enc("filename");
        } else if (NAME_FAMILIES.has(family) && rng.chance(PART_NAME_SHARE)) {
          p.name = text;
          enc("part-name");
        } else {
          p.value = text;
          enc("raw");
        }
        // A `"` in a name or file name as a browser encodes it (`%22`), or raw as a hand-made request sends it
        // (line breaks are always encoded: a raw one would end the part's header).
        p.raw = rng.chance(0.3);
      } else {
        const v = encodeValue(text, rng);
        enc(v.how);
        req.query.push({ key: "q", value: v.text, encoded: true });
        location = "query";
      }
      break;
    }
    case "header": {
      const name = family === "cmdi" && rng.chance(0.5) ? "user-agent" : rng.pick(ATTACK_HEADERS);
      const value = minimalHeader(text);
      const i = req.headers.findIndex(([k]) => k === name);
      const own = i >= 0 ? req.headers[i][1] : "";
      // Where attackers put it: the whole header, after the client's own value (a user agent or a forwarding
      // chain), or in a referer, as a link of the site (URL-encoded as a browser sends it, or raw) or alone.
      let v = value, how = "raw";
      if (name === "referer") {
        if (rng.chance(0.4)) {
          v = `https://${tenant.host}/?q=${urlEncode(text)}`;
          how = "url";
        } else if (rng.chance(0.5)) v = `https://${tenant.host}/?q=${value}`;
      } else if (own !== "" && (name === "user-agent" || name === "x-forwarded-for") && rng.chance(0.5)) {
        v = name === "user-agent" ? `${own} ${value}` : `${own}, ${value}`;
      }
      if (i >= 0) req.headers[i][1] = v;
      else req.headers.push([name, v]);
      enc(how);
      break;
    }
    case "cookie": {
      const value = rng.chance(0.6) ? minimalCookie(text) : urlEncode(text);
      enc(value === minimalCookie(text) ? "minimal" : "url");
      if (req.cookies.length > 0 && rng.chance(0.8)) {
        Object.assign(rng.pick(req.cookies), { value, encoded: true });
      } else {req.cookies.push({
          key: rng.pick(["id", "user", "lang", "pref"]),
          value,
          encoded: true,
        });}
      break;
    }
  }
  return { req, location, encoding };
}

/**
 * A scanner request: the client's headers and cookies with a whole attack target instead of the site's own.
 *
 * @param base A benign request of the tenant (left unchanged).
 * @param url The attack target (record URL form).
 */
export function replaceTarget(base: Req, url: string): Req {
  const req = cloneReq(base);
  const { path, query } = splitTarget(url);
  req.method = "GET";
  req.path = path;
  req.query = parseQuery(query);
  req.body = null;
  return req;
}
