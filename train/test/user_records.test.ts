// `deno task train --records FILE[:LABEL]`: a user's own labelled records (JSONL, HAR, raw HTTP, access logs,
// through the importers) read strictly, grouped into tenants, and made into meta-training tenants (their benign
// records as given, their attacks plus attacks implanted into their own requests).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { RequestRecord } from "@taugate/record/record.ts";
import type { Pools } from "../src/data/pools.ts";
import {
  loadUserRecords,
  parseRecordsArg,
  RecordsError,
  reqOfRecord,
  USER_MIN_BENIGN,
  userRecordsAccount,
  userTenants,
  userTrainTenants,
} from "../src/data/user_records.ts";
import { toRecord } from "../src/synth/request.ts";
import { DEFAULT_WORLD, trainAnomalyFamilies } from "../src/synth/world.ts";

const FIXTURES = new URL("../../test/fixtures/importers/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "taugate-records-"));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const jsonl = (rs: object[]) => rs.map((r) => JSON.stringify(r)).join("\n") + "\n";

/** Benign records of a small shop, with query strings, forms and JSON bodies. */
function shop(n: number, tenant?: string): RequestRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r: RequestRecord = i % 3 === 0
      ? {
        method: "GET",
        url: `/shop/item/${i}?colour=red&page=${i % 4}`,
        headers: { "user-agent": "Mozilla/5.0" },
      }
      : i % 3 === 1
      ? {
        method: "POST",
        url: "/account/login",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: `sid=s${i}` },
        body: `user=u${i}&remember=1`,
      }
      : {
        method: "POST",
        url: "/api/cart",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ item: `sku-${i}`, qty: i % 5 }),
      };
    r.label = 0;
    if (tenant) r.tenant = tenant;
    return r;
  });
}

const attack = (i: number): RequestRecord => ({
  method: "GET",
  url: `/shop/item/1?colour=${encodeURIComponent(`red' OR 1=1-- ${i}`)}`,
  label: 1,
  family: "sqli",
});

/** Error thrown by `fn`, which must be a RecordsError. */
function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RecordsError, `a RecordsError, not ${e}`);
    return e.message;
  }
  assert.fail("not refused");
}

test("--records FILE[:LABEL]: a trailing :0, :1, :benign or :attack is the label", () => {
  assert.deepEqual(parseRecordsArg("access.log:0"), { path: "access.log", label: 0 });
  assert.deepEqual(parseRecordsArg("dir/a.har:attack"), { path: "dir/a.har", label: 1 });
  assert.deepEqual(parseRecordsArg("x.jsonl:BENIGN"), { path: "x.jsonl", label: 0 });
  assert.deepEqual(parseRecordsArg("x.jsonl"), { path: "x.jsonl" });
  assert.deepEqual(parseRecordsArg("C:\\logs\\a.log:1"), { path: "C:\\logs\\a.log", label: 1 });
  assert.deepEqual(parseRecordsArg("odd:2"), { path: "odd:2" });
  assert.match(refused(() => parseRecordsArg(":1")), /no file before the label/);
});

test("a small JSONL file: labelled records, defaults for family and tenant, its SHA-256", () => {
  const text = jsonl([...shop(3), attack(0)]);
  const path = file("small.jsonl", text);
  const [s] = loadUserRecords([parseRecordsArg(path)]);
  assert.equal(s.path, path);
  assert.equal(s.format, "jsonl");
  assert.equal(s.records.length, 4);
  assert.deepEqual(s.records.map((r) => r.label), [0, 0, 0, 1]);
  assert.deepEqual(s.records.map((r) => r.family), ["benign", "benign", "benign", "sqli"]);
  assert.ok(s.records.every((r) => r.tenant === "user"));
  assert.equal(s.records[2].body, shop(3)[2].body);
  assert.equal(s.sha256, createHash("sha256").update(text).digest("hex"));
  assert.deepEqual(userRecordsAccount([s]), [
    { file: "small.jsonl", format: "jsonl", benign: 3, attacks: 1, sha256: s.sha256 },
  ]);
});

