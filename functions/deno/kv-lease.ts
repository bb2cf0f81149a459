/**
 * KeyedLock over Deno KV, for processes that share one account store: one lease per key,
 * [...prefix, key] → { holder, until }, taken with an atomic check on the entry's versionstamp (so of two
 * processes exactly one wins), renewed while the work runs, released after. A lease whose `until` has
 * passed belongs to a holder that crashed or hung, and is taken over; `expireIn` lets Deno KV drop it too.
 * Callers in this process queue on a KeyedMutex first, so only one of them at a time competes for the lease.
 */
import { KeyedMutex, NetworkError, type KeyedLock } from '../../lib/mod.ts';
import { whenNotBusy } from './kv-busy.ts';

interface Lease {
  /** Who holds it: one random id per acquisition. */
  holder: string;
  /** Epoch ms. */
  until: number;
}

export interface DenoKvLeaseOptions {
  /** Where leases live. Default ['leases', 'account']. */
  prefix?: Deno.KvKey;
  /** How long a lease lasts unless renewed (renewed every third of it). Default 15 s. */
  ttlMs?: number;
  /** How long a caller waits for a lease another process holds. Default 30 s. */
  maxWaitMs?: number;
}

const FIRST_RETRY_MS = 10;
const MAX_RETRY_MS = 200;

export class DenoKvLease implements KeyedLock {
  private readonly kv: Deno.Kv;
  private readonly local = new KeyedMutex();
  private readonly prefix: Deno.KvKey;
  private readonly ttlMs: number;
  private readonly maxWaitMs: number;

  constructor(kv: Deno.Kv, options: DenoKvLeaseOptions = {}) {
    this.kv = kv;
    this.prefix = options.prefix ?? ['leases', 'account'];
    this.ttlMs = options.ttlMs ?? 15_000;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
  }

  /**
   * Runs `work` while holding the lease of `key`, in this process and across every process on this KV.
   * @throws NetworkError `request_timeout` (504) when another process held the lease for longer than
   *   `maxWaitMs`; `work` has then not run.
   */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.local.run(key, () => this.holding([...this.prefix, key], work));
  }

  private async holding<T>(key: Deno.KvKey, work: () => Promise<T>): Promise<T> {
    const holder = crypto.randomUUID();
    await this.acquire(key, holder);
    let renewal: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewal = renewal.then(() => this.renew(key, holder)).catch(() => undefined);
    }, Math.max(1, Math.floor(this.ttlMs / 3)));
    try {
      return await work();
    } finally {
      clearInterval(timer);
      await renewal;
      await this.release(key, holder).catch(() => undefined);
    }
  }

  private async acquire(key: Deno.KvKey, holder: string): Promise<void> {
    const deadline = Date.now() + this.maxWaitMs;
    for (let delay = FIRST_RETRY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
      const entry = await this.kv.get<Lease>(key);
      const now = Date.now();
      if (entry.value === null || entry.value.until <= now) {
        const lease: Lease = { holder, until: now + this.ttlMs };
        if ((await whenNotBusy(() => this.kv.atomic().check(entry).set(key, lease, { expireIn: this.ttlMs }).commit())).ok) return;
        continue; // Someone else took it (or released it) just now: look again at once.
      }
      if (now >= deadline) {
        throw new NetworkError('request_timeout', `The account is being refreshed by another process for more than ${Math.round(this.maxWaitMs / 1000)} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, deadline - now)));
    }
  }

  /** Extends our lease; a lease lost meanwhile (we stalled past `until` and another took over) is left alone. */
  private async renew(key: Deno.KvKey, holder: string): Promise<void> {
    const entry = await this.kv.get<Lease>(key);
    if (entry.value?.holder !== holder) return;
    const lease: Lease = { holder, until: Date.now() + this.ttlMs };
    await whenNotBusy(() => this.kv.atomic().check(entry).set(key, lease, { expireIn: this.ttlMs }).commit());
  }

  private async release(key: Deno.KvKey, holder: string): Promise<void> {
    const entry = await this.kv.get<Lease>(key);
    if (entry.value?.holder !== holder) return;
    await whenNotBusy(() => this.kv.atomic().check(entry).delete(key).commit());
  }
}
