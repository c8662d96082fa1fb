/**
 * Tenants: a site's own paths (from a benign source) plus what the sources lack, synthesised per site and
 * kept stable within it: its parameter vocabulary and which paths take which parameters, its form, JSON and
 * multipart endpoints, its cookie names and session-token shape, and its mix of clients (desktop and mobile
 * browsers, a native app, API clients) with their headers.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { hashString } from "../util/rng.ts";
import { browserHeaders } from "./clients.ts";
import { hardBenignValue, latin1PercentEncode } from "./hard_benign.ts";
import { edgeHeaders, edgeOf } from "./edge.ts";
import { applyQuirk, drawQuirks, type Quirk } from "./quirks.ts";
import { type Body, type Param, parseQuery, type Part, type Req, splitTarget } from "./request.ts";
import {
  type KindStyle,
  newStyle,
  opaqueName,
  randomString,
  sessionToken,
  uuid,
  type ValueKind,
  valueOf,
} from "./values.ts";
import {
  API_UAS,
  APP_UAS,
  LANGUAGES,
  OTHER_COOKIES,
  PARAM_NAMES,
  SESSION_COOKIES,
  UPLOADS,
  WORDS,
} from "./vocab.ts";

/** The kinds of client a site sees. */
export const CLIENT_KINDS = ["desktop", "mobile", "app", "api"] as const;
/** One kind of client. */
export type ClientKind = typeof CLIENT_KINDS[number];

/** A parameter of a site: its name, the kind of value it carries, and its stable style. */
export interface ParamSpec {
  name: string;
  kind: ValueKind;
  style: KindStyle;
}

/** A site's endpoint that takes a body. */
export interface Endpoint {
  path: string;
  method: "POST" | "PUT" | "PATCH";
  body: "form" | "json" | "multipart" | "xml";
  fields: ParamSpec[];
}

/** A site (a task of meta-training, or an evaluation tenant). */
export interface Tenant {
  id: string;
  /** Which benign source its paths come from. */
  source: string;
  /** Its own request targets (path and query) from the source. */
  bases: { path: string; query: string | null }[];
  host: string;
  /** Parameter sets; each path takes one of them (by a hash of the path). */
  forms: ParamSpec[][];
  endpoints: Endpoint[];
  session: { name: string; shape: "hex" | "b64" | "jwt" | "alnum" };
  cookies: ParamSpec[];
  /** Weights of desktop, mobile, app, api. */
  clientMix: number[];
  appName: string;
  languages: string[];
  /** Share of GET requests that carry the path's synthetic parameters. */
  pQuery: number;
  /** Share of requests that go to a body endpoint. */
  pBody: number;
  /** Browser versions this site's visitors run. */
  versions: number[];
  /** What is normal here and unusual elsewhere. */
  quirks: Quirk[];
}

const STATIC = /\.(css|js|png|jpe?g|gif|ico|svg|woff2?|ttf|pdf|zip|gz|mp[34]|avi|swf|txt|xml|rar|7z|exe)$/i;

/** The value kinds a parameter name suggests. */
const KIND_OF_NAME = new Map<string, ValueKind>();
for (const [kind, names] of Object.entries(PARAM_NAMES)) {
  for (const n of names) {
    KIND_OF_NAME.set(n, kind);
  }
}

function paramSpec(rng: Rng, name: string): ParamSpec {
  return { name, kind: KIND_OF_NAME.get(name) ?? "slug", style: newStyle(rng) };
}

/** A random parameter name of a random kind, avoiding `taken`. */
function freshParam(rng: Rng, taken: Set<string>): ParamSpec {
  for (;;) {
    if (rng.chance(0.35)) {
      const name = opaqueName(rng, WORDS);
      if (taken.has(name)) continue;
      taken.add(name);
      return { name, kind: "opaque", style: newStyle(rng) };
    }
    const kinds = Object.keys(PARAM_NAMES).filter((k) => PARAM_NAMES[k].length > 0);
    const names = PARAM_NAMES[rng.pick(kinds)];
    let name = rng.pick(names);
    if (rng.chance(0.25)) name = `${rng.pick(WORDS)}_${name}`;
    if (!taken.has(name)) {
      taken.add(name);
      const spec = paramSpec(rng, name);
      if (!KIND_OF_NAME.has(name)) {
        spec.kind = KIND_OF_NAME.get(name.split("_").pop()!) ?? "slug";
      }
      return spec;
    }
  }
}

