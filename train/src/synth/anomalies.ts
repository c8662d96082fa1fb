/**
 * Anomalies: malicious requests that are unusual only for the site they are sent to, synthesised from the
 * tenant's own benign requests. No payload list holds them and no signature catches them; a head learns them
 * from the site's own examples (and its profile of normal traffic).
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { urlEncode } from "./encode.ts";
import { cloneReq, type Param, type Req } from "./request.ts";
import type { Tenant } from "./tenant.ts";
import { randomString, sessionToken } from "./values.ts";
import { WORDS } from "./vocab.ts";

/** A synthesiser of one anomaly family; `null` when the request offers nothing to work on. */
type Anomaly = (base: Req, tenant: Tenant, rng: Rng) => Req | null;

/** The request's parameters that carry a value: its query's, or its form's. */
function params(req: Req): Param[] {
  const q = req.query.filter((p) => !p.bare);
  if (req.body?.kind === "form") return [...q, ...req.body.fields];
  return q;
}

/** Sets a parameter (query, form or JSON) to a raw value; false when the request has none. */
function setSomeValue(
  req: Req,
  rng: Rng,
  value: (old: string) => string,
): boolean {
  if (req.body?.kind === "json") {
    const body = req.body.value;
    const keys = Object.keys(body).filter((k) => typeof body[k] !== "object");
    if (keys.length > 0) {
      const k = rng.pick(keys);
      body[k] = value(String(body[k]));
      return true;
    }
  }
  const ps = params(req);
  if (ps.length === 0) return false;
  const p = rng.pick(ps);
  const old = p.encoded ? decodeSafe(p.value) : p.value;
  Object.assign(p, { value: value(old), encoded: false });
  return true;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/** A value of the wrong type: letters where digits were, digits where letters were, a list, an object. */
const tamperType: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  const ok = setSomeValue(req, rng, (old) => {
    if (/^-?\d+(\.\d+)?$/.test(old)) {
      return rng.pick([
        rng.pick(WORDS),
        `${old}abc`,
        "null",
        "undefined",
        "NaN",
        "true",
        `[${old}]`,
        "{}",
        "x",
      ]);
    }
    return rng.pick([
      String(rng.int(1e6)),
      "0",
      "-1",
      "[]",
      '{"a":1}',
      "null",
      "1e9",
    ]);
  });
  return ok ? req : null;
};

/** A value far longer than the parameter ever carries. */
const tamperLength: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  const n = rng.pick([200, 500, 1000, 3000, 6000]);
  const ok = setSomeValue(req, rng, (old) => {
    // Plain characters only: an encoded non-ASCII unit would multiply the URL's length past any limit.
    const unit = /^[A-Za-z0-9._-]+$/.test(old) ? old : rng.pick(WORDS);
    return rng.chance(0.5) ? unit.repeat(Math.ceil(n / unit.length)).slice(0, n) : randomString(rng, "A", n);
  });
  return ok ? req : null;
};

/** Characters the parameter never holds: other scripts, symbols, control characters, full-width forms. */
const tamperCharset: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  const odd = [
    "ｓｅｌｅｃｔ",
    "\u0430\u0434\u043c\u0438\u043d",
    "\u202e",
    "\u00ff\u00fe",
    "!@#$%^*()",
    "\u0001\u0002\u0003",
    "\ufeff",
    "\ud83d\ude00",
    "~!`|",
    "\u0000",
  ];
  const ok = setSomeValue(req, rng, (old) => {
    const s = rng.pick(odd);
    return rng.chance(0.5) ? old + s : s + old;
  });
  return ok ? req : null;
};

/** A number out of the range the site uses: negative, zero, huge, fractional, exponent, hexadecimal. */
const tamperRange: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  let hit = false;
  const ok = setSomeValue(req, rng, (old) => {
    if (/^\d+(\.\d+)?$/.test(old)) hit = true;
    return rng.pick([
      "-1",
      "-99999",
      "0",
      "99999999999999999999",
      "2147483648",
      "1e308",
      "0x7fffffff",
      "-0",
      "1.5",
    ]);
  });
  return ok && hit ? req : null;
};

/** Parameters the site does not have (mass assignment, debug switches, pollution) or a missing one. */
const tamperParam: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  const extra: [string, string][] = [
    ["debug", "1"],
    ["admin", "true"],
    ["is_admin", "1"],
    ["role", "admin"],
    ["__proto__[admin]", "1"],
    ["price", "0"],
    ["discount", "100"],
    ["user_id", "1"],
    ["XDEBUG_SESSION_START", "phpstorm"],
    ["test", "1"],
    ["_method", "DELETE"],
    ["callback", "x"],
  ];
  const how = rng.int(3);
  if (how === 0) {
    // Parameter pollution: a parameter the request has, sent twice with another value.
    const ps = params(req);
    if (ps.length === 0) return null;
    const p = rng.pick(ps);
    req.query.push({
      key: p.key,
      value: rng.pick(["1", "admin", "0", rng.pick(WORDS)]),
      encoded: false,
    });
    return req;
  }
  if (how === 1 && params(req).length > 0) {
    // A parameter the site always sends, left out (or all of them).
    if (req.body?.kind === "form" && req.body.fields.length > 0) {
      req.body.fields.splice(rng.int(req.body.fields.length), 1);
    } else if (req.query.length > 0) {
      req.query = rng.chance(0.5) ? [] : req.query.slice(1);
    } else return null;
    return req;
  }
  const n = 1 + rng.int(2);
  for (const [k, v] of rng.sample(extra, n)) {
    if (req.body?.kind === "json" && rng.chance(0.7)) req.body.value[k] = v;
    else if (req.body?.kind === "form" && rng.chance(0.7)) {
      req.body.fields.push({ key: k, value: v });
    } else req.query.push({ key: k, value: v });
  }
  return req;
};

