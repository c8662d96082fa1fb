/**
 * A Workers KV namespace in memory with the binding's text semantics and `list` (prefix, sorted keys,
 * pages of `limit`), for the tenant store's tests.
 */
import type { ListableKVNamespace } from "../../src/store/mod.ts";

/** The fake namespace; `data` is its content. */
export class FakeListableKv implements ListableKVNamespace {
  data = new Map<string, string>();
  /** Keys per `list` page (the binding's default is 1000; small here to exercise cursors). */
  pageSize = 2;

  get(key: string, _type: "text"): Promise<string | null> {
    return Promise.resolve(this.data.get(key) ?? null);
  }
  put(key: string, value: string): Promise<void> {
    if (typeof value !== "string") return Promise.reject(new TypeError("values are text"));
    this.data.set(key, value);
    return Promise.resolve();
  }
  delete(key: string): Promise<void> {
    this.data.delete(key);
    return Promise.resolve();
  }
  list(options: { prefix?: string; cursor?: string | null; limit?: number } = {}) {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(options.prefix ?? "")).sort();
    const start = options.cursor ? Number(options.cursor) : 0;
    const end = start + Math.min(options.limit ?? 1000, this.pageSize);
    const done = end >= keys.length;
    return Promise.resolve({
      keys: keys.slice(start, end).map((name) => ({ name })),
      list_complete: done,
      cursor: done ? undefined : String(end),
    });
  }
}
