/**
 * Just enough of a browser to run the console's client script (`src/console/client/app.js`) in a Deno test:
 * the page's HTML parsed into a small DOM (elements, text, attributes, the properties the script uses,
 * events without bubbling, a CSS selector subset), sessionStorage, and `fetch` routed to a Hono app in
 * the same process. The script runs as the browser would run it, against the real tenant API; the tests
 * read what it rendered. The browser test (test/e2e/console.test.mjs) runs the same script in Chromium.
 */

type Listener = (event: FakeEvent) => unknown;

/** An event: `preventDefault` and the target, nothing else. */
export class FakeEvent {
  target: FakeNode | null = null;
  defaultPrevented = false;
  constructor(readonly type: string) {}
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

class Target {
  #listeners = new Map<string, Listener[]>();
  addEventListener(type: string, fn: Listener): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(fn);
    this.#listeners.set(type, list);
  }
  removeEventListener(type: string, fn: Listener): void {
    this.#listeners.set(type, (this.#listeners.get(type) ?? []).filter((f) => f !== fn));
  }
  dispatchEvent(event: FakeEvent): boolean {
    if (event.target === null && this instanceof FakeNode) event.target = this;
    for (const fn of [...(this.#listeners.get(event.type) ?? [])]) fn(event);
    return !event.defaultPrevented;
  }
}

/** A node of the tree. */
export class FakeNode extends Target {
  parentNode: FakeElement | null = null;
  constructor(readonly ownerDocument: FakeDocument) {
    super();
  }
  get textContent(): string {
    return "";
  }
  set textContent(_: string) {}
}

/** A text node. */
export class FakeText extends FakeNode {
  constructor(doc: FakeDocument, public data: string) {
    super(doc);
  }
  override get textContent(): string {
    return this.data;
  }
  override set textContent(v: string) {
    this.data = String(v);
  }
}

const VOID = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "source",
  "wbr",
]);

/** An element, HTML or SVG. */
export class FakeElement extends FakeNode {
  readonly localName: string;
  readonly attrs = new Map<string, string>();
  childNodes: FakeNode[] = [];
  style: Record<string, string> = {};
  checked = false;
  indeterminate = false;
  open = false;
  files: unknown = undefined;
  #value: unknown = undefined;
  readonly dataset: Record<string, string | undefined>;

  constructor(doc: FakeDocument, name: string, readonly namespaceURI: string | null = null) {
    super(doc);
    this.localName = name.toLowerCase();
    const attr = (prop: string) => "data-" + prop.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
    this.dataset = new Proxy({}, {
      get: (_, prop) => typeof prop === "string" ? this.getAttribute(attr(prop)) ?? undefined : undefined,
      set: (_, prop, value) => {
        if (typeof prop === "string") this.setAttribute(attr(prop), String(value));
        return true;
      },
    });
  }

  get tagName(): string {
    return this.localName.toUpperCase();
  }
  get nodeName(): string {
    return this.tagName;
  }

  getAttribute(name: string): string | null {
    return this.attrs.get(name.toLowerCase()) ?? null;
  }
  setAttribute(name: string, value: unknown): void {
    this.attrs.set(name.toLowerCase(), String(value));
  }
  removeAttribute(name: string): void {
    this.attrs.delete(name.toLowerCase());
  }
  hasAttribute(name: string): boolean {
    return this.attrs.has(name.toLowerCase());
  }

