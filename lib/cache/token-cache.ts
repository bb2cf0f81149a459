/**
 * The token cache: MSAL-schema entities, sealed (seal.ts) in a CacheStore under a hashed key, with a
 * bounded in-isolate memory layer in front. A lookup is one direct key read — never a scan — so its
 * cost does not grow with the number of entries.
 */
import { base64url, sha256Sync } from '../encoding.ts';
import type { CacheStore } from '../storage/ports.ts';
import { accessTokenKey, matchesQuery, queryOf, type AccessTokenEntity, type AccessTokenQuery } from './entities.ts';
import { storeTtlSeconds } from './freshness.ts';
import { open, seal } from './seal.ts';

export interface TokenCacheOptions {
  /** Entries kept decrypted in isolate memory (least recently used leave first). */
  memoryEntries?: number;
}

interface MemoryEntry {
  entity: AccessTokenEntity;
  storageKey: string;
}

/**
 * Storage keys are versioned hashes of MSAL's key: fixed length (KV allows 512 bytes; scopes do not
 * fit that bound), and listing the namespace reveals no tenant, user or scope.
 */
export async function storageKeyFor(msalKey: string): Promise<string> {
  // Synchronous SHA-256: a lookup that misses the memory layer hashes its key every time, and WebCrypto's
  // digest of these ~100 bytes costs an async op (Deno) or a thread-pool hop (Node) worth more than the hash.
  return `at1:${base64url(sha256Sync(msalKey))}`;
}

export class TokenCache {
  private readonly memory = new Map<string, MemoryEntry>();
  private readonly memoryEntries: number;
  private readonly store: CacheStore;
  private readonly sealingKey: CryptoKey;

  constructor(store: CacheStore, sealingKey: CryptoKey, options: TokenCacheOptions = {}) {
    this.store = store;
    this.sealingKey = sealingKey;
    this.memoryEntries = options.memoryEntries ?? 1000;
  }

  /** @returns the entry for exactly this query, or null on a miss, a tampered value or a moved value. */
  /**
   * @param options.fromStore skip this isolate's memory: for a second look after waiting on another
   *   refresher (another isolate or process), whose token only the store has.
   */
  async getAccessToken(query: AccessTokenQuery, nowMs: number, options: { fromStore?: boolean } = {}): Promise<AccessTokenEntity | null> {
    const msalKey = accessTokenKey(query);
    const remembered = this.memory.get(msalKey);
    if (remembered && !options.fromStore && storeTtlSeconds(remembered.entity, nowMs) > 1) {
      this.remember(msalKey, remembered);
      return remembered.entity;
    }
    const storageKey = remembered?.storageKey ?? (await storageKeyFor(msalKey));
    const sealed = await this.store.get(storageKey);
    if (sealed === null) return null;
    const entity = parseEntity(await open(this.sealingKey, storageKey, sealed));
    // Sealing binds the value to its storage key; the query check also rules out a hash collision.
    if (!entity || !matchesQuery(entity, query)) return null;
    this.remember(msalKey, { entity, storageKey });
    return entity;
  }

  async saveAccessToken(entity: AccessTokenEntity, nowMs: number): Promise<void> {
    const msalKey = accessTokenKey(queryOf(entity));
    const storageKey = await storageKeyFor(msalKey);
    this.remember(msalKey, { entity, storageKey });
    await this.store.put(storageKey, await seal(this.sealingKey, storageKey, JSON.stringify(entity)), {
      ttlSeconds: storeTtlSeconds(entity, nowMs),
    });
  }

  /**
   * Into this isolate's memory layer only: a token another writer (the fleet's coordinator) has already
   * put in the store, which this isolate may not read there yet.
   */
  async rememberAccessToken(entity: AccessTokenEntity): Promise<void> {
    const msalKey = accessTokenKey(queryOf(entity));
    this.remember(msalKey, { entity, storageKey: await storageKeyFor(msalKey) });
  }

  async removeAccessToken(query: AccessTokenQuery): Promise<void> {
    const msalKey = accessTokenKey(query);
    this.memory.delete(msalKey);
    await this.store.delete(await storageKeyFor(msalKey));
  }

  private remember(msalKey: string, entry: MemoryEntry): void {
    this.memory.delete(msalKey);
    this.memory.set(msalKey, entry);
    if (this.memory.size > this.memoryEntries) this.memory.delete(this.memory.keys().next().value!);
  }
}

function parseEntity(text: string | null): AccessTokenEntity | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<AccessTokenEntity>;
    const ok =
      value.credential_type === 'AccessToken' &&
      typeof value.secret === 'string' &&
      ['home_account_id', 'environment', 'client_id', 'realm', 'target', 'cached_at', 'expires_on'].every(
        (field) => typeof value[field as keyof AccessTokenEntity] === 'string',
      );
    return ok ? (value as AccessTokenEntity) : null;
  } catch {
    return null;
  }
}