test("the label on the command line labels the records that carry none, and only those", () => {
  const unlabelled = shop(2).map(({ label: _, ...r }) => r);
  const path = file("mixed.jsonl", jsonl([...unlabelled, attack(1)]));
  const [s] = loadUserRecords([parseRecordsArg(`${path}:benign`)]);
  assert.deepEqual(s.records.map((r) => r.label), [0, 0, 1]);
  // Without it, the first unlabelled record is refused with its line (blank lines counted).
  const gap = file("gap.jsonl", jsonl([shop(1)[0]]) + "\n" + jsonl([unlabelled[0]]));
  const message = refused(() => loadUserRecords([parseRecordsArg(gap)]));
  assert.ok(message.startsWith(`${gap}:3: record has no "label"`), message);
  assert.ok(message.includes(`--records ${gap}:0`), message);
});

test("a HAR fixture (label from the command line; refused without one)", () => {
  const har = join(FIXTURES, "chrome.har");
  const [s] = loadUserRecords([parseRecordsArg(`${har}:0`)]);
  assert.equal(s.format, "har");
  assert.ok(s.records.length >= 1);
  assert.ok(s.records.every((r) => r.label === 0 && r.family === "benign"));
  assert.ok(s.records.every((r) => r.url.startsWith("https://")));
  const message = refused(() => loadUserRecords([{ path: har }]));
  assert.ok(message.startsWith(`${har}: a HAR archive carries no labels`), message);
  assert.ok(message.includes(`${har}:0`));
});

test("an access log with a label, and a raw HTTP dump", () => {
  const [log] = loadUserRecords([parseRecordsArg(join(FIXTURES, "apache.log:1"))]);
  assert.equal(log.format, "clf");
  assert.equal(log.records.length, 3);
  assert.ok(log.records.every((r) => r.label === 1 && r.family === "user"));
  assert.equal(log.records[0].url, "/apache_pb.gif");
  assert.equal(log.records[0].headers?.["user-agent"], "Mozilla/4.08 [en] (Win98; I ;Nav)");
  const [raw] = loadUserRecords([parseRecordsArg(join(FIXTURES, "burp.txt:attack"))]);
  assert.equal(raw.format, "raw");
  assert.ok(raw.records.length >= 1 && raw.records.every((r) => r.label === 1));
  const message = refused(() => loadUserRecords([parseRecordsArg(join(FIXTURES, "apache.log"))]));
  assert.match(message, /apache\.log: an access log carries no labels/);
});

test("a malformed file is refused whole, naming the file and the line", () => {
  // An access log with a TLS handshake logged as its third line.
  const nginx = join(FIXTURES, "nginx.log");
  assert.match(
    refused(() => loadUserRecords([{ path: nginx, label: 0 }])),
    /nginx\.log:3: request .* is not METHOD/,
  );
  const bad = file("bad.jsonl", jsonl(shop(1)) + "{not json\n" + jsonl(shop(1)));
  assert.match(refused(() => loadUserRecords([{ path: bad }])), /bad\.jsonl:2: invalid JSON/);
  const invalid = file(
    "invalid.jsonl",
    jsonl(shop(2)) + JSON.stringify({ method: "GET", url: 7, label: 0 }) + "\n",
  );
  assert.match(refused(() => loadUserRecords([{ path: invalid }])), /invalid\.jsonl:3: .*url/);
  const several = file("several.jsonl", "x\ny\nz\n");
  assert.match(
    refused(() => loadUserRecords([{ path: several }])),
    /several\.jsonl:1: not a format the importers read/,
  );
  const broken = file("broken.jsonl", jsonl(shop(1)) + "{\n[\n");
  assert.match(
    refused(() => loadUserRecords([{ path: broken }])),
    /broken\.jsonl:2: .*the first of 2 entries/,
  );
  const har = file("broken.har", '{"log": {"entries": [{"request": {"method": "GET"}}]}}');
  assert.match(
    refused(() => loadUserRecords([{ path: har, label: 0 }])),
    /broken\.har: entry 1: request\.url/,
  );
  assert.match(
    refused(() => loadUserRecords([{ path: file("empty.jsonl", "\n \n") }])),
    /empty\.jsonl: empty/,
  );
  assert.match(
    refused(() => loadUserRecords([{ path: join(dir, "none.log"), label: 0 }])),
    /none\.log: no such file/,
  );
});

