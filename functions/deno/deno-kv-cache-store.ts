/** CacheStore over Deno KV (`expireIn` makes dead tokens leave, as KV's expirationTtl does). */
import type { CacheStore } from '../../lib/mod.ts';

export class DenoKvCacheStore implements CacheStore {
  private readonly kv: Deno.Kv;
  constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  async get(key: string): Promise<string | null> {
    const entry = await this.kv.get<string>(['token-cache', key]);
    return entry.value;
  }

  async put(key: string, value: string, options: { ttlSeconds: number }): Promise<void> {
    await this.kv.set(['token-cache', key], value, { expireIn: Math.max(1, Math.ceil(options.ttlSeconds)) * 1000 });
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(['token-cache', key]);
  }
}
