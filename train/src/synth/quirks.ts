/**
 * Benign quirks: things real sites send that look like attacks elsewhere but are normal for them — HTML in a
 * forum post, a filter expression, URLs in parameters, REST methods, long tokens, code on a developer Q&A
 * site, non-Latin text, apostrophes and backslashes, GraphQL, SOAP, tracing headers. Each tenant has a few,
 * on a stable parameter, at its own rate. They make "normal" differ from site to site, which is what a head
 * adapted to the site has to learn, and what a global model alone cannot know.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import type { Req } from "./request.ts";
import { randomString, sessionToken, uuid } from "./values.ts";
import { WORDS } from "./vocab.ts";

/** The quirks. */
export const QUIRKS = [
  "rich-text",
  "filter-expr",
  "urls",
  "rest-methods",
  "long-tokens",
  "code",
  "non-ascii",
  "punctuation",
  "graphql",
  "soap",
  "trace-headers",
  "array-params",
] as const;
/** One quirk. */
export type QuirkKind = typeof QUIRKS[number];

/** A quirk of one tenant: which, on which parameter, how often. */
export interface Quirk {
  kind: QuirkKind;
  param: string;
  rate: number;
}

const PARAMS: Record<QuirkKind, string[]> = {
  "rich-text": ["body", "content", "post", "message", "description", "html"],
  "filter-expr": ["filter", "where", "q", "$filter", "query", "expr"],
  urls: ["return_url", "image", "callback", "source", "link", "avatar_url"],
  "rest-methods": ["-"],
  "long-tokens": ["id_token", "state", "saml", "assertion", "blob"],
  code: ["snippet", "code", "answer", "example", "text"],
  "non-ascii": ["q", "name", "city", "title"],
  punctuation: ["name", "title", "comment", "note"],
  graphql: ["-"],
  soap: ["-"],
  "trace-headers": ["-"],
  "array-params": ["filter", "page", "fields", "ids", "filters", "sort"],
};

/** A tenant's quirks: none to three, each on a stable parameter at a rate of 2–15%. */
export function drawQuirks(rng: Rng): Quirk[] {
  const n = rng.weighted([0, 1, 2, 3], [0.2, 0.35, 0.3, 0.15]);
  return rng.sample(QUIRKS, n).map((kind) => ({
    kind,
    param: rng.pick(PARAMS[kind]),
    rate: 0.02 + rng.next() * 0.13,
  }));
}

function words(rng: Rng, n: number): string {
  return Array.from({ length: n }, () => rng.pick(WORDS)).join(" ");
}

function richText(rng: Rng): string {
  const w = () => words(rng, 2 + rng.int(5));
  return rng.pick([
    `<p>${w()} <b>${w()}</b></p>`,
    `<p>${w()}</p><p><a href="https://example.org/${rng.pick(WORDS)}">${w()}</a></p>`,
    `<ul><li>${w()}</li><li>${w()}</li></ul>`,
    `${w()}<br/>${w()}`,
    `<p><img src="/uploads/${rng.pick(WORDS)}.png" alt="${rng.pick(WORDS)}"> ${w()}</p>`,
    `<blockquote>${w()}</blockquote><p><em>${w()}</em></p>`,
  ]);
}

function filterExpr(rng: Rng): string {
  const f = () =>
    rng.pick([
      "price",
      "status",
      "created_at",
      "age",
      "country",
      "rating",
      "name",
    ]);
  return rng.pick([
    `${f()} > ${rng.int(100)} and ${f()} eq '${rng.pick(WORDS)}'`,
    `${f()}:${rng.pick(WORDS)} OR ${f()}:${rng.pick(WORDS)}`,
    `(${f()}>=${rng.int(50)})&&(${f()}=="${rng.pick(WORDS)}")`,
    `${f()} in (${rng.int(9)},${rng.int(9)},${rng.int(9)})`,
    `${f()} like '${rng.pick(WORDS)}%'`,
    `-${f()},+${f()}`,
  ]);
}

