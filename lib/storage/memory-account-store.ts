/**
 * AccountStore in memory, for one process that owns its accounts (a Node or Deno server with a single
 * instance, and tests). Not for Workers: isolates do not share memory.
 */
import type { AccountStore } from './ports.ts';

export class MemoryAccountStore<R> implements AccountStore<R> {
  private readonly records = new Map<string, string>();

  async list(): Promise<R[]> {
    return [...this.records.values()].map((json) => JSON.parse(json) as R);
  }

  async get(homeAccountId: string): Promise<R | null> {
    const json = this.records.get(homeAccountId);
    return json === undefined ? null : (JSON.parse(json) as R);
  }

  async put(homeAccountId: string, record: R): Promise<void> {
    // Stored as JSON so callers can never mutate what is stored through a returned object.
    this.records.set(homeAccountId, JSON.stringify(record));
  }

  async delete(homeAccountId: string): Promise<void> {
    this.records.delete(homeAccountId);
  }
}
