/**
 * `tenantConsole()`: the tenant console as a Hono app under `/_taugate/console`: the page, its script and
 * its style sheet, each with the console's security headers. It has no routes of its own beyond these: the
 * page talks to the tenant API with the token the user signs in with.
 *
 * @module
 */
import { Hono } from "hono";
import { APP_CSS, APP_JS } from "./assets.ts";
import { CONSOLE_HEADERS } from "./headers.ts";
import { CONSOLE_PATH, consolePage } from "./page.ts";

/**
 * Whether a path is the console's (`/_taugate/console` and everything under it).
 *
 * @param path The request's path.
 * @returns `true` for the console's paths.
 */
export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PATH || path.startsWith(CONSOLE_PATH + "/");
}

function answer(
  body: string | null,
  type: string,
  status = 200,
  extra: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers: { ...CONSOLE_HEADERS, "content-type": type, ...extra } });
}

const TEXT = "text/plain; charset=utf-8";

/**
 * Creates the console app. The worker mounts it whenever the tenant API is on.
 *
 * @returns A Hono app answering `GET` (and `HEAD`) of `/_taugate/console`, `/_taugate/console/app.js` and
 *   `/_taugate/console/app.css`; other paths under it get 404, other methods 405.
 * @example
 * ```ts
 * import { tenantConsole } from "./console.ts";
 * const res = await tenantConsole().request("/_taugate/console");
 * console.log(res.headers.get("content-security-policy")); // "default-src 'none'; ..."
 * ```
 */
export function tenantConsole(): Hono {
  const app = new Hono();
  const files: [string, () => Response][] = [
    [CONSOLE_PATH, () => answer(consolePage(), "text/html; charset=utf-8")],
    [`${CONSOLE_PATH}/app.js`, () => answer(APP_JS, "text/javascript; charset=utf-8")],
    [`${CONSOLE_PATH}/app.css`, () => answer(APP_CSS, "text/css; charset=utf-8")],
  ];
  // Hono answers HEAD with the GET route, without the body.
  for (const [path, file] of files) app.get(path, file);
  for (const [path] of files) {
    app.all(path, () => answer("method not allowed\n", TEXT, 405, { allow: "GET, HEAD" }));
  }
  app.get(`${CONSOLE_PATH}/`, () => answer(null, TEXT, 308, { location: CONSOLE_PATH }));
  app.all("*", () => answer("not found\n", TEXT, 404));
  return app;
}
