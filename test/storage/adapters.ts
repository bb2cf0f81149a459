/**
 * The storage adapters every contract suite in test/storage runs against: the memory ones everywhere,
 * Deno KV's under `deno test` (deno-adapters.ts), Workers KV's and the Durable Objects' under vitest in
 * workerd (test/workers/storage-adapters.ts, loaded by a specifier Deno never resolves).
 */
import type { AccountSessionStorage, StoredSession } from '../../functions/account-sessions-core.ts';
import type { SessionKind } from '../../functions/sessions.ts';
import { KeyedMutex, type KeyedLock } from '../../lib/concurrency.ts';
import type { AccountRecord } from '../../lib/account.ts';
import { MemoryFlowStore } from '../../lib/storage/memory-flow-store.ts';
import type { CacheStore, FlowStore } from '../../lib/storage/ports.ts';
import { MemoryCacheStore } from '../lib/fakes.ts';
import { isDeno } from '../lib/spec.ts';

/** One adapter of a port: `use` hands a fresh instance to `fn` and cleans up after it. */
export interface Adapter<P> {
  name: string;
  use<R>(fn: (port: P) => Promise<R>): Promise<R>;
}

export interface TestFlow {
  state: string;
  codeVerifier: string;
  returnTo: string;
}

export interface StorageAdapters {
  flowStores: Adapter<FlowStore<TestFlow>>[];
  cacheStores: Adapter<CacheStore>[];
  /** The per-account storage of account-sessions-core.ts (for the account `uid.utid`). */
  accountStorages: Adapter<AccountSessionStorage>[];
  keyedLocks: Adapter<KeyedLock>[];
}

/** AccountSessionStorage in memory: the reference the runtime adapters are held to. */
export class MemoryAccountSessionStorage implements AccountSessionStorage {
  private record: string | null = null;
  private readonly sessions = new Map<string, number>();

  async getRecord(): Promise<AccountRecord | null> {
    return this.record === null ? null : (JSON.parse(this.record) as AccountRecord);
  }
  async putRecord(record: AccountRecord): Promise<void> {
    this.record = JSON.stringify(record);
  }
  async updateRecord(record: AccountRecord): Promise<boolean> {
    if (this.record === null) return false;
    this.record = JSON.stringify(record);
    return true;
  }
  async getSession(kind: SessionKind, sid: string): Promise<number | null> {
    return this.sessions.get(`${kind}:${sid}`) ?? null;
  }
  async putSession(kind: SessionKind, sid: string, expiresAt: number): Promise<void> {
    this.sessions.set(`${kind}:${sid}`, expiresAt);
  }
  async listSessions(kind: SessionKind): Promise<StoredSession[]> {
    const prefix = `${kind}:`;
    return [...this.sessions].filter(([key]) => key.startsWith(prefix)).map(([key, expiresAt]) => ({ sid: key.slice(prefix.length), expiresAt }));
  }
  async deleteSessions(kind: SessionKind, sids: readonly string[]): Promise<void> {
    for (const sid of sids) this.sessions.delete(`${kind}:${sid}`);
  }
  async deleteAll(): Promise<void> {
    this.record = null;
    this.sessions.clear();
  }
}

function fresh<P>(name: string, make: () => P): Adapter<P> {
  return { name, use: (fn) => fn(make()) };
}

const memoryAdapters: StorageAdapters = {
  flowStores: [fresh('memory', () => new MemoryFlowStore<TestFlow>())],
  cacheStores: [fresh('memory', () => new MemoryCacheStore())],
  accountStorages: [fresh('memory', () => new MemoryAccountSessionStorage())],
  keyedLocks: [fresh('memory (KeyedMutex)', () => new KeyedMutex())],
};

/**
 * Specifiers in variables: neither runtime resolves, nor type-checks, the other's adapters through this
 * module (Deno cannot load cloudflare:test; the Workers type-check knows no Deno namespace).
 */
async function runtimeAdapters(): Promise<StorageAdapters> {
  const module = isDeno ? './deno-adapters.ts' : '../workers/storage-adapters.ts';
  const adapters = (await import(/* @vite-ignore */ module)) as { denoAdapters?(): StorageAdapters; workersAdapters?(): StorageAdapters };
  return isDeno ? adapters.denoAdapters!() : adapters.workersAdapters!();
}

/** Every adapter of every port for this runtime. */
export async function storageAdapters(): Promise<StorageAdapters> {
  const runtime = await runtimeAdapters();
  return {
    flowStores: [...memoryAdapters.flowStores, ...runtime.flowStores],
    cacheStores: [...memoryAdapters.cacheStores, ...runtime.cacheStores],
    accountStorages: [...memoryAdapters.accountStorages, ...runtime.accountStorages],
    keyedLocks: [...memoryAdapters.keyedLocks, ...runtime.keyedLocks],
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
