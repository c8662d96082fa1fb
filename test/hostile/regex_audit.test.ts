// The regular-expression audit of everything a request can reach: the module graph of the worker's entries
// (Deno and workerd), read with Deno's own parser (regex literals, `RegExp` calls, zod's regex-backed string
// formats). Every regex found must be in the audited list below, with what it reads; one that reads request
// data must be of a shape that cannot backtrack more than linearly (anchored at the start, no groups, no
// alternation, at most one unbounded quantifier), and its worst-case input runs through the real code path.
// A new regex in any of these files fails this test until it is audited here. Then the regexes that actually
// run (dependencies included: Hono's router and path decoding, zod) are observed while the worker answers a
// hostile corpus, each must be audited too, and each one that reads request data gets a 16 KB worst case.
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readBodyText } from "../../src/api/upload.ts";
import { parseQuery, scoreQuerySchema } from "../../src/api/schemas.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The worker's entries: the Deno entry, both workerd builds, and the app they share. */
const ENTRIES = [
  "src/worker/deno.ts",
  "src/worker/workerd.ts",
  "src/worker/workerd_ts.ts",
  "src/worker/workerd_handler.ts",
  "src/worker/app.ts",
  "src/middleware/mod.ts",
];

/** A regex the audit knows: where, what it reads, and why it is safe. */
interface Audited {
  file: string;
  pattern: string;
  flags: string;
  /** What the regex is applied to. */
  input: string;
  /** Whether a client can choose that input. */
  requestData: boolean;
  verdict: string;
}

const AUDITED: Audited[] = [
  {
    file: "src/api/upload.ts",
    pattern: String.raw`^\d+$`,
    flags: "",
    input: "the content-length header of a tenant-API upload (POST .../examples, /score, /import)",
    requestData: true,
    verdict:
      "anchored, one quantifier over \\d then $: at most 2n steps; the header is at most 64 KiB on Deno",
  },
  {
    file: "src/api/schemas.ts",
    pattern: String.raw`^\d{1,2}$`,
    flags: "",
    input: "the top query parameter of POST /_taugate/tenants/:tenant/score",
    requestData: true,
    verdict: "anchored, bounded quantifier: at most 3 characters examined, whatever the length",
  },
  {
    file: "src/api/config.ts",
    pattern: String.raw`^[A-Za-z0-9._~+/=-]+$`,
    flags: "",
    input: "TAUGATE_ADMIN_TOKEN (the operator's environment, once at start)",
    requestData: false,
    verdict: "configuration only; anchored, one quantifier: linear anyway",
  },
  {
    file: "src/store/tenant_store.ts",
    pattern: "^[0-9a-f]{64}$",
    flags: "",
    input: "the hash field of a stored token record (written by the API: SHA-256 hex)",
    requestData: false,
    verdict: "stored data; anchored, bounded: constant",
  },
  {
    file: "src/store/head_doc.ts",
    pattern: String.raw`\n`,
    flags: "g",
    input: "zod's error text for a malformed stored head document",
    requestData: false,
    verdict: "stored data; one literal character: linear",
  },
];

/** zod string checks that are regular expressions inside zod (flagged in files that import zod). */
const ZOD_REGEX_FORMATS = new Set([
  "email",
  "url",
  "httpUrl",
  "uuid",
  "guid",
  "cuid",
  "cuid2",
  "ulid",
  "nanoid",
  "emoji",
  "ipv4",
  "ipv6",
  "cidrv4",
  "cidrv6",
  "base64",
  "base64url",
  "e164",
  "jwt",
  "datetime",
  "duration",
  "hostname",
  "hex",
  "lowercase",
  "uppercase",
  "stringFormat",
]);

interface Found {
  file: string;
  line: number;
  pattern: string;
  flags: string;
  kind: "literal" | "RegExp" | "zod format";
}

// deno-lint-ignore no-explicit-any
type Node = any;

