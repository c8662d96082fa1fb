/**
 * Word lists the synthesiser draws from: parameter and cookie names, client user agents, languages, words.
 * Real-world shapes, no real data.
 *
 * @module
 */

/** Parameter names by the kind of value they usually carry. */
export const PARAM_NAMES: Readonly<Record<string, readonly string[]>> = {
  id: [
    "id",
    "item_id",
    "product_id",
    "pid",
    "uid",
    "user_id",
    "order_id",
    "cat_id",
    "article",
    "post",
    "sku",
    "ref_id",
    "aid",
    "nid",
    "tid",
  ],
  page: ["page", "p", "offset", "limit", "per_page", "start", "count", "size"],
  enum: [
    "sort",
    "order",
    "view",
    "mode",
    "type",
    "tab",
    "format",
    "status",
    "filter",
    "category",
    "section",
  ],
  text: [
    "q",
    "query",
    "search",
    "keyword",
    "s",
    "term",
    "name",
    "title",
    "comment",
    "message",
    "text",
  ],
  lang: ["lang", "locale", "hl", "language"],
  email: ["email", "mail", "contact", "login"],
  date: ["date", "from", "to", "since", "until", "day", "checkin", "checkout"],
  ts: ["_", "t", "ts", "timestamp", "cb", "nocache", "v"],
  uuid: ["session_id", "request_id", "device", "cid", "guid", "trace"],
  token: [
    "token",
    "csrf",
    "csrf_token",
    "_token",
    "nonce",
    "state",
    "sig",
    "hash",
  ],
  b64: ["data", "payload", "ctx", "uri", "return", "next_b64"],
  path: ["redirect", "return_to", "next", "continue", "back", "url", "dest"],
  bool: [
    "debug_ui",
    "remember",
    "active",
    "public",
    "show_all",
    "embed",
    "amp",
  ],
  price: ["price", "min_price", "max_price", "amount", "total", "lat", "lng"],
  slug: ["slug", "handle", "permalink", "tag", "brand", "color", "city"],
  phone: ["phone", "tel", "mobile"],
  zip: ["zip", "postcode", "postal"],
  utm: ["utm_source", "utm_medium", "utm_campaign", "ref", "src", "campaign"],
  // Names are made up per site (`opaqueName`): sites name parameters in their own ways.
  opaque: [],
};

/** Words for slugs, search text, enum values, app names and API nouns. */
export const WORDS: readonly string[] = (
  "red blue green black white small large shoes shirt jacket phone laptop cable book music video news sport " +
  "travel hotel flight city beach garden kitchen chair table lamp coffee tea wine cheese bread apple orange " +
  "summer winter spring autumn sale new popular price rating date name asc desc list grid card compact full " +
  "open closed pending active archived draft public private home about contact help support account orders " +
  "cart checkout profile settings search results photo gallery map event ticket course lesson student report " +
  "invoice payment shipping return review forum thread topic reply member group team project task issue"
).split(" ");

/** Values of an `enum` parameter are drawn from these. */
export const ENUM_VALUES: readonly string[] = [
  "asc",
  "desc",
  "price_asc",
  "price_desc",
  "newest",
  "popular",
  "grid",
  "list",
  "all",
  "active",
  "archived",
  "json",
  "html",
  "summary",
  "details",
  "1",
  "2",
  "3",
];

/** Session cookie names; a tenant uses one. */
export const SESSION_COOKIES: readonly string[] = [
  "PHPSESSID",
  "JSESSIONID",
  "ASP.NET_SessionId",
  "sessionid",
  "sid",
  "connect.sid",
  "_session",
  "laravel_session",
  "session",
  "SESS",
];

/** Other cookies (analytics, preferences, consent); a tenant uses a few. */
export const OTHER_COOKIES: readonly string[] = [
  "_ga",
  "_gid",
  "_fbp",
  "theme",
  "lang",
  "currency",
  "consent",
  "cookie_consent",
  "cart",
  "cart_id",
  "remember_me",
  "tz",
  "ab_test",
  "region",
  "visitor_id",
  "last_seen",
];

/** Native app user agents (`{app}` is the tenant's app name). */
export const APP_UAS: readonly string[] = [
  "{app}/{v}.{m}.1 (iPhone; iOS 17.{m}; Scale/3.00)",
  "{app}/{v}.{m} CFNetwork/1474 Darwin/23.0.0",
  "okhttp/4.{m}.0",
  "Dalvik/2.1.0 (Linux; U; Android 13; SM-A536B Build/TP1A.220624.014) {app}/{v}.{m}",
  "{app}-android/{v}.{m}.0",
];

/** API client user agents. */
export const API_UAS: readonly string[] = [
  "python-requests/2.3{m}.0",
  "Go-http-client/1.1",
  "Go-http-client/2.0",
  "curl/8.{m}.0",
  "axios/1.{m}.2",
  "Java/17.0.{m}",
  "PostmanRuntime/7.3{m}.0",
  "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
  "Apache-HttpClient/4.5.{m} (Java/11.0.20)",
  "Ruby",
];

/** Accept-Language values. */
export const LANGUAGES: readonly string[] = [
  "en-US,en;q=0.9",
  "en-GB,en;q=0.8",
  "de-DE,de;q=0.9,en;q=0.8",
  "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7",
  "es-ES,es;q=0.9",
  "zh-CN,zh;q=0.9",
  "ja-JP,ja;q=0.9",
  "pt-BR,pt;q=0.9,en;q=0.8",
  "ko-KR,ko;q=0.9,en-US;q=0.8",
  "it-IT,it;q=0.9",
];

/** Extensions of uploaded files and their content types. */
export const UPLOADS: readonly [string, string][] = [
  ["jpg", "image/jpeg"],
  ["png", "image/png"],
  ["pdf", "application/pdf"],
  ["csv", "text/csv"],
  ["txt", "text/plain"],
  [
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ],
];