/**
 * Builds a tenant around a source's targets.
 *
 * @param id The tenant id.
 * @param source The benign source's name.
 * @param urls The site's own record URLs.
 * @param rng The tenant's random stream.
 */
export function makeTenant(
  id: string,
  source: string,
  urls: string[],
  rng: Rng,
): Tenant {
  const bases = urls.map(splitTarget);
  const taken = new Set<string>();
  // Parameter names the site's own queries use count as taken, so synthetic ones do not shadow them.
  for (const b of bases) for (const p of parseQuery(b.query)) taken.add(p.key);
  const forms = Array.from({ length: 2 + rng.int(5) }, () => {
    const n = 1 + rng.int(3);
    return Array.from({ length: n }, () => freshParam(rng, taken));
  });
  // Bodies go to scripts and pages, never to static files.
  const pagePaths = bases.filter((b) => b.query === null && !STATIC.test(b.path)).map((b) => b.path);
  const endpoints: Endpoint[] = Array.from({ length: 2 + rng.int(5) }, () => {
    const body = rng.weighted(["form", "json", "multipart", "xml"] as const, [0.47, 0.38, 0.09, 0.06]);
    const path = rng.chance(0.5) && pagePaths.length > 0
      ? rng.pick(pagePaths)
      : body === "json"
      ? `/api/v${1 + rng.int(3)}/${rng.pick(WORDS)}${rng.chance(0.5) ? "/" + rng.pick(WORDS) : ""}`
      : body === "xml"
      ? (rng.chance(0.5) ? `/ws/${rng.pick(WORDS)}Service` : `/xml/${rng.pick(WORDS)}`)
      : `/${rng.pick(WORDS)}/${rng.pick(["add", "update", "save", "submit", "login", "upload", "edit"])}`;
    const fields = Array.from(
      { length: 2 + rng.int(4) },
      () => freshParam(rng, taken),
    );
    return {
      path,
      method: rng.weighted(["POST", "PUT", "PATCH"] as const, [
        0.85,
        0.1,
        0.05,
      ]),
      body,
      fields,
    };
  });
  const cookieNames = rng.sample(OTHER_COOKIES, 1 + rng.int(4));
  const clientMix = [
    0.3 + rng.next() * 0.6,
    0.1 + rng.next() * 0.4,
    rng.chance(0.5) ? rng.next() * 0.3 : 0,
  ];
  clientMix.push(rng.chance(0.6) ? rng.next() * 0.3 : 0.02);
  return {
    id,
    source,
    bases,
    host: `${id}.example`,
    forms,
    endpoints,
    session: {
      name: rng.pick(SESSION_COOKIES),
      shape: rng.pick(["hex", "b64", "jwt", "alnum"] as const),
    },
    cookies: cookieNames.map((n) => paramSpec(rng, n)),
    clientMix,
    appName: `${rng.pick(WORDS)[0].toUpperCase()}${rng.pick(WORDS).slice(1)}${
      rng.pick(["App", "", "Go", "Plus"])
    }`,
    languages: rng.sample(LANGUAGES, 1 + rng.int(2)),
    pQuery: source === "fwaf" ? 0.15 + rng.next() * 0.45 : 0.05,
    pBody: 0.05 + rng.next() * 0.3,
    versions: [118 + rng.int(4), 121 + rng.int(4)],
    quirks: drawQuirks(rng),
  };
}

/** The parameter set of a path (stable: a hash of tenant and path). */
export function formOfPath(t: Tenant, path: string): ParamSpec[] {
  return t.forms[hashString(path, hashString(t.id)) % t.forms.length];
}

function fill(template: string, rng: Rng, t: Tenant): string {
  return template.replace(/\{v\}/g, String(rng.pick(t.versions))).replace(
    /\{m\}/g,
    String(rng.int(8)),
  )
    .replace(/\{app\}/g, t.appName);
}

/** A cookie value of one of the site's cookies. */
function cookieValue(rng: Rng, spec: ParamSpec): string {
  switch (spec.name) {
    case "_ga":
    case "_gid":
      return `GA1.2.${1e9 + rng.int(8e9)}.${1.6e9 + rng.int(1e8)}`;
    case "_fbp":
      return `fb.1.${1.6e12 + rng.int(1e11)}.${rng.int(2e9)}`;
    case "theme":
      return rng.pick(["dark", "light", "auto"]);
    case "lang":
      return rng.pick(["en", "de", "fr", "zh"]);
    case "currency":
      return rng.pick(["USD", "EUR", "GBP", "CNY"]);
    case "consent":
    case "cookie_consent":
    case "remember_me":
      return rng.pick(["true", "1", "yes", "all"]);
    case "tz":
      return rng.pick([
        "Europe/Berlin",
        "America/New_York",
        "Asia/Shanghai",
        "UTC",
      ]);
    case "cart_id":
    case "visitor_id":
      return uuid(rng);
    case "last_seen":
      return String(1.6e9 + rng.int(1e8));
    default:
      return valueOf(rng, spec.kind, spec.style);
  }
}