/** Regexes and relative imports of one file, from Deno's parser. */
function scan(file: string, source: string): { found: Found[]; imports: string[] } {
  const found: Found[] = [];
  const imports: string[] = [];
  let importsZod = false;
  const lineOf = (offset: number) => source.slice(0, offset).split("\n").length;
  const importOf = (node: Node) => {
    const s = node?.source?.value;
    if (typeof s === "string") {
      if (s === "zod") importsZod = true;
      if (s.startsWith(".")) imports.push(s);
    }
  };
  const plugin: Deno.lint.Plugin = {
    name: "regex-audit",
    rules: {
      scan: {
        create() {
          return {
            ImportDeclaration: importOf,
            ExportNamedDeclaration: importOf,
            ExportAllDeclaration: importOf,
            ImportExpression(node: Node) {
              if (node.source?.type === "Literal") importOf(node);
            },
            Literal(node: Node) {
              if (node.regex) {
                found.push({
                  file,
                  line: lineOf(node.range[0]),
                  pattern: node.regex.pattern,
                  flags: node.regex.flags,
                  kind: "literal",
                });
              }
            },
            "NewExpression, CallExpression"(node: Node) {
              const callee = node.callee;
              if (callee?.type === "Identifier" && callee.name === "RegExp") {
                const arg = node.arguments[0];
                found.push({
                  file,
                  line: lineOf(node.range[0]),
                  pattern: arg?.type === "Literal" ? String(arg.value) : "(computed)",
                  flags: "",
                  kind: "RegExp",
                });
              }
              if (
                node.type === "CallExpression" && callee?.type === "MemberExpression" &&
                callee.property?.type === "Identifier" && ZOD_REGEX_FORMATS.has(callee.property.name)
              ) {
                found.push({
                  file,
                  line: lineOf(node.range[0]),
                  pattern: `(zod .${callee.property.name}())`,
                  flags: "",
                  kind: "zod format",
                });
              }
            },
          };
        },
      },
    },
  };
  Deno.lint.runPlugin(plugin, file.endsWith(".js") ? "x.js" : "x.ts", source);
  return { found: found.filter((f) => f.kind !== "zod format" || importsZod), imports };
}

/** Every source file reachable from the entries by relative imports. */
function reachable(): Map<string, Found[]> {
  const out = new Map<string, Found[]>();
  const todo = ENTRIES.map((e) => join(ROOT, e));
  while (todo.length > 0) {
    const abs = todo.pop()!;
    const rel = relative(ROOT, abs);
    if (out.has(rel) || !/\.(ts|js|mjs)$/.test(abs) || abs.endsWith(".d.ts")) continue;
    const { found, imports } = scan(rel, Deno.readTextFileSync(abs));
    out.set(rel, found);
    for (const i of imports) todo.push(join(dirname(abs), i));
  }
  return out;
}

/**
 * Whether a pattern is in the shape whose backtracking is linear by construction: `^`, then literal
 * characters, escapes and classes, each with an optional quantifier, at most one of them unbounded, then an
 * optional `$`. (No groups, no alternation, no back-references, no lookaround.)
 */
function linearByShape(pattern: string, flags: string): boolean {
  if (flags.includes("m") || !pattern.startsWith("^")) return false;
  let i = 1, unbounded = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i];
    if (c === "$" && i === n - 1) break;
    if ("()|".includes(c)) return false;
    if (c === "\\") {
      if (/[1-9k]/.test(pattern[i + 1] ?? "")) return false; // back-references
      i += 2;
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) return false;
      i = end + 1;
    } else if ("*+?{".includes(c)) {
      return false; // a quantifier with nothing before it
    } else i++;
    const q = pattern[i];
    if (q === "*" || q === "+") unbounded++, i++;
    else if (q === "?") i++;
    else if (q === "{") {
      const end = pattern.indexOf("}", i);
      const body = pattern.slice(i + 1, end);
      if (end < 0 || !/^\d+(,\d*)?$/.test(body)) return false;
      if (body.endsWith(",")) unbounded++;
      i = end + 1;
    }
    if (pattern[i] === "?" && i < n) i++; // lazy
  }
  return unbounded <= 1;
}

