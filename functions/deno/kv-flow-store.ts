/**
 * FlowStore over Deno KV: single-use flow state under [...prefix, id]. `consume` reads the entry and
 * deletes it only if it is unchanged (`atomic().check(entry).delete(key)`), so of two concurrent
 * callbacks exactly one gets the flow. `expireIn` makes expired flows leave; since Deno KV deletes them
 * eventually rather than on time, the expiry is stored and checked on every read too.
 */
import type { FlowStore } from '../../lib/mod.ts';
import { whenNotBusy } from './kv-busy.ts';

interface StoredFlow<T> {
  flow: T;
  /** Epoch ms. */
  expiresAt: number;
}

export class DenoKvFlowStore<T> implements FlowStore<T> {
  private readonly kv: Deno.Kv;
  private readonly prefix: Deno.KvKey;

  constructor(kv: Deno.Kv, prefix: Deno.KvKey = ['flows']) {
    this.kv = kv;
    this.prefix = prefix;
  }

  async put(id: string, flow: T, options: { ttlSeconds: number }): Promise<void> {
    const ttlMs = Math.max(1, Math.ceil(options.ttlSeconds * 1000));
    const value: StoredFlow<T> = { flow, expiresAt: Date.now() + ttlMs };
    await whenNotBusy(() => this.kv.set([...this.prefix, id], value, { expireIn: ttlMs }));
  }

  /** @returns the flow, once; null when it is unknown, expired, or another caller consumed it first. */
  async consume(id: string): Promise<T | null> {
    const key = [...this.prefix, id];
    const entry = await this.kv.get<StoredFlow<T>>(key);
    if (entry.value === null) return null;
    const { ok } = await whenNotBusy(() => this.kv.atomic().check(entry).delete(key).commit());
    return ok && entry.value.expiresAt > Date.now() ? entry.value.flow : null;
  }
}