/** Headers of one client kind, for a GET page view, an XHR or a body request. */
function headersFor(
  rng: Rng,
  t: Tenant,
  client: ClientKind,
  xhr: boolean,
  body = false,
): [string, string][] {
  const h: [string, string][] = [];
  const lang = rng.pick(t.languages);
  if (client === "desktop" || client === "mobile") {
    // Real browsers' header sets (header-generator), not templates: client hints, fetch metadata, locales.
    const b = browserHeaders(rng, client === "mobile", xhr);
    h.push(["user-agent", b.ua], ...b.headers);
    if (!b.headers.some(([k]) => k === "accept-language")) h.push(["accept-language", lang]);
    if (xhr && rng.chance(0.6)) h.push(["x-requested-with", "XMLHttpRequest"]);
    // Browsers send their page's origin with every POST, PUT, PATCH or DELETE (and every CORS request).
    if (body && rng.chance(0.9)) h.push(["origin", `https://${t.host}`]);
    if (rng.chance(0.6)) {
      const base = rng.pick(t.bases);
      h.push(["referer", `https://${t.host}${base.path}`]);
    }
    if (rng.chance(0.1)) h.push(["dnt", "1"]);
  } else if (client === "app") {
    h.push(["user-agent", fill(rng.pick(APP_UAS), rng, t)]);
    h.push(["accept", "application/json"], ["accept-language", lang], [
      "accept-encoding",
      "gzip",
    ]);
    if (rng.chance(0.7)) {
      h.push(["authorization", `Bearer ${sessionToken(rng, "jwt")}`]);
    }
    h.push([
      "x-app-version",
      `${rng.int(5) + 1}.${rng.int(20)}.${rng.int(10)}`,
    ]);
    if (rng.chance(0.5)) h.push(["x-device-id", uuid(rng)]);
  } else {
    h.push(["user-agent", fill(rng.pick(API_UAS), rng, t)]);
    h.push(["accept", rng.pick(["*/*", "application/json"])]);
    if (rng.chance(0.5)) h.push(["accept-encoding", "gzip"]);
    const auth = rng.int(3);
    if (auth === 0) {
      h.push(["authorization", `Bearer ${sessionToken(rng, "jwt")}`]);
    } else if (auth === 1) {
      h.push(["x-api-key", randomString(rng, "abcdef0123456789", 40)]);
    } else {h.push([
        "authorization",
        `Basic ${
          randomString(
            rng,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop0123456789",
            28,
          )
        }=`,
      ]);}
    if (rng.chance(0.3)) h.push(["x-request-id", uuid(rng)]);
  }
  // What the site's CDN or load balancer (and now and then the client's proxy) adds to every request.
  h.push(...edgeHeaders(rng, edgeOf(t.host), t.host));
  return h;
}

export function cookiesFor(rng: Rng, t: Tenant, client: ClientKind): Param[] {
  if (
    client === "api" || (client === "app" && rng.chance(0.7)) ||
    rng.chance(0.15)
  ) return [];
  const out: Param[] = [];
  for (const c of t.cookies) {
    if (rng.chance(0.7)) {
      out.push({ key: c.name, value: cookieValue(rng, c) });
    }
  }
  if (rng.chance(0.85)) {
    out.push({
      key: t.session.name,
      value: sessionToken(rng, t.session.shape),
    });
  }
  return out;
}

/** Share of synthetic parameter values that are hard benign text (prose, SQL words, markdown, JSON, ...). */
const HARD_SHARE = 0.15;

/**
 * A parameter's value: usually one of its own kind and style, sometimes hard benign text, half of the
 * Latin-1 kind sent in a legacy site's ISO-8859-1 percent-encoding.
 */
function fieldValue(rng: Rng, p: ParamSpec): { value: string; encoded?: boolean } {
  if (!rng.chance(HARD_SHARE)) return { value: valueOf(rng, p.kind, p.style) };
  const h = hardBenignValue(rng);
  const latin1 = h.kind === "latin1" && rng.chance(0.5) ? latin1PercentEncode(h.value) : null;
  return latin1 === null ? { value: h.value } : { value: latin1, encoded: true };
}

