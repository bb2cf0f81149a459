/**
 * CacheStore over a Workers-KV-shaped binding. Lives in lib because it only uses the object handed to
 * it; the structural type below is all of KV it relies on.
 */
import type { CacheStore } from './ports.ts';

export interface KVLike {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** KV rejects an `expirationTtl` under 60 s. */
export const KV_MIN_TTL_SECONDS = 60;
/** KV's key limit; our keys are fixed-length hashes far below it. */
export const KV_MAX_KEY_BYTES = 512;

export class KVCacheStore implements CacheStore {
  private readonly kv: KVLike;
  constructor(kv: KVLike) {
    this.kv = kv;
  }

  get(key: string): Promise<string | null> {
    return this.kv.get(key, 'text');
  }

  put(key: string, value: string, options: { ttlSeconds: number }): Promise<void> {
    return this.kv.put(key, value, { expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(options.ttlSeconds)) });
  }

  delete(key: string): Promise<void> {
    return this.kv.delete(key);
  }
}