function code(rng: Rng): string {
  const v = rng.pick(["x", "item", "row", "user", "n"]);
  return rng.pick([
    `for (let i = 0; i < ${v}.length; i++) { total += ${v}[i]; }`,
    `SELECT ${rng.pick(WORDS)} FROM ${rng.pick(WORDS)} WHERE id = ${rng.int(99)};`,
    `def ${rng.pick(WORDS)}(${v}):\n    return ${v} * 2`,
    `if (${v} != null && ${v}.ok) { return; }`,
    `ls -la /var/log/${rng.pick(WORDS)} | grep error`,
    `<div class="${rng.pick(WORDS)}">{{ ${v}.name }}</div>`,
    `$ git commit -m "${words(rng, 3)}"`,
  ]);
}

function nonAscii(rng: Rng): string {
  return rng.pick([
    "北京 酒店",
    "上海 天气",
    "Москва центр",
    "Привет мир",
    "東京 ラーメン",
    "서울 맛집",
    "Zürich Straße",
    "São Paulo",
    "مرحبا",
    "café crème brûlée",
  ]);
}

function punctuation(rng: Rng): string {
  return rng.pick([
    "O'Brien",
    "Rock 'n' Roll",
    `"${rng.pick(WORDS)}" edition`,
    "Tom & Jerry",
    "50% off!",
    `C:\\Users\\${rng.pick(WORDS)}\\Documents`,
    "what's new?",
    `${rng.pick(WORDS)} (2nd ed.)`,
    "a+b=c",
    "#1 choice",
  ]);
}

/**
 * Structured query parameters as PHP, Rails and JSON:API sites name them (`filter[status]=active`,
 * `page[size]=20`, `ids[]=3`, an image filter's `filters[thumbnail][size][]=300`), brackets percent-encoded as
 * browsers and jQuery send them, or raw. The tenant's quirk parameter names the family.
 */
function arrayParams(req: Req, family: string, rng: Rng): void {
  const raw = rng.chance(0.3);
  const add = (key: string, value: string) =>
    req.query.push(
      raw ? { key, value: encodeURIComponent(value).replace(/%20/g, "+"), encoded: true } : { key, value },
    );
  const n = () => String(1 + rng.int(rng.chance(0.5) ? 50 : 99999));
  switch (family) {
    case "filter":
      add(`filter[${rng.pick(["status", "category", "brand", "author", "tag"])}]`, rng.pick(WORDS));
      if (rng.chance(0.5)) add(`filter[price][${rng.pick(["gte", "lte", "min", "max"])}]`, n());
      break;
    case "page":
      add("page[number]", n());
      add("page[size]", rng.pick(["10", "20", "25", "50", "100"]));
      if (rng.chance(0.5)) add("sort", rng.pick(["-created", "title", "-updated_at,title", "price"]));
      break;
    case "fields":
      add(`fields[${rng.pick(WORDS)}s]`, `${rng.pick(WORDS)},${rng.pick(WORDS)}`);
      if (rng.chance(0.6)) add("include", `${rng.pick(WORDS)},${rng.pick(WORDS)}.${rng.pick(WORDS)}`);
      break;
    case "ids":
      for (let i = 0, k = 2 + rng.int(5); i < k; i++) add("ids[]", n());
      break;
    case "filters": {
      const f = rng.pick(["thumbnail", "medium", "large", "avatar"]);
      add(`filters[${f}][size][]`, String(100 + rng.int(900)));
      add(`filters[${f}][size][]`, String(100 + rng.int(900)));
      if (rng.chance(0.5)) add(`filters[${f}][mode]`, rng.pick(["outbound", "inset"]));
      break;
    }
    default:
      add(`sort[${rng.pick(["price", "name", "date", "rating"])}]`, rng.pick(["asc", "desc"]));
      if (rng.chance(0.5)) add(`${rng.pick(WORDS)}[]`, rng.pick(WORDS));
  }
}

/** A browser's request turned into a POST (or PUT, PATCH, DELETE) carries its page's origin. */
function browserOrigin(req: Req, host: string, rng: Rng): void {
  const ua = req.headers.find(([k]) => k === "user-agent")?.[1] ?? "";
  if (ua.startsWith("Mozilla/") && !req.headers.some(([k]) => k === "origin") && rng.chance(0.9)) {
    req.headers.push(["origin", `https://${host}`]);
  }
}