function bodyFor(rng: Rng, e: Endpoint): Body {
  if (e.body === "form") {
    return {
      kind: "form",
      fields: e.fields.map((f) => ({ key: f.name, ...fieldValue(rng, f) })),
    };
  }
  if (e.body === "json") {
    const value: Record<string, unknown> = {};
    for (const f of e.fields) {
      if (rng.chance(HARD_SHARE)) {
        value[f.name] = hardBenignValue(rng).value;
        continue;
      }
      const v = valueOf(rng, f.kind, f.style);
      value[f.name] = f.kind === "id" || f.kind === "page" || f.kind === "price" ? Number(v) : v;
    }
    if (rng.chance(0.2)) {
      value["meta"] = {
        client: rng.pick(["web", "ios", "android"]),
        v: 1 + rng.int(3),
      };
    }
    return { kind: "json", value };
  }
  if (e.body === "xml") {
    // An XML API or a SOAP service: the same fields as elements, hard benign text as often as elsewhere.
    const soap = e.path.endsWith("Service") || rng.chance(0.2);
    return {
      kind: "xml",
      root: "request",
      soap: soap
        ? e.path.split("/").at(-1)!.replace(/Service$/, "").replace(/[^A-Za-z0-9_]/g, "") || "Get"
        : undefined,
      contentType: soap ? rng.pick(["text/xml; charset=utf-8", "application/soap+xml"]) : rng.pick([
        "application/xml",
        "text/xml",
        "application/xml; charset=UTF-8",
      ]),
      fields: e.fields.map((f) => ({ key: f.name, ...fieldValue(rng, f) })),
    };
  }
  const [ext, ctype] = rng.pick(UPLOADS);
  const parts: Part[] = e.fields.map((f) => ({
    name: f.name,
    value: rng.chance(HARD_SHARE) ? hardBenignValue(rng).value : valueOf(rng, f.kind, f.style),
  }));
  const content = ext === "csv" || ext === "txt"
    ? `${rng.pick(WORDS)},${rng.pick(WORDS)}\n${rng.int(100)},${rng.int(100)}`
    : randomString(
      rng,
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
      60 + rng.int(200),
    );
  parts.push({
    name: "file",
    value: content,
    filename: `${rng.pick(WORDS)}_${rng.int(100)}.${ext}`,
    contentType: ctype,
  });
  return {
    kind: "multipart",
    parts,
    boundary: `----WebKitFormBoundary${randomString(rng, "ABCDEFabcdef0123456789", 16)}`,
  };
}

/** A benign request of the tenant, with the client kind that sent it (and the site's quirks applied). */
export function benignRequest(
  t: Tenant,
  rng: Rng,
): { req: Req; client: ClientKind } {
  const out = plainRequest(t, rng);
  for (const q of t.quirks) {
    if (rng.chance(q.rate)) applyQuirk(out.req, q, t.host, rng);
  }
  return out;
}

function plainRequest(t: Tenant, rng: Rng): { req: Req; client: ClientKind } {
  const client = rng.weighted(CLIENT_KINDS, t.clientMix);
  const toBody = rng.chance(t.pBody) && t.endpoints.length > 0;
  if (toBody) {
    const browserish = client === "desktop" || client === "mobile";
    const fits = t.endpoints.filter((e) => browserish || e.body === "json" || e.body === "xml");
    const e = rng.pick(fits.length > 0 ? fits : t.endpoints);
    return {
      client,
      req: {
        method: e.method,
        path: e.path,
        query: [],
        headers: headersFor(rng, t, client, e.body === "json" || e.body === "xml", true),
        cookies: cookiesFor(rng, t, client),
        body: bodyFor(rng, e),
      },
    };
  }
  const base = rng.pick(t.bases);
  const query = parseQuery(base.query);
  if (base.query === null && rng.chance(t.pQuery)) {
    for (const p of formOfPath(t, base.path)) {
      if (rng.chance(0.85)) {
        query.push({ key: p.name, ...fieldValue(rng, p) });
      }
    }
  }
  return {
    client,
    req: {
      method: rng.chance(0.01) ? "HEAD" : "GET",
      path: base.path,
      query,
      headers: headersFor(rng, t, client, client === "app" || client === "api"),
      cookies: cookiesFor(rng, t, client),
      body: null,
    },
  };
}
