// The client script and style sheet as files: the embedded copy the worker serves is current, and the
// script keeps the rules that make the rows (attack strings) harmless and the token private.
import assert from "node:assert/strict";
import { APP_CSS, APP_JS } from "../../src/console/assets.ts";
import { ASSETS_MODULE, assetsModule } from "../../scripts/console_assets.ts";

const ROOT = new URL("../../", import.meta.url);
const read = (file: string) => Deno.readTextFileSync(new URL(file, ROOT));

Deno.test("console assets: src/console/assets.ts embeds the current client files", () => {
  assert.equal(
    read(ASSETS_MODULE),
    assetsModule(read),
    "run `deno run --allow-read --allow-write scripts/console_assets.ts` after editing src/console/client/",
  );
  assert.equal(APP_JS, read("src/console/client/app.js"));
  assert.equal(APP_CSS, read("src/console/client/app.css"));
});

Deno.test("console script: no HTML sink, no eval, no string timers; the token in sessionStorage only", () => {
  const code = APP_JS.replace(/^\s*\/\/.*$/gm, ""); // comments may name what the code must not do
  for (
    const sink of [
      "innerHTML",
      "outerHTML",
      "insertAdjacentHTML",
      "document.write",
      "createContextualFragment",
      "DOMParser",
      "srcdoc",
      "eval(",
      "new Function",
      'setAttribute("on',
      "localStorage",
      "document.cookie",
      "console.log",
    ]
  ) {
    assert.ok(!code.includes(sink), `the console script uses ${sink}`);
  }
  assert.doesNotMatch(code, /setTimeout\(\s*["'`]/);
  // Attributes are set from constant names only: el()'s keys are literals in the code.
  assert.doesNotMatch(code, /setAttribute\(\s*[a-z]+\s*\[/);
  // The token goes into the Authorization header, and into nothing else but the session entry.
  const uses = [...code.matchAll(/session\.token|candidate\.token|\btoken\b/g)].length;
  assert.ok(uses > 0);
  assert.match(code, /authorization: `Bearer \$\{session\.token\}`/);
  assert.match(code, /sessionStorage\.setItem\(SESSION_KEY, JSON\.stringify\(candidate\)\)/);
  assert.match(code, /credentials: "omit"/);
  assert.doesNotMatch(code, /[?&]token=/, "never in a URL");
});

Deno.test("console style sheet: no third-party fonts or images", () => {
  assert.doesNotMatch(APP_CSS, /@import|url\(|@font-face/);
});