  get id(): string {
    return this.getAttribute("id") ?? "";
  }
  set id(v: string) {
    this.setAttribute("id", v);
  }
  get className(): string {
    return this.getAttribute("class") ?? "";
  }
  set className(v: string) {
    this.setAttribute("class", v);
  }
  get classList() {
    const list = () => this.className.split(/\s+/).filter((c) => c !== "");
    const write = (cs: string[]) => this.className = [...new Set(cs)].join(" ");
    return {
      contains: (c: string) => list().includes(c),
      add: (...cs: string[]) => write([...list(), ...cs]),
      remove: (...cs: string[]) => write(list().filter((c) => !cs.includes(c))),
      toggle: (c: string, force?: boolean) => {
        const on = force ?? !list().includes(c);
        write(on ? [...list(), c] : list().filter((x) => x !== c));
        return on;
      },
    };
  }
  #flag(name: string, on: boolean) {
    if (on) this.setAttribute(name, "");
    else this.removeAttribute(name);
  }
  get hidden(): boolean {
    return this.hasAttribute("hidden");
  }
  set hidden(v: boolean) {
    this.#flag("hidden", Boolean(v));
  }
  get disabled(): boolean {
    return this.hasAttribute("disabled");
  }
  set disabled(v: boolean) {
    this.#flag("disabled", Boolean(v));
  }

  /** The value: what was set, else a select's chosen option, else the `value` attribute (a number for a
   * progress bar). */
  get value(): unknown {
    if (this.#value !== undefined) return this.#value;
    if (this.localName === "select") {
      const options = this.querySelectorAll("option");
      const chosen = options.find((o) => o.hasAttribute("selected")) ?? options[0];
      return chosen ? chosen.getAttribute("value") ?? chosen.textContent : "";
    }
    if (this.localName === "progress") return Number(this.getAttribute("value") ?? 0);
    return this.getAttribute("value") ?? "";
  }
  set value(v: unknown) {
    this.#value = v;
  }

  get children(): FakeElement[] {
    return this.childNodes.filter((n): n is FakeElement => n instanceof FakeElement);
  }
  override get textContent(): string {
    return this.childNodes.map((n) => n.textContent).join("");
  }
  override set textContent(v: string) {
    this.replaceChildren(String(v));
  }

  append(...nodes: unknown[]): void {
    for (const n of nodes) {
      const node = n instanceof FakeNode ? n : new FakeText(this.ownerDocument, String(n));
      node.parentNode?.removeChild(node);
      node.parentNode = this;
      this.childNodes.push(node);
    }
  }
  replaceChildren(...nodes: unknown[]): void {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    this.append(...nodes);
  }
  removeChild(node: FakeNode): void {
    this.childNodes = this.childNodes.filter((c) => c !== node);
    node.parentNode = null;
  }
  contains(node: FakeNode | null): boolean {
    for (let n = node; n !== null; n = n.parentNode) if (n === this) return true;
    return false;
  }

  /** Every element below, in document order. */
  descendants(): FakeElement[] {
    const out: FakeElement[] = [];
    const walk = (e: FakeElement) => {
      for (const c of e.children) {
        out.push(c);
        walk(c);
      }
    };
    walk(this);
    return out;
  }
  querySelectorAll(selector: string): FakeElement[] {
    const groups = parseSelector(selector);
    return this.descendants().filter((e) => groups.some((g) => matches(e, g, g.length - 1)));
  }
  querySelector(selector: string): FakeElement | null {
    return this.querySelectorAll(selector)[0] ?? null;
  }

  focus(): void {
    this.ownerDocument.activeElement = this;
  }
  click(): void {
    if (this.disabled) return;
    this.dispatchEvent(new FakeEvent("click"));
  }
  showModal(): void {
    this.open = true;
  }
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.dispatchEvent(new FakeEvent("close"));
  }
  get isVoid(): boolean {
    return VOID.has(this.localName);
  }
}

/** The document: the parsed page. */
export class FakeDocument extends Target {
  readonly documentElement: FakeElement;
  activeElement: FakeElement | null = null;

  constructor(html: string) {
    super();
    this.documentElement = parseHtml(this, html);
  }
  get body(): FakeElement {
    const body = this.documentElement.querySelector("body");
    if (!body) throw new Error("the page has no <body>");
    return body;
  }
  getElementById(id: string): FakeElement | null {
    return this.documentElement.descendants().find((e) => e.id === id) ?? null;
  }
  querySelectorAll(selector: string): FakeElement[] {
    return this.documentElement.querySelectorAll(selector);
  }
  querySelector(selector: string): FakeElement | null {
    return this.documentElement.querySelector(selector);
  }
  createElement(tag: string): FakeElement {
    return new FakeElement(this, tag);
  }
  createElementNS(ns: string, tag: string): FakeElement {
    return new FakeElement(this, tag, ns);
  }
  createTextNode(text: string): FakeText {
    return new FakeText(this, text);
  }
}

