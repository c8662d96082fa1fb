/**
 * The tenant console: a page served by the worker itself at `/_taugate/console`, where a site owner signs
 * in with a tenant token, loads a HAR file, JSONL or access log, sees each request's score and decision,
 * labels the mistakes, adapts the tenant's head, compares the new scores with the old, and rolls back.
 *
 * - `tenantConsole()`: the Hono app (page, script, style sheet; strict CSP on every answer);
 * - `isConsolePath(path)`: whether a path is the console's (the worker routes those to it);
 * - `consolePage()`, `CONSOLE_PATH`, `CONSOLE_CSP`, `CONSOLE_HEADERS`.
 *
 * The page is server-rendered with `hono/html`; `client/app.js` and `client/app.css` are plain files,
 * embedded in `assets.ts` by `scripts/console_assets.ts` so that workerd (no file system) serves them too.
 * The page only talks to the tenant API (`src/api/`), which checks every call.
 *
 * @example
 * ```ts
 * import { isConsolePath, tenantConsole } from "./mod.ts";
 * const app = tenantConsole();
 * isConsolePath("/_taugate/console/app.js"); // true
 * const res = await app.request("/_taugate/console");
 * console.log(res.status); // 200
 * ```
 * @module
 */
export { isConsolePath, tenantConsole } from "./console.ts";
export { CONSOLE_CSP, CONSOLE_HEADERS } from "./headers.ts";
export { CONSOLE_PATH, consolePage } from "./page.ts";