Deno.test("regex audit: every regex the worker's code can run is audited; those on request data are linear by shape", () => {
  const graph = reachable();
  assert.ok(
    graph.has("src/features/extract.ts") && graph.has("src/api/api.ts"),
    "the walk reached the hot path",
  );
  const all = [...graph.values()].flat();
  const key = (f: { file: string; pattern: string; flags: string }) => `${f.file} /${f.pattern}/${f.flags}`;
  const audited = new Set(AUDITED.map(key));
  const unaudited = all.filter((f) => !audited.has(key(f)));
  assert.deepEqual(
    unaudited.map((f) => `${f.file}:${f.line} ${f.kind} /${f.pattern}/${f.flags}`),
    [],
    "audit these (what they read, why they are linear) in test/hostile/regex_audit.test.ts",
  );
  const gone = AUDITED.filter((a) => !all.some((f) => key(f) === key(a)));
  assert.deepEqual(gone.map(key), [], "audited regexes that no longer exist: drop them from the list");
  for (const a of AUDITED.filter((a) => a.requestData)) {
    assert.ok(linearByShape(a.pattern, a.flags), `${key(a)} reads request data and is not linear by shape`);
  }
  // The hot path proper (features, middleware, model, heads, stores, worker) holds none at all.
  const hot = all.filter((f) => /^src\/(features|middleware|model|heads|worker)\//.test(f.file));
  assert.deepEqual(hot.map(key), []);
});

Deno.test("regex audit: the shape check tells linear patterns from backtracking ones", () => {
  for (const p of [String.raw`^\d+$`, String.raw`^\d{1,2}$`, "^[a-z0-9-]+$", "^ab*c?$", "^x"]) {
    assert.ok(linearByShape(p, ""), p);
  }
  for (
    const p of [
      String.raw`\d+$`, // unanchored: every start position
      String.raw`^\d+\d+$`, // two unbounded quantifiers that overlap
      "^(a+)+$",
      "^(a|aa)*$",
      String.raw`^(\w)\1$`,
      String.raw`[\t\n\r ]+$`, // the classic trailing-whitespace trim
      "^a{2,}b*$",
    ]
  ) {
    assert.ok(!linearByShape(p, ""), p);
  }
  assert.ok(!linearByShape(String.raw`^\d+$`, "m"));
});

Deno.test("regex audit: the request-data regexes on their worst-case inputs, 1 MB, through the real code", async () => {
  // ^\d+$ on a content-length of a million digits and a final non-digit: one pass and one failure.
  const digits = "9".repeat(1_000_000);
  const req = (cl: string) =>
    new Request("http://x/", { method: "POST", headers: { "content-length": cl }, body: "[]" });
  assert.equal(await readBodyText(req(digits + "x")), "[]", "not a number: not refused on its length");
  await assert.rejects(() => readBodyText(req(digits)), /upload_too_large|over the/);
  // ^\d{1,2}$ on a top= of a million digits: refused after three characters.
  const q = parseQuery(`http://x/?top=${digits}`, scoreQuerySchema);
  assert.equal(q.ok, false);
  assert.equal(parseQuery("http://x/?top=12", scoreQuerySchema).ok, true);
});

// ---- what actually runs: every regex executed while the worker answers hostile requests ---------------------
//
// The walk above sees taugate's own source. Its dependencies run regexes on request data too: Hono's router
// matches every request path with a regex compiled from the routes, and Hono decodes paths and route
// parameters with a few more; zod checks the tenant API's uploads. So the worker answers a corpus of hostile
// requests (hot path, every API route, the console) with `RegExp.prototype.exec` observed (`test`, `match`,
// `replace`, `search` and `split` all call it once it is replaced), and every regex seen must be audited here
// or be a router matcher of the linear shape Hono writes. Deno's own runtime code (Headers, URL, fetch)
// calls the original `exec` it captured at start-up and is not observed: it is not taugate's to audit.

/** A regex of a dependency that runs while the worker answers. */
interface ThirdParty {
  where: string;
  pattern: string;
  flags: string;
  input: string;
  requestData: boolean;
  verdict: string;
}

const THIRD_PARTY: ThirdParty[] = [
  {
    where: "hono dist/utils/url.js tryDecode",
    pattern: String.raw`(?:%[0-9A-Fa-f]{2})+`,
    flags: "g",
    input: "a request path (and an API route parameter) that decodeURI / decodeURIComponent refused",
    requestData: true,
    verdict:
      "a run of fixed 3-character units, nothing else quantified; a failed attempt stops within 3 characters " +
      "and a match resumes after itself: linear",
  },
  {
    where: "hono dist/utils/url.js getPath",
    pattern: String.raw`%(?![0-9A-Fa-f]{2})`,
    flags: "",
    input: "a request path that holds '%'",
    requestData: true,
    verdict: "a literal and a 2-character lookahead at each position: linear",
  },
  {
    where: "hono dist/utils/url.js getPath",
    pattern: String.raw`%(?![0-9A-Fa-f]{2})`,
    flags: "g",
    input:
      "a request path with a '%' not followed by two hex digits whose decoded form does not round-trip " +
      "through URL (dot segments): not reached behind canonicalRequest, whose paths have none; run directly below",
    requestData: true,
    verdict: "a literal and a 2-character lookahead at each position: linear",
  },
  {
    where: "hono dist/utils/url.js decodeURIWithPreservedPercent",
    pattern: "%25",
    flags: "g",
    input: "a request path that holds '%25'",
    requestData: true,
    verdict: "a literal: linear",
  },
  {
    where: "hono dist/utils/url.js getPath",
    pattern: String.raw`[\\\t\n\r]`,
    flags: "g",
    input: "the decoded request path, when it holds a '%' not followed by two hex digits",
    requestData: true,
    verdict: "one class, one character per position: linear",
  },
  {
    where: "zod v4/core/util.js codePointLength",
    pattern: String.raw`[\uD800-\uDBFF]`,
    flags: "",
    input: "a string field of an upload that a length check reads (URL, header values, body)",
    requestData: true,
    verdict: "one class, one character per position: linear",
  },
  {
    where: "zod v4/core/regexes.js number (z.record's numeric-key retry)",
    pattern: String.raw`^-?\d+(?:\.\d+)?$`,
    flags: "",
    input: "a key of an upload's object that failed its record's key schema (a header name)",
    requestData: true,
    verdict: "anchored; the two digit runs are split by a literal '.', so no two quantifiers compete for a " +
      "character: at most 2n steps",
  },
  {
    where: "hono dist/utils/html.js escape",
    pattern: `[&<>'"]`,
    flags: "",
    input: "the console page's own constants (rendered once)",
    requestData: false,
    verdict: "not request data; one class: linear anyway",
  },
  {
    where: "zod v4/core/util.js sizeCaps",
    pattern: "_(length|size)$|_equals$",
    flags: "",
    input: "the names of zod's own checks",
    requestData: false,
    verdict: "not request data",
  },
  ...[
    [String.raw`\*|\/:`, ""],
    [String.raw`\{(?:\{[\d,]+\}|[^}])+\}`, "g"],
    [String.raw`(?::[^\/]+)|(?:\/\*$)|.`, "gs"],
    [String.raw`#(\d+)|@(\d+)|\.\*\$`, "g"],
    [String.raw`^\:([^\{\}]+)(?:\{(.+)\})?$`, ""],
  ].map(([pattern, flags]) => ({
    where: "hono dist/router/reg-exp-router, dist/utils/url.js: building the router",
    pattern,
    flags,
    input: "the app's route patterns, once, on the first request",
    requestData: false,
    verdict: "not request data",
  })),
];

/**
 * Whether a regex is a matcher Hono's RegExpRouter compiled from routes (its `$()` end markers) in the shape
 * that cannot backtrack more than linearly: `^`, literal path characters, `(?:` `|` `)` with no quantifier
 * on any group, and only two quantified atoms: a parameter `([^/]+)` always followed by `\/` or an end
 * `$()` (a character it cannot match, or the end), and a wildcard `[^]*` always followed (after closing
 * groups) by `$()`. Each
 * branch then costs O(n), so a match costs O(routes × n).
 */
function linearRouterMatcher(pattern: string): boolean {
  if (!pattern.startsWith("^") || !pattern.includes("$()")) return false;
  let i = 1;
  const next = (s: string) => pattern.startsWith(s, i);
  while (i < pattern.length) {
    if (next("([^/]+)")) {
      i += 7;
      if (!next(String.raw`\/`) && !next("$()")) return false;
    } else if (next("[^]*")) {
      i += 4;
      while (pattern[i] === ")" && !"*+?{".includes(pattern[i + 1] ?? " ")) i++;
      if (!next("$()")) return false;
    } else if (next("$()")) i += 3;
    else if (next("(?:")) i += 3;
    else if (pattern[i] === "|") i++;
    else if (pattern[i] === ")") {
      i++;
      if ("*+?{".includes(pattern[i] ?? " ")) return false;
    } else if (pattern[i] === "\\" && /[\/.\-_~]/.test(pattern[i + 1] ?? "")) i += 2;
    else if (/[A-Za-z0-9_~-]/.test(pattern[i])) i++;
    else return false;
  }
  return true;
}

Deno.test("regex audit: the router-matcher shape check accepts Hono's linear matchers only", () => {
  for (
    const p of [
      "^[^]*$()",
      String.raw`^\/_taugate\/tenants(?:\/([^/]+)\/head$()|(?:|\/[^]*)$())`,
      String.raw`^\/a(?:\/([^/]+)\/(?:b$()|c\/([^/]+)$())|(?:|\/[^]*)$())`,
    ]
  ) assert.ok(linearRouterMatcher(p), p);
  for (
    const p of [
      String.raw`^\/a\/([^/]+)([^/]+)$()`, // two parameters competing for the same characters
      String.raw`^\/a(?:\/([^/]+))+$()`, // a quantified group
      String.raw`^\/a\/(.+)$()`, // a custom parameter pattern
      String.raw`^\/a\/([^/]+)x$()`, // a parameter followed by a character it can match
      String.raw`^\/a\/[^]*\/b$()`, // a wildcard that must give characters back
      String.raw`^\/a$`, // not a router matcher
    ]
  ) assert.ok(!linearRouterMatcher(p), p);
});

/** Runs `f` with every `RegExp.prototype.exec` call recorded: pattern and flags → the longest input seen. */
async function observingRegexes(f: () => Promise<void>): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const exec = RegExp.prototype.exec;
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    const key = `/${this.source}/${this.flags}`;
    seen.set(key, Math.max(seen.get(key) ?? 0, String(s).length));
    return exec.call(this, s);
  };
  try {
    await f();
  } finally {
    RegExp.prototype.exec = exec;
  }
  return seen;
}