// ---------------------------------------------------------------------------------------------------
// HTML: the console page is well-formed, so a tokenizer and a stack of open elements do.

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : +e.slice(1));
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function parseHtml(doc: FakeDocument, html: string): FakeElement {
  const root = new FakeElement(doc, "#root");
  const stack: FakeElement[] = [root];
  const token =
    /<!--[\s\S]*?-->|<!doctype[^>]*>|<\/([a-zA-Z][\w-]*)\s*>|<([a-zA-Z][\w-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*(\/?)>|([^<]+)/gi;
  for (const m of html.matchAll(token)) {
    const [, close, open, attrs, selfClose, text] = m;
    const top = stack[stack.length - 1];
    if (text !== undefined) {
      top.append(decode(text));
    } else if (close !== undefined) {
      const name = close.toLowerCase();
      const at = stack.findLastIndex((e) => e.localName === name);
      if (at > 0) stack.length = at;
    } else if (open !== undefined) {
      const e = new FakeElement(doc, open);
      for (const a of (attrs ?? "").matchAll(/([^\s=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
        e.setAttribute(a[1], decode(a[2] ?? a[3] ?? a[4] ?? ""));
      }
      top.append(e);
      if (!e.isVoid && selfClose !== "/") stack.push(e);
    }
  }
  const html_ = root.children.find((e) => e.localName === "html");
  if (!html_) throw new Error("the page has no <html>");
  return html_;
}

// ---------------------------------------------------------------------------------------------------
// Selectors: tag, #id, .class, [attr], [attr=value], :not(compound), descendant and child combinators,
// groups separated by commas.

interface Compound {
  tag: string | null;
  id: string | null;
  classes: string[];
  attrs: { name: string; value: string | null }[];
  nots: Compound[];
}
interface Step {
  compound: Compound;
  /** How this step relates to the one before it. */
  combinator: " " | ">";
}

function parseCompound(s: string, at: { i: number }): Compound {
  const c: Compound = { tag: null, id: null, classes: [], attrs: [], nots: [] };
  const ident = () => {
    const m = /^[\w-]+/.exec(s.slice(at.i));
    if (!m) throw new Error(`selector ${s}: a name expected at ${at.i}`);
    at.i += m[0].length;
    return m[0];
  };
  for (;;) {
    const ch = s[at.i];
    if (ch === undefined || /[\s>,)]/.test(ch)) break;
    if (ch === "#") {
      at.i++;
      c.id = ident();
    } else if (ch === ".") {
      at.i++;
      c.classes.push(ident());
    } else if (ch === "[") {
      const m = /^\[\s*([\w-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([\w-]+))\s*)?\]/.exec(s.slice(at.i));
      if (!m) throw new Error(`selector ${s}: a bad attribute test at ${at.i}`);
      at.i += m[0].length;
      c.attrs.push({ name: m[1].toLowerCase(), value: m[2] ?? m[3] ?? m[4] ?? null });
    } else if (s.startsWith(":not(", at.i)) {
      at.i += 5;
      c.nots.push(parseCompound(s, at));
      if (s[at.i] !== ")") throw new Error(`selector ${s}: ")" expected at ${at.i}`);
      at.i++;
    } else if (ch === "*") {
      at.i++;
    } else {
      c.tag = ident().toLowerCase();
    }
  }
  return c;
}

const cache = new Map<string, Step[][]>();

function parseSelector(selector: string): Step[][] {
  const hit = cache.get(selector);
  if (hit) return hit;
  const s = selector.trim();
  const groups: Step[][] = [];
  let steps: Step[] = [];
  const at = { i: 0 };
  let combinator: " " | ">" = " ";
  while (at.i < s.length) {
    const ch = s[at.i];
    if (ch === ",") {
      groups.push(steps);
      steps = [];
      combinator = " ";
      at.i++;
    } else if (ch === ">") {
      combinator = ">";
      at.i++;
    } else if (/\s/.test(ch)) {
      at.i++;
    } else {
      steps.push({ compound: parseCompound(s, at), combinator });
      combinator = " ";
    }
  }
  groups.push(steps);
  cache.set(selector, groups);
  return groups;
}

function matchesCompound(e: FakeElement, c: Compound): boolean {
  if (c.tag !== null && e.localName !== c.tag) return false;
  if (c.id !== null && e.id !== c.id) return false;
  if (!c.classes.every((k) => e.classList.contains(k))) return false;
  for (const a of c.attrs) {
    const v = e.getAttribute(a.name);
    if (v === null || (a.value !== null && v !== a.value)) return false;
  }
  return c.nots.every((n) => !matchesCompound(e, n));
}

function matches(e: FakeElement, steps: Step[], k: number): boolean {
  if (!matchesCompound(e, steps[k].compound)) return false;
  if (k === 0) return true;
  if (steps[k].combinator === ">") {
    return e.parentNode !== null && e.parentNode.localName !== "#root" && matches(e.parentNode, steps, k - 1);
  }
  for (let p = e.parentNode; p !== null && p.localName !== "#root"; p = p.parentNode) {
    if (matches(p, steps, k - 1)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// The browser around the page

/** `sessionStorage`, in memory. */
export class FakeStorage {
  #items = new Map<string, string>();
  get length(): number {
    return this.#items.size;
  }
  getItem(k: string): string | null {
    return this.#items.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.#items.set(k, String(v));
  }
  removeItem(k: string): void {
    this.#items.delete(k);
  }
}

/** One call of the page's `fetch`, as the page made it. */
export interface FetchCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  init: Record<string, unknown>;
}

/** What a test gets: the page, its storage, the calls it made. */
export interface FakeBrowser {
  document: FakeDocument;
  window: Target;
  sessionStorage: FakeStorage;
  calls: FetchCall[];
  /** Shorthand for `document.getElementById`, failing when there is no such element. */
  $(id: string): FakeElement;
}

/**
 * Loads the page and runs the client script in it.
 *
 * @param options `html`: the page; `script`: the client script; `origin`: where the page is served from;
 *   `serve`: answers the page's requests (a Hono app's `request`, or a stub that may pass some on).
 */
export function openConsole(options: {
  html: string;
  script: string;
  origin: string;
  serve: (url: string, init: { method: string; headers: Headers; body?: string }) => Promise<Response>;
}): FakeBrowser {
  const document = new FakeDocument(options.html);
  const window = new Target();
  const sessionStorage = new FakeStorage();
  const calls: FetchCall[] = [];
  const location = new URL(options.origin);
  const fetch = async (url: string, init: Record<string, unknown> = {}) => {
    const headers = new Headers(init.headers as Record<string, string> | undefined);
    const method = typeof init.method === "string" ? init.method : "GET";
    const body = typeof init.body === "string" ? init.body : undefined;
    calls.push({ url, method, headers: Object.fromEntries(headers), body, init });
    return await options.serve(new URL(url, location).href, { method, headers, body });
  };
  const run = new Function(
    "document",
    "window",
    "sessionStorage",
    "location",
    "fetch",
    "addEventListener",
    `"use strict";\n${options.script}`,
  );
  run(document, window, sessionStorage, location, fetch, window.addEventListener.bind(window));
  return {
    document,
    window,
    sessionStorage,
    calls,
    $: (id) => {
      const e = document.getElementById(id);
      if (e === null) throw new Error(`no element #${id}`);
      return e;
    },
  };
}

/**
 * Polls until `probe` returns a truthy value, letting the page's promises run in between.
 *
 * @returns The value.
 */
export async function until<T>(probe: () => T, what: string, timeout = 10_000): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