/** Sets a field where the request carries its data: a form or JSON body, else the query. */
function setField(req: Req, key: string, value: string): void {
  if (req.body?.kind === "json") req.body.value[key] = value;
  else if (req.body?.kind === "form") req.body.fields.push({ key, value });
  else req.query.push({ key, value });
}

/**
 * Applies a quirk to a benign request of the tenant (in place).
 *
 * @param req The request.
 * @param q The quirk.
 * @param host The tenant's host (for its own URLs).
 * @param rng The random stream.
 */
export function applyQuirk(req: Req, q: Quirk, host: string, rng: Rng): void {
  switch (q.kind) {
    case "rich-text":
      return setField(req, q.param, richText(rng));
    case "filter-expr":
      return setField(req, q.param, filterExpr(rng));
    case "urls":
      return setField(
        req,
        q.param,
        rng.pick([
          `https://${host}/${rng.pick(WORDS)}/${rng.pick(WORDS)}?ref=${rng.int(100)}`,
          `https://cdn.${host}/img/${rng.pick(WORDS)}_${rng.int(999)}.jpg`,
          `https://partner.example/${rng.pick(WORDS)}/callback`,
        ]),
      );
    case "rest-methods": {
      req.method = rng.pick(["PUT", "PATCH", "DELETE"]);
      req.path = `/api/v1/${rng.pick(WORDS)}s/${1 + rng.int(9999)}`;
      browserOrigin(req, host, rng);
      req.query = [];
      req.body = req.method === "DELETE" ? null : {
        kind: "json",
        value: {
          [rng.pick(WORDS)]: rng.pick(WORDS),
          version: 1 + rng.int(9),
        },
      };
      return;
    }
    case "long-tokens":
      return setField(
        req,
        q.param,
        rng.chance(0.5) ? sessionToken(rng, "jwt") + sessionToken(rng, "jwt") : randomString(
          rng,
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
          200 + rng.int(600),
        ) + "==",
      );
    case "code":
      return setField(req, q.param, code(rng));
    case "non-ascii":
      return setField(req, q.param, nonAscii(rng));
    case "punctuation":
      return setField(req, q.param, punctuation(rng));
    case "graphql": {
      req.method = "POST";
      req.path = "/graphql";
      req.query = [];
      const field = rng.pick(WORDS);
      browserOrigin(req, host, rng);
      req.body = {
        kind: "json",
        value: {
          operationName: `Get${field[0].toUpperCase()}${field.slice(1)}`,
          query: `query ($id: ID!) { ${field}(id: $id) { id name ${
            rng.pick(WORDS)
          } { edges { node { id } } } } }`,
          variables: { id: String(1 + rng.int(99999)) },
        },
      };
      return;
    }
    case "soap": {
      req.method = "POST";
      req.path = `/ws/${rng.pick(WORDS)}Service`;
      req.query = [];
      const op = rng.pick(WORDS);
      browserOrigin(req, host, rng);
      req.body = {
        kind: "raw",
        contentType: "text/xml; charset=utf-8",
        text:
          `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><${op}Request><id>${
            rng.int(9999)
          }</id><name>${rng.pick(WORDS)}</name></${op}Request></soap:Body></soap:Envelope>`,
      };
      req.headers.push(["soapaction", `"urn:${op}"`]);
      return;
    }
    case "array-params":
      return arrayParams(req, q.param, rng);
    case "trace-headers":
      req.headers.push([
        "traceparent",
        `00-${randomString(rng, "0123456789abcdef", 32)}-${randomString(rng, "0123456789abcdef", 16)}-01`,
      ]);
      req.headers.push([
        "x-forwarded-for",
        `203.0.113.${rng.int(255)}, 10.${rng.int(255)}.${rng.int(255)}.${rng.int(255)}`,
      ]);
      if (rng.chance(0.5)) {
        req.headers.push([
          "x-amzn-trace-id",
          `Root=1-${randomString(rng, "0123456789abcdef", 8)}-${uuid(rng).replace(/-/g, "").slice(0, 24)}`,
        ]);
      }
      return;
  }
}
