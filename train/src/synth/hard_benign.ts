/**
 * Hard benign parameter values: text that looks suspicious to a naive scorer (SQL, shell and HTML words,
 * code, quotes, brackets, encodings, paths, non-English scripts) but is what real users and clients send.
 * Benign requests carry them so a model learns these surfaces are not attacks. Values come back decoded;
 * the caller percent-encodes them as a client would (see {@link latin1PercentEncode} for legacy forms).
 *
 * @module
 */
import * as F from "@faker-js/faker";
import type { Rng } from "../util/rng.ts";
import { base64 as b64 } from "./encode.ts";

/** A generated value and the kind it was drawn from. */
export interface HardBenignValue {
  kind: string;
  value: string;
}

// Per locale: faker definitions, Intl tag and local currency.
const LOCALES = {
  en: [F.en, "en-US", "USD"],
  de: [F.de, "de-DE", "EUR"],
  fr: [F.fr, "fr-FR", "EUR"],
  es: [F.es, "es-ES", "EUR"],
  pt: [F.pt_BR, "pt-BR", "BRL"],
  ru: [F.ru, "ru-RU", "RUB"],
  ja: [F.ja, "ja-JP", "JPY"],
  tr: [F.tr, "tr-TR", "TRY"],
  ko: [F.ko, "ko-KR", "KRW"],
  zh: [F.zh_CN, "zh-CN", "CNY"],
} as const;
type Loc = keyof typeof LOCALES;
const LOCS = Object.keys(LOCALES) as Loc[];
const LATIN_LOCS: readonly Loc[] = ["de", "fr", "es", "pt"];
// A fixed reference date keeps faker's date helpers independent of the wall clock.
const REF_DATE = new Date("2024-06-01T00:00:00Z");
// Built once (locale merging is costly); every use re-seeds, so output depends only on the Rng.
const FAKERS = {} as Record<Loc, F.Faker>;
for (const l of LOCS) {
  const f = new F.Faker({ locale: [LOCALES[l][0], F.en, F.base] });
  f.setDefaultRefDate(REF_DATE);
  FAKERS[l] = f;
}

/** A faker for `loc` (random when omitted), freshly seeded from `rng`. */
function fk(rng: Rng, loc: Loc = rng.pick(LOCS)): F.Faker {
  const f = FAKERS[loc];
  f.seed(rng.int(2 ** 31));
  return f;
}

/** Items of a text block, one per line and `sep`-separated within a line (keeps lists compact). */
function list(s: string, sep = "|"): string[] {
  const items = s.split("\n").flatMap((l) => l.split(sep));
  return items.map((x) => x.trim()).filter(Boolean);
}

type Slots = Record<string, () => string | number>;

