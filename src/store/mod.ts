/**
 * Tenant heads: the `HeadStore` interface, its adapters and the in-isolate cache in front of them.
 *
 * Key layout (one read per tenant on the hot path: the active head):
 *
 * | store | active head (hot path) | history (tenant API) | tenant tokens (tenant API) |
 * | --- | --- | --- | --- |
 * | Workers KV (`TENANT_KV`) | `head/<tenant>` (JSON text) | `history/<tenant>/<version, 10+ digits>` | `token/<id>` |
 * | Deno KV | `["taugate", "head", <tenant>]` (object) | `["taugate", "history", <tenant>, <version>]` | `["taugate", "token", <id>]` |
 * | memory | the tenant id | — | — |
 *
 * The value is a `StoredHead` document: `{ version, head: { w, b, ... }, tau?, createdAt, modelId?,
 * counts?, ... }`. Tenant ids are hostname-like (`isTenantId`), checked before any key is built. The Deno KV
 * adapters live in `deno_kv.ts` and `tenant_deno_kv.ts` (import them directly; they are not re-exported, so
 * Worker bundles stay Deno-free). A `TenantStore` (history and tokens, for the tenant API) wraps the same
 * storage as its `HeadStore` (`heads`).
 *
 * @example
 * ```ts
 * import { HeadCache, MemoryHeadStore } from "./mod.ts";
 * const store = new MemoryHeadStore();
 * await store.put("shop-1", { version: 1, head: { w: [1, -1], b: 0 }, createdAt: new Date().toISOString() });
 * const cache = new HeadCache(store);
 * const found = await cache.lookup("shop-1"); // { status: "tenant", head: { version: 1, ... } }
 * ```
 * @module
 */
export { HeadCache, type HeadCacheOptions, type HeadLookup } from "./cached.ts";
export {
  headFromJson,
  headToJson,
  parseStoredHead,
  type StoredHead,
  type TenantHead,
  tenantHeadOf,
} from "./head_doc.ts";
export { MemoryHeadStore } from "./memory.ts";
export { assertTenantId, isTenantId, MAX_TENANT_ID_LENGTH } from "./tenant_id.ts";
export { activeHeadKey, type HeadStore, historyHeadKey } from "./types.ts";
export { type KVNamespace, WorkersKvHeadStore } from "./workers_kv.ts";
export {
  assertTokenId,
  historyPrefix,
  isTokenId,
  parseTokenRecord,
  type TenantChange,
  type TenantSnapshot,
  type TenantStore,
  TOKEN_ID_LENGTH,
  tokenKey,
  type TokenRecord,
} from "./tenant_store.ts";
export { MemoryTenantStore } from "./tenant_memory.ts";
export { type ListableKVNamespace, WorkersKvTenantStore } from "./tenant_workers_kv.ts";