/**
 * A method the endpoint does not take. Not `OPTIONS`: a browser's CORS preflight asks it of any endpoint that
 * another origin calls (868 of one real API site's logged requests), and the server answers it without running
 * the endpoint, so it is no tampering.
 */
const tamperMethod: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  if (req.body !== null && rng.chance(0.5)) {
    // A body endpoint called with GET and its fields in the query.
    if (req.body.kind === "form") req.query.push(...req.body.fields);
    req.body = null;
    req.method = "GET";
    return req;
  }
  const methods = req.method === "GET"
    ? [
      "PUT",
      "DELETE",
      "PATCH",
      "TRACE",
      "PROPFIND",
      "DEBUG",
      "TRACK",
      "CONNECT",
      "POST",
      "MOVE",
    ]
    : ["DELETE", "TRACE", "PROPFIND", "GET", "PUT", "DEBUG"];
  req.method = rng.pick(methods.filter((m) => m !== base.method));
  return req;
};

/** Probes for backup, configuration and obsolete files near the site's own paths. */
const probe: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  req.query = [];
  req.body = null;
  req.method = rng.chance(0.9) ? "GET" : "HEAD";
  const path = base.path.replace(/\/+$/, "") || "";
  const dir = path.slice(0, path.lastIndexOf("/") + 1) || "/";
  const suffixes = [
    ".bak",
    ".old",
    "~",
    ".orig",
    ".save",
    ".swp",
    ".tmp",
    ".copy",
    ".1",
    "_backup",
    ".dist",
  ];
  const files = [
    ".git/config",
    ".git/HEAD",
    ".svn/entries",
    ".env",
    ".env.local",
    ".htaccess",
    ".htpasswd",
    ".DS_Store",
    "WEB-INF/web.xml",
    "web.config",
    "config.php.bak",
    "wp-config.php~",
    "backup.zip",
    "backup.tar.gz",
    "db.sql",
    "dump.sql",
    "phpinfo.php",
    "server-status",
    ".idea/workspace.xml",
    "composer.lock",
    ".npmrc",
    "id_rsa",
  ];
  const r = rng.int(3);
  if (r === 0) {
    req.path = path.length > 1 ? `${path}${rng.pick(suffixes)}` : `/index.php${rng.pick(suffixes)}`;
  } else if (r === 1) req.path = `${dir}${rng.pick(files)}`;
  else req.path = `/${rng.pick(files)}`;
  if (req.path === base.path) req.path += ".bak";
  return req;
};

/** A session token where it does not belong: in the URL, in a referer, or a foreign session cookie. */
const tokenMisplaced: Anomaly = (base, t, rng) => {
  const req = cloneReq(base);
  const session = req.cookies.find((c) => c.key === t.session.name)?.value ??
    sessionToken(rng, t.session.shape);
  const r = rng.int(4);
  if (r === 0) {
    req.query.push({
      key: rng.pick([t.session.name, "sid", "token", "session", "jsessionid"]),
      value: session,
    });
  } else if (r === 1) {
    req.path = `${req.path.replace(/\/$/, "")};jsessionid=${sessionToken(rng, "hex").toUpperCase()}`;
  } else if (r === 2) {
    req.headers.push([
      "referer",
      `https://${rng.pick(["evil", "attacker", "login-verify"])}.example/?${t.session.name}=${session}`,
    ]);
  } else {
    // A session cookie of another shape or another framework next to (or instead of) the site's own.
    const other = rng.pick(
      ["PHPSESSID", "JSESSIONID", "ASP.NET_SessionId", "connect.sid"].filter((
        n,
      ) => n !== t.session.name),
    );
    req.cookies.push({
      key: other,
      value: sessionToken(
        rng,
        rng.pick(["hex", "b64", "jwt", "alnum"] as const),
      ),
    });
    if (rng.chance(0.5)) {
      req.cookies.push({ key: t.session.name, value: "admin" });
    }
  }
  return req;
};

/** Malformed encodings: broken escapes, overlong UTF-8, invalid bytes, NULs, double-encoded plain text. */
const badEncoding: Anomaly = (base, _t, rng) => {
  const req = cloneReq(base);
  const bad = [
    "%zz",
    "%",
    "%u12",
    "%c0%ae",
    "%e0%80%af",
    "%ff%fe",
    "%00",
    "%%32%65",
    "%25%32%65",
    "%c1%1c",
    "%uD800",
    "%G1",
  ];
  const s = rng.pick(bad);
  const ps = params(req);
  if (ps.length > 0 && rng.chance(0.7)) {
    const p = rng.pick(ps);
    p.value = (p.encoded ? p.value : urlEncode(p.value)) + s;
    p.encoded = true;
  } else {
    const parts = req.path.split("/");
    const i = Math.max(
      1,
      parts.length - (parts[parts.length - 1] === "" ? 2 : 1),
    );
    parts[i] = (parts[i] ?? "") + s;
    req.path = parts.join("/");
  }
  return req;
};

/** Every anomaly family's synthesiser. */
export const ANOMALIES: Readonly<Record<string, Anomaly>> = {
  "tamper-type": tamperType,
  "tamper-length": tamperLength,
  "tamper-charset": tamperCharset,
  "tamper-range": tamperRange,
  "tamper-param": tamperParam,
  "tamper-method": tamperMethod,
  probe,
  "token-misplaced": tokenMisplaced,
  "bad-encoding": badEncoding,
};