/** Fills `{slot}` placeholders, drawing a fresh value for each occurrence. */
function fill(tpl: string, slots: Slots): string {
  return tpl.replace(/\{(\w+)\}/g, (m, k: string) => {
    return k in slots ? String(slots[k]()).replace(/'/g, "") : m;
  });
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

const DBS = list("postgres|MySQL|sqlite|SQL Server|Oracle|MariaDB");
const TABLES = list("users|orders|products|customers|invoices|events");
const COLUMNS = list("id|name|email|created_at|price|status|country");
const SIZES = list("XS|S|M|L|XL|XXL|38|42|10.5|EU 44");
const CARS = list("lexus ls 460|ls 300 lexus|bmw 330i|audi a4 avant");

const FIELDS = list("Price|Name|OrderDate|Rating");
const DIRS = list("reports|invoices|photos|docs|uploads|assets/img|src/lib");
const EXTS = list("pdf|docx|xlsx|png|jpg|csv|txt|pptx|zip|mp4");
const WIN_DIRS = list("Documents|Desktop|Downloads|Pictures");

/** Fillers for the `{slot}`s of all templates; quotes are stripped from values so literals stay closed. */
function slotsFor(f: F.Faker, rng: Rng): Slots {
  return {
    n: () => rng.range(1, 999),
    q: () => rng.range(1, 5),
    sec: () => String(rng.int(60)).padStart(2, "0"),
    year: () => rng.range(2015, 2025),
    born: () => rng.range(1950, 2005),
    date: () => f.date.past({ years: 3 }).toISOString().slice(0, 10),
    price: () => f.commerce.price({ max: 40 }),
    top: () => rng.pick([5, 10, 20, 50]),
    ord: () => rng.pick(["asc", "desc"]),
    st: () => rng.pick(["OPEN", "PAID", "SHIPPED"]),
    w: () => f.word.noun(),
    p: () => f.commerce.productName(),
    pre: () => f.company.name().slice(0, rng.range(2, 6)),
    city: () => f.location.city(),
    company: () => f.company.name(),
    first: () => f.person.firstName(),
    last: () => f.person.lastName(),
    user: () => f.internet.username().toLowerCase(),
    word: () => f.internet.domainWord(),
    file: () => `${f.word.noun()}.${rng.pick(EXTS)}`,
    ext: () => rng.pick(EXTS),
    dir: () => rng.pick(DIRS),
    win: () => rng.pick(WIN_DIRS),
    field: () => rng.pick(FIELDS),
    size: () => rng.pick(SIZES),
    car: () => rng.pick(CARS),
    col: () => rng.pick(COLUMNS),
    tbl: () => rng.pick(TABLES),
    db: () => rng.pick(DBS),
  };
}

// Search boxes, reviews and dev-forum questions that use SQL/shell/HTML words harmlessly.
const SQL_WORDS = list(String.raw`
  union was a great select | the union was a great select for {city} | {car} for sale near {city}
  curl and divergence of a vector field | curl vs divergence explained with {n} examples
  drop me a line if the {p} is back | select your size: {size} | Select your size ({size} fits like {size})
  or 1 of 2 options | pick {n} or {n} of the {w} options | script for the school play about {w}
  script for the school play | <3 love it | <3 love this {p} | I'd rather "insert" a coin | Order by date
  order by {col} not working on my report | table for two at {company} | table for {n} in {city} tonight
  alert me when back in stock | alert me when the {p} is back in stock | and/or | {w} and/or {w}
  C:\Users is not a path here, it's the folder name in my manual
  how do I write select * from {tbl} where id = {n} in {db}? | how to join {tbl} and {tbl} on {col} in {db}
  {db}: insert into {tbl} returns duplicate key error | difference between union and union all in {db}
  best way to drop a column from a large table in {db}? | is select count(*) slow on {tbl} with {n}M rows?
  group by {col} and order by count desc in {db} | curl -X POST with a json body returns 415
  ls -la shows permission denied in my home folder | grep for {w} in all .log files
  what does the <br> tag do | difference between <div> and <span> | exec summary for {company}
  exec chair with lumbar support | null and void clause in my {city} lease | the cat sat on the {w} mat
  RM{n}.90 only at {company} | sleep mode not working on my {p} | wget alternative for windows
  case closed, thanks {first}! | {n} or more guests | drop-off at {city} station
  insert tab A into slot B, the {p} manual is confusing | where & when is the {w} meetup?
  delete my account please | update: the {p} arrived in {n} days, great seller
  Great {p}! I'd select it again over the {p}. | where is the nearest {company} store, open on sunday?
  true or false: {w} is a {w} | echo chamber podcast episode {n} | char siu recipe with {w} sauce
  cast iron skillet {size} inch | {first} said "select all" then hit delete, now everything is gone
`);

/** Natural text mentioning SQL, shell and HTML words without being an attack. */
function sqlWords(rng: Rng): string {
  const f = fk(rng, rng.chance(0.7) ? "en" : rng.pick(LOCS));
  const s = fill(rng.pick(SQL_WORDS), slotsFor(f, rng));
  const r = rng.next();
  if (r < 0.15) return s.toLowerCase();
  return r < 0.25 ? `${s} ${f.lorem.sentence()}` : s;
}

/** Person, place, product and filler text in many locales. */
function prose(rng: Rng): string {
  const f = fk(rng);
  const place = () => `${f.location.zipCode()} ${f.location.city()}`;
  const street = () => f.location.streetAddress(rng.chance(0.5));
  return rng.pick([
    () => f.lorem.sentence({ min: 3, max: 20 }),
    () => f.lorem.paragraphs(rng.range(1, 3), "\n\n"),
    () => f.hacker.phrase(),
    () => f.commerce.productDescription(),
    () => f.person.fullName(),
    () => `${f.person.fullName()}, ${street()}, ${place()}`,
    () => `${street()}\n${place()}\n${f.location.country()}`,
    () => f.company.catchPhrase(),
    () => f.word.words({ count: { min: 1, max: 6 } }),
    () => f.person.bio(),
    () => f.food.description(),
  ])();
}

// Ordinary code people paste into comments: "lang code", with \n for line breaks.
const CODE = list(
  String.raw`
  js const total = items.reduce((sum, it) => sum + it.price, 0);
  js fetch('/api/orders?page=2').then((r) => r.json()).then(console.log);
  js document.querySelector('#save').addEventListener('click', onSave);
  js export function slugify(s) {\n  return s.toLowerCase().replace(/\s+/g, '-');\n}
  python for i, row in enumerate(rows):\n    print(i, row['name'])
  python df = pd.read_csv('sales.csv')\ndf.groupby('region')['total'].sum()
  python def mean(xs):\n    return sum(xs) / len(xs) if xs else 0.0
  sql SELECT id, name FROM users WHERE active = true ORDER BY created_at DESC LIMIT 10;
  sql SELECT country, COUNT(*) AS n\nFROM customers\nGROUP BY country\nHAVING COUNT(*) > 5;
  sql UPDATE orders SET status = 'shipped' WHERE id = 1042;
  bash npm install --save-dev typescript
  bash git log --oneline | head -n 5
  bash python3 -m venv .venv && source .venv/bin/activate
`,
  "\n",
).map((l) => l.replace(" ", "\n").replace(/\\n/g, "\n"));
const HTML_TIPS = list(`
  use the <br> tag for a line break | wrap it in <code> or <pre> so the spacing stays
  <b>bold</b> doesn't render in the preview | try <img alt="logo"> with a width attribute
  the <table> has no <thead>, that's why the header scrolls away
`);

/** A web file name like `spring-sale.html` (faker's file names get mangled in non-Latin locales). */
function webFile(f: F.Faker, rng: Rng): string {
  const ext = rng.pick(["html", "pdf", "jpg", "png", "php", "aspx"]);
  return `${f.internet.domainWord()}.${ext}`;
}

/** One markdown block: heading, emphasis, list, link, code, HTML talk or quote with table. */
function mdBlock(f: F.Faker, rng: Rng): string {
  const hashes = "#".repeat(rng.range(1, 3));
  const ordered = rng.chance(0.5);
  const bullet = (j: number) => (ordered ? `${j + 1}.` : "-");
  const items = Array.from({ length: rng.range(2, 4) }, (_, j) => {
    return `${bullet(j)} ${f.commerce.productName()}`;
  });
  const row = `| ${f.word.noun()} | ${rng.range(1, 9)} |`;
  const link = `${f.internet.url({ appendSlash: false })}/${webFile(f, rng)}`;
  return rng.pick([
    () => `${hashes} ${f.lorem.words(rng.range(2, 5))}`,
    () => `**${f.word.adjective()}** ${f.lorem.sentence()} _${f.word.noun()}_`,
    () => items.join("\n"),
    () => `see [${f.lorem.words(2)}](${link})`,
    () => "```" + rng.pick(CODE) + "\n```",
    () => `call \`${f.hacker.verb()}()\` before \`${rng.pick(TABLES)}\``,
    () => rng.pick(HTML_TIPS),
    () => `> ${f.lorem.sentence()}\n\n| item | qty |\n|---|---|\n${row}`,
  ])();
}

/** Markdown comments of one to four blocks. */
function markdown(rng: Rng): string {
  const f = fk(rng, rng.chance(0.6) ? "en" : rng.pick(LOCS));
  const blocks: string[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) blocks.push(mdBlock(f, rng));
  return blocks.join("\n\n");
}

const RULE_CHARS = list("-|=|*|_|~|#|.");

/**
 * Runs of one punctuation character as people and tools write them: a markdown rule, an e-mail client's
 * quoted-message banner, a slug or tracking value padded with dashes, an ASCII table's border.
 */
function separators(rng: Rng): string {
  const f = fk(rng, rng.chance(0.6) ? "en" : rng.pick(LOCS));
  const run = (c: string = rng.pick(RULE_CHARS)) => c.repeat(rng.range(4, 40));
  return rng.pick([
    () => `${f.lorem.sentence()}\n\n${run()}\n\n${f.lorem.sentence()}`,
    () => `${run("-")} Original Message ${run("-")}\nFrom: ${f.person.fullName()}`,
    () => `${f.word.noun()}_${f.word.noun()}${run("-")}`,
    () => `${run()}${f.word.words(rng.range(1, 3))}${run()}`,
    () => `| ${f.word.noun()} | ${rng.int(100)} |\n|${run("-")}|${run("-")}|`,
    () => `${f.lorem.words(rng.range(2, 6))} ${run()}`,
    () => `${f.person.firstName()}\n${run("-")}\n${f.lorem.sentence()}`,
  ])();
}

const UTM_SOURCES = list("google|newsletter|facebook|twitter|linkedin|bing");

/** The documentation domains' origins (RFC 2606), as links in ordinary text use them. */
const EXAMPLE_ORIGINS = list(
  "https://example.com|https://www.example.com|http://example.org|https://example.net",
);

/** Absolute URLs with paths, queries and tracking parameters. */
function url(rng: Rng): string {
  const f = fk(rng);
  let u = rng.chance(0.15) ? rng.pick(EXAMPLE_ORIGINS) : f.internet.url({ appendSlash: false });
  for (let i = rng.int(4); i > 0; i--) u += `/${f.internet.domainWord()}`;
  if (rng.chance(0.3)) u += `/${webFile(f, rng)}`;
  const q: string[] = [];
  const add = (k: string, v: string | number) => {
    q.push(`${k}=${encodeURIComponent(v)}`);
  };
  if (rng.chance(0.5)) add("q", f.commerce.productName());
  if (rng.chance(0.3)) add("page", rng.range(1, 40));
  if (rng.chance(0.3)) add("sort", rng.pick(["price", "-date", "name"]));
  if (rng.chance(0.5)) {
    add("utm_source", rng.pick(UTM_SOURCES));
    add("utm_medium", rng.pick(["cpc", "email", "social"]));
    add("utm_campaign", `${f.word.noun()}_${rng.range(2019, 2025)}`);
  }
  if (rng.chance(0.15)) add("fbclid", b64(randomBytes(rng, 24), true, false));
  if (q.length) u += `?${q.join("&")}`;
  return rng.chance(0.1) ? `${u}#${f.internet.domainWord()}` : u;
}

const PLUS_TAGS = list("news|shop|orders|spam|work|2024|github");

/** E-mail addresses, sometimes with a display name or plus-tag. */
function email(rng: Rng): string {
  const f = fk(rng);
  const first = f.person.firstName(), last = f.person.lastName();
  // Now and then a documentation domain (`example.com`, `.net`, `.org`): forms, tests and sign-ups carry them,
  // and so do some scanner payloads, so without them the domain itself reads as attack evidence.
  let addr = rng.chance(0.2)
    ? f.internet.exampleEmail({ firstName: first, lastName: last })
    : f.internet.email({ firstName: first, lastName: last });
  if (rng.chance(0.15)) {
    addr = addr.replace("@", `+${rng.pick(PLUS_TAGS)}@`);
  }
  const r = rng.next();
  if (r < 0.25) return `${first} ${last} <${addr}>`;
  if (r < 0.35) return `"${last}, ${first}" <${addr}>`;
  return rng.chance(0.1) ? addr.toLowerCase() : addr;
}

/** Base64 and base64url of ordinary text, JSON and return URLs, padded or not. */
function base64(rng: Rng): string {
  const f = fk(rng);
  const id = rng.range(1, 99999);
  const text = rng.pick([
    () => JSON.stringify({ id, name: f.person.fullName() }),
    () => f.lorem.sentence(),
    () => `${f.internet.username()}:${f.internet.password()}`,
    () => JSON.stringify({ cart: [id], ts: f.date.recent() }),
    () => `${f.internet.url()}/${f.lorem.slug()}?page=${id}`,
  ])();
  return b64(text, rng.chance(0.4), rng.chance(0.6));
}

const SCOPES = list("openid|profile|email|read:orders|write:cart");

/** A JWT with ordinary claims and a random signature of the algorithm's size. */
function jwt(rng: Rng): string {
  const f = fk(rng);
  const alg = rng.pick(["HS256", "RS256", "ES256"]);
  const header: Record<string, string> = { alg, typ: "JWT" };
  if (alg !== "HS256") header.kid = f.string.alphanumeric(16);
  const sub = rng.chance(0.5) ? f.string.uuid() : String(rng.range(1, 1e6));
  const iat = 1700000000 + rng.int(3e7);
  const claims: Record<string, unknown> = { sub, iat };
  claims.exp = iat + rng.pick([300, 900, 3600, 86400]);
  if (rng.chance(0.6)) claims.name = f.person.fullName();
  if (rng.chance(0.5)) claims.email = f.internet.email();
  if (rng.chance(0.5)) claims.iss = `https://auth.${f.internet.domainName()}`;
  if (rng.chance(0.4)) claims.scope = rng.sample(SCOPES, 2).join(" ");
  const sigLen = alg === "RS256" ? 256 : alg === "ES256" ? 64 : 32;
  const parts = [JSON.stringify(header), JSON.stringify(claims)];
  const sig = b64(randomBytes(rng, sigLen), true, false);
  return `${parts.map((p) => b64(p, true, false)).join(".")}.${sig}`;
}

/** A JSON:API style query (`filter[status]=open&sort=-created…`). */
function jsonApi(rng: Rng, status: string): string {
  const parts = [`filter[status]=${status}`, "sort=-created"];
  if (rng.chance(0.6)) parts.push(`page[size]=${rng.pick([10, 25, 100])}`);
  if (rng.chance(0.4)) parts.push(`page[number]=${rng.range(1, 9)}`);
  if (rng.chance(0.5)) parts.push(`include=${rng.pick(["author", "tags"])}`);
  if (rng.chance(0.4)) parts.push("fields[articles]=title,body");
  return parts.join("&");
}

/** JSON filter objects and JSON:API style parameter strings. */
function json(rng: Rng): string {
  const f = fk(rng);
  const j = JSON.stringify;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const status = rng.pick(["open", "closed", "draft", "published"]);
  const price = { min: rng.range(0, 50), max: rng.range(60, 900) };
  const sort = rng.pick(["-date", "price", "name", "-rating"]);
  return rng.pick([
    () => j({ page: rng.range(1, 50), sort }),
    () => j({ filter: { status, tags: [f.word.noun(), f.word.noun()] } }),
    () => j({ q: f.commerce.productName(), price, limit: 20 }),
    () => j({ from: day(f.date.past()), to: day(f.date.soon()) }),
    () => j({ city: f.location.city(), sort, page: rng.range(1, 9) }),
    () => jsonApi(rng, status),
  ])();
}

// OData system-query expressions and GraphQL documents; quotes only ever wrap plain literals.
const ODATA = list(String.raw`
  Name eq '{w}' and Price lt {price} | startswith(CompanyName,'{pre}')
  contains(Description,'{w}') and Discontinued eq false | Category eq '{w}' or Category eq '{w}'
  OrderDate ge {date}T00:00:00Z and OrderDate lt {date}T00:00:00Z | $orderby={field} {ord}&$top={top}
  $select=Name,Price,{field}&$filter=Price gt {n}&$skip={n}
  $expand=Orders($filter=Amount gt {n};$orderby={field} {ord})
  Address/City eq '{city}' and year(BirthDate) eq {born}
  query { user(id: {n}) { name posts(first: {top}) { title } } }
  query { products(search: "{w}", first: {top}) { edges { node { id name price } } } }
  mutation { addToCart(productId: {n}, quantity: {q}) { cart { total } } }
  {"query":"query Orders($status: String!) { orders(status: $status) { id total } }","variables":{"status":"{st}"}}
`);

/** OData `$filter`/`$orderby` expressions and GraphQL documents, sometimes with variables. */
function odata(rng: Rng): string {
  return fill(rng.pick(ODATA), slotsFor(fk(rng), rng));
}

const LATIN1_PHRASES = list(`
  crème brûlée|Straße|jalapeño|façade|smørrebrød|naïve|Ærø|Größe: XL
  Café Müller|piña colada|Ça va très bien|Señora Muñoz|Ação de Graças
`);

/** Text with accented Latin-1 letters (names, places, words) that encodes in ISO-8859-1. */
function latin1(rng: Rng): string {
  const f = fk(rng, rng.pick(LATIN_LOCS));
  const gens = [
    () => f.person.fullName(),
    () => `${f.location.street()} ${rng.range(1, 99)}, ${f.location.city()}`,
    () => f.lorem.sentence(),
    () => f.commerce.productName(),
    () => `${rng.pick(LATIN1_PHRASES)} ${f.word.words(rng.range(1, 3))}`,
  ];
  for (let i = 0; i < 4; i++) {
    const s = rng.pick(gens)();
    if (/[\u00c0-\u00ff]/.test(s) && latin1PercentEncode(s) !== null) return s;
  }
  return rng.pick(LATIN1_PHRASES);
}

const PHONE_STYLES = ["human", "national", "international"] as const;

/** Phone numbers, prices, dates, coordinates, ISBNs, IBANs and other numeric ids. */
function numbers(rng: Rng): string {
  const loc = rng.pick(LOCS);
  const f = fk(rng, loc);
  const [, tag, currency] = LOCALES[loc];
  const money = { style: "currency", currency } as const;
  const dims = `${rng.range(10, 200)}x${rng.range(10, 200)}`;
  return rng.pick([
    () => f.phone.number({ style: rng.pick(PHONE_STYLES) }),
    () => (rng.range(1, 300000) / 100).toLocaleString(tag, money),
    () => f.date.past().toLocaleDateString(tag, { timeZone: "UTC" }),
    () => f.date.soon().toISOString().slice(0, rng.pick([10, 16, 19])),
    () => `${f.location.latitude()}, ${f.location.longitude()}`,
    () => f.commerce.isbn({ separator: rng.pick(["-", "", " "]) }),
    () => f.finance.iban({ formatted: rng.chance(0.5) }),
    () => `${dims}x${rng.range(5, 90)} ${rng.pick(["cm", "mm", "in"])}`,
    () => `#${f.string.alphanumeric(2).toUpperCase()}-${rng.int(99999)}`,
    () => `${rng.range(5, 70)}%`,
    () => (rng.range(1, 1e7) / 100).toLocaleString(tag),
    () => `v${rng.int(9)}.${rng.int(20)}.${rng.int(30)}`,
    () => f.location.zipCode(),
  ])();
}

// File names and paths typed into forms; {win} is a Windows user folder.
const PATHS = list(String.raw`
  {dir}/{year}/q{q}.pdf | {dir}/{file} | C:\Users\{first}\{win}\{file} | C:\Documents\cv.docx
  D:\Fotos\{year}\IMG_{n}.JPG | image ({q}).png | {word} - Copy.{ext} | Scan {year}-03-12 14.22.03.pdf
  Screenshot {year}-05-02 at 09.41.{sec}.png | /home/{user}/projects/{word}/README.md | ~/Downloads/{file}
  /Users/{first}/Desktop/{file} | ./src/{word}/index.ts | Rechnung_{n}.pdf | Lebenslauf {last}.pdf
  facture-{n}.pdf | 履歴書.docx | отчёт за {year}.xlsx | 사진 {n}.jpg | 报告_{year}.xlsx | özgeçmiş.docx
  currículo {last}.pdf
`);

/** Ordinary file names and paths users type: relative, home-directory and Windows paths. */
function pathLike(rng: Rng): string {
  return fill(rng.pick(PATHS), slotsFor(fk(rng), rng));
}

const GENERATORS: Record<string, (rng: Rng) => string> = {
  "prose": prose,
  "sql-words": sqlWords,
  "markdown": markdown,
  "url": url,
  "email": email,
  "base64": base64,
  "jwt": jwt,
  "json": json,
  "odata": odata,
  "latin1": latin1,
  "numbers": numbers,
  "path-like": pathLike,
  "separators": separators,
};

/** Names of the kinds {@link hardBenignValue} can produce. */
export const HARD_BENIGN_KINDS: readonly string[] = Object.keys(GENERATORS);

// Safety net: composed text must never accidentally spell out a real attack.
const UNSAFE_PARTS = String.raw`
  <script|javascript:|\.\.[/\\]|'\s*or\s*'|\{\{|\$\{|/etc/passwd
  ;\s*(cat|rm|wget|curl|ls)\s|sleep\s*\(|union\s+(all\s+)?select|\bor\s+\d+\s*=\s*\d+
`;
const UNSAFE = new RegExp(list(UNSAFE_PARTS, "\n").join("|"), "i");

/**
 * A hard benign value of `kind` (a uniformly chosen kind when omitted). Deterministic in `rng`'s state.
 *
 * @param rng The stream to draw from; the faker instances are re-seeded from it on every use.
 * @param kind One of {@link HARD_BENIGN_KINDS}; throws a RangeError for anything else.
 * @returns The kind and the decoded value (not percent-encoded).
 */
export function hardBenignValue(rng: Rng, kind?: string): HardBenignValue {
  const k = kind ?? rng.pick(HARD_BENIGN_KINDS);
  const gen = GENERATORS[k];
  if (!gen) throw new RangeError(`unknown hard-benign kind: ${k}`);
  for (let i = 0; i < 8; i++) {
    const value = gen(rng);
    if (!UNSAFE.test(value)) return { kind: k, value };
  }
  return { kind: k, value: "ok" };
}

/**
 * Legacy ISO-8859-1 percent encoding as old browsers and forms produce it (`é` → `%E9`); leaves the
 * same characters unescaped as `encodeURIComponent`.
 *
 * @returns The encoded text, or null when `s` has a character outside Latin-1.
 */
export function latin1PercentEncode(s: string): string | null {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return null;
    const hex = c.toString(16).toUpperCase().padStart(2, "0");
    out += /[A-Za-z0-9\-_.!~*'()]/.test(s[i]) ? s[i] : `%${hex}`;
  }
  return out;
}