test("a folder means every file in it, sorted, dot files left out", () => {
  const folder = join(dir, "folder");
  mkdirSync(join(folder, "sub"), { recursive: true });
  writeFileSync(join(folder, "b.jsonl"), jsonl(shop(2)));
  writeFileSync(join(folder, "sub", "a.log"), readFileSync(join(FIXTURES, "apache.log")));
  writeFileSync(join(folder, ".notes"), "not records");
  const sources = loadUserRecords([parseRecordsArg(`${folder}:0`)]);
  assert.deepEqual(sources.map((s) => s.path), [join(folder, "b.jsonl"), join(folder, "sub", "a.log")]);
  assert.deepEqual(sources.map((s) => s.format), ["jsonl", "clf"]);
});

test("tenants: grouped by the records' tenant field; each needs enough benign records", () => {
  const a = file("a.jsonl", jsonl([...shop(USER_MIN_BENIGN), attack(2)]));
  const b = file("b.jsonl", jsonl([...shop(USER_MIN_BENIGN + 5, "blog"), ...shop(3)]));
  const tenants = userTenants(loadUserRecords([{ path: a }, { path: b }]));
  assert.deepEqual(
    tenants.map((t) => [t.id, t.benign.length, t.attacks.length, t.files]),
    [["user", USER_MIN_BENIGN + 3, 1, [a, b]], ["blog", USER_MIN_BENIGN + 5, 0, [b]]],
  );
  const few = file("few.jsonl", jsonl([...shop(USER_MIN_BENIGN - 1), attack(3)]));
  const message = refused(() => userTenants(loadUserRecords([{ path: few }])));
  assert.match(message, new RegExp(`tenant "user" .*few\\.jsonl.*: ${USER_MIN_BENIGN - 1} benign records`));
});

test("a recorded request becomes a request an attack can be implanted into, unchanged when sent", () => {
  for (const r of shop(3)) {
    const back = toRecord(reqOfRecord(r), 0, "benign", "user");
    assert.equal(back.method, r.method);
    assert.equal(back.url, r.url);
    assert.equal(back.body, r.body);
    assert.deepEqual(back.headers, r.headers);
  }
});

test("training tenants: the user's benign records as given, their attacks plus implanted ones, seeded", () => {
  const pools: Pools = {
    values: ["' or 1=1--", "<script>alert(1)</script>", "../../etc/passwd", "; cat /etc/passwd"].flatMap((
      text,
      i,
    ) =>
      Array.from({ length: 50 }, (_, k) => ({
        text: `${text}${k}`,
        family: ["sqli", "xss", "traversal", "cmdi"][i],
        origin: "test",
        split: "train" as const,
      }))
    ),
    targets: [],
    stats: { values: {}, targets: {}, dropped: {} },
  };
  const world = { ...DEFAULT_WORLD, trainBenign: 60, trainAttacks: 40 };
  const path = file("train.jsonl", jsonl([...shop(80), ...Array.from({ length: 30 }, (_, i) => attack(i))]));
  const sources = loadUserRecords([{ path }]);
  const [t] = userTrainTenants(sources, pools, 5, world);
  assert.equal(t.tenant.id, "user-user");
  assert.equal(t.benign.length, 60, "at most trainBenign, sampled");
  assert.ok(t.benign.every((r) => sources[0].records.includes(r)), "benign records as given");
  assert.equal(t.attacks.length, 40);
  const own = t.attacks.filter((r) => sources[0].records.includes(r));
  assert.equal(own.length, 20, "the user's own attacks make at most half");
  const implanted = t.attacks.filter((r) => !sources[0].records.includes(r));
  assert.ok(
    implanted.every((r) =>
      r.label === 1 &&
      ["sqli", "xss", "traversal", "cmdi", ...trainAnomalyFamilies(DEFAULT_WORLD)].includes(r.family!)
    ),
  );
  assert.ok(implanted.some((r) => r.url.startsWith("/api/cart") || r.url.startsWith("/account/login")));
  // Deterministic for a seed; nothing at all without sources.
  assert.deepEqual(userTrainTenants(sources, pools, 5, world), [t]);
  assert.deepEqual(userTrainTenants([], pools, 5, world), []);
});