Deno.test("regex audit: every regex that runs while the worker answers hostile requests is audited, and the request-data ones got 16 KB worst cases", async () => {
  const { createWorkerApp } = await import("../../src/worker/app.ts");
  const { workerConfigFromEnv } = await import("../../src/worker/config.ts");
  const { apiConfigFromEnv } = await import("../../src/api/config.ts");
  const { MemoryTenantStore } = await import("../../src/store/mod.ts");
  const { createTsEngine } = await import("../../src/model/mod.ts");
  const { apiModelBytes, benignRecord } = await import("../api/_model.ts");
  const ADMIN = "operator-token-0123456789abcdef0123456789";
  const env = { TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_MODE: "tag", TAUGATE_LOG_SAMPLE: "1" };
  const app = createWorkerApp({
    config: workerConfigFromEnv(env),
    engine: createTsEngine(apiModelBytes()),
    api: { config: apiConfigFromEnv(env)!, store: new MemoryTenantStore() },
    logSink: () => {},
  });
  const N = 16_000;
  const host = "http://shop.test";
  const auth = { authorization: `Bearer ${ADMIN}` };
  const jsonl = (recs: unknown[]) => recs.map((r) => JSON.stringify(r)).join("\n");
  const rec = { ...benignRecord(1), label: 0 };
  // [path, init, the statuses it may get]
  const corpus: [string, RequestInit, number[]][] = [
    // The hot path: paths and queries with every kind of escape, then bodies of every type.
    ["/a/b?c=d&e=%ZZ&f=%C3%28+1", {}, [200]],
    ["/" + "%".repeat(N), {}, [200]],
    ["/" + "%C3%28%4".repeat(N / 8), {}, [200]],
    ["/" + "%41".repeat(N / 3), {}, [200]],
    ["/" + "%25".repeat(N / 3), {}, [200]],
    ["/" + "%5C%".repeat(N / 4), {}, [200]],
    ["/x%0A%09%5C%" + "%5C".repeat(N / 3), {}, [200]],
    ["/" + "a/".repeat(N / 2), {}, [200]],
    ["/p?" + "a=%ZZ&".repeat(N / 6), {}, [200]],
    ["/p", { method: "POST", headers: { "content-type": "application/json" }, body: "[".repeat(N) }, [200]],
    ["/p", {
      method: "POST",
      headers: {
        "content-type": "multipart/form-data; boundary=b",
        cookie: "a=%ZZ; " + "b=1; ".repeat(N / 5),
      },
      body: '--b\r\nContent-Disposition: form-data; name="a"; filename="x.php"\r\n\r\n<?php\r\n--b--',
    }, [200]],
    ["/p", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "\\x".repeat(N / 2) },
      body: "a=%ZZ&".repeat(N / 6),
    }, [200]],
    // The tenant API's routes and their parameters, good and bad.
    ["/_taugate/tenants/" + "a".repeat(N) + "/head", { headers: auth }, [400]],
    ["/_taugate/tenants/" + "%C3%28".repeat(N / 6) + "/head", { headers: auth }, [400]],
    ["/_taugate/tenants/" + "a/".repeat(N / 2) + "headx", { headers: auth }, [404]],
    ["/_taugate/tenants/" + "a".repeat(N) + "/score", { method: "POST", headers: auth }, [400]],
    ["/_taugate/tenants/" + "a/".repeat(N / 2) + "score", { method: "POST", headers: auth }, [404]],
    ["/_taugate/tenants/shop.test/tokens/" + "b".repeat(N), { method: "DELETE", headers: auth }, [400, 404]],
    ["/_taugate/tenants/" + "a/".repeat(N / 2) + "head", { method: "DELETE", headers: auth }, [404]],
    ["/_taugate/tenants/shop.test/tokens/" + "%C3%28".repeat(N / 6), { method: "DELETE", headers: auth }, [
      400,
      404,
    ]],
    ["/_taugate/tenants/shop.test/head", { headers: auth }, [404]],
    ["/_taugate/tenants/shop.test/tokens", { method: "POST", headers: auth }, [201]],
    ["/_taugate/tenants/shop.test/examples", {
      method: "POST",
      headers: { ...auth, "content-type": "application/x-ndjson" },
      body: jsonl([rec, { ...benignRecord(2), label: 0 }]),
    }, [201, 422]],
    ["/_taugate/tenants/shop.test/score?top=3&explain=1", {
      method: "POST",
      headers: { ...auth, "content-type": "application/x-ndjson" },
      body: jsonl([
        rec,
        // A long URL, header value and body: every string field an upload's schema reads.
        {
          method: "GET",
          url: "/" + "a".repeat(8000),
          headers: { "user-agent": "b".repeat(N) },
          body: "c".repeat(N),
        },
      ]),
    }, [200]],
    ["/_taugate/tenants/shop.test/examples", {
      method: "POST",
      headers: { ...auth, "content-type": "application/x-ndjson" },
      // A header name of 16,000 digits and one more character: refused by the record's key schema.
      body: jsonl([{ ...rec, headers: { ["9".repeat(N) + "x"]: "v", ["9".repeat(N)]: "v" } }]),
    }, [422]],
    ["/_taugate/tenants/shop.test/import?format=har", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        log: { entries: [{ request: { method: "GET", url: "http://a/" + "%".repeat(N) } }] },
      }),
    }, [200, 422]],
    ["/_taugate/tenants/shop.test/import", {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain" },
      body: '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /' + "%".repeat(N) + ' HTTP/1.0" 200 2326',
    }, [200, 422]],
    ["/_taugate/tenants/shop.test/import?format=raw", {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain" },
      body: `POST /${"%".repeat(N)} HTTP/1.1\r\nHost: shop.test\r\nX: ${"\\".repeat(N)}\r\n\r\na=1`,
    }, [200, 422]],
    ["/_taugate/openapi.json", {}, [200]],
    ["/_taugate/console", {}, [200]],
  ];
  const { getPath } = await import("hono/utils/url");
  const seen = await observingRegexes(async () => {
    for (const [path, init, statuses] of corpus) {
      const res = await app.fetch(new Request(host + path, init));
      assert.ok(
        statuses.includes(res.status),
        `${path.slice(0, 60)}: ${res.status} ${await res.clone().text()}`,
      );
      await res.body?.cancel();
    }
    // Hono's branch for a path whose decoded form does not round-trip (a dot segment): a URL as a server
    // could hand it over, before canonicalRequest (a `Request` cannot hold it).
    const raw = { url: `${host}/a/%2e%2e/${"%".repeat(N)}` } as Request;
    assert.equal(getPath(raw), "/a/../" + "%25".repeat(N));
  });
  const key = (a: { pattern: string; flags: string }) => `/${a.pattern}/${a.flags}`;
  const known = new Map<string, { requestData: boolean }>();
  for (const a of AUDITED) known.set(key(a), a);
  for (const t of THIRD_PARTY) known.set(key(t), t);
  const unaudited = [...seen.keys()].filter((k) => {
    if (known.has(k)) return false;
    const m = /^\/(.*)\/([a-z]*)$/s.exec(k)!;
    return !(m[2] === "" && linearRouterMatcher(m[1]));
  });
  assert.deepEqual(
    unaudited,
    [],
    "regexes that ran and are not audited: add them to THIRD_PARTY (or AUDITED)",
  );
  // The router matchers ran on the long paths.
  const matchers = [...seen].filter(([k]) => !known.has(k));
  assert.ok(
    matchers.length >= 2,
    `the worker's and the API's router matchers ran: ${matchers.map(([k]) => k)}`,
  );
  for (const [k, n] of matchers) assert.ok(n >= N, `${k} ran on at most ${n} characters`);
  // Every request-data regex of the dependencies ran, on an input of at least N characters.
  for (const t of THIRD_PARTY.filter((t) => t.requestData)) {
    assert.ok(
      (seen.get(key(t)) ?? 0) >= N,
      `${t.where} ${key(t)}: longest input ${seen.get(key(t)) ?? "none"}`,
    );
  }
  // None of taugate's own hot-path code ran one (the static walk says the same).
  for (const a of AUDITED.filter((a) => !a.requestData && a.file.startsWith("src/features/"))) {
    assert.ok(!seen.has(key(a)), key(a));
  }
});
