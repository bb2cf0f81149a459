/**
 * The narrow storage interfaces lib knows. One adapter per runtime implements each
 * (Workers KV / Durable Objects in functions/workers, Deno KV in functions/deno).
 */

/** A key-value store for sealed cache values (Workers KV, Deno KV). Values are opaque strings. */
export interface CacheStore {
  get(key: string): Promise<string | null>;
  /** `ttlSeconds` makes the entry leave the store on its own; adapters clamp it to their minimum. */
  put(key: string, value: string, options: { ttlSeconds: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Single-use flow state (auth code, device code): `consume` returns and deletes in one step. */
export interface FlowStore<T> {
  put(id: string, flow: T, options: { ttlSeconds: number }): Promise<void>;
  consume(id: string): Promise<T | null>;
}

/**
 * Where accounts (and their refresh tokens) live. On Workers each account has its own Durable Object,
 * so the store seen there holds one account and every use of its refresh token is serialised.
 */
export interface AccountStore<R> {
  list(): Promise<R[]>;
  get(homeAccountId: string): Promise<R | null>;
  put(homeAccountId: string, record: R): Promise<void>;
  delete(homeAccountId: string): Promise<void>;
}
