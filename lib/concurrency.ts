/** In-isolate coordination of concurrent work: shared results and per-key serialisation. */

/** One running promise per key: concurrent callers for the same work share it. */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const promise = work().finally(() => this.running.delete(key));
    this.running.set(key, promise);
    return promise;
  }
}

/**
 * Runs work for one key strictly one after another. A refresh token may be rotated by each use, so two
 * refreshes of one account (even for different scopes) must never overlap. In one isolate a KeyedMutex
 * is enough (on Workers every account has its own Durable Object); where several processes share one
 * account store (Deno KV), a lease in that store implements it.
 */
export interface KeyedLock {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export class KeyedMutex implements KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
