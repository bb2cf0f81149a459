/**
 * The Workers adapters of the storage contract suites (test/storage), over the test's own bindings:
 * Workers KV, the FLOWS Durable Object, and an AccountObject's storage. Loaded only under vitest in workerd.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { ObjectSessionStorage } from '../../functions/workers/account-object.ts';
import { DurableObjectFlowStore } from '../../functions/workers/do-flow-store.ts';
import { KVCacheStore } from '../../lib/mod.ts';
import type { StorageAdapters, TestFlow } from '../storage/adapters.ts';

export function workersAdapters(): StorageAdapters {
  return {
    flowStores: [{ name: 'durable-object', use: (fn) => fn(new DurableObjectFlowStore<TestFlow>(env.FLOWS)) }],
    cacheStores: [{ name: 'workers-kv', use: (fn) => fn(new KVCacheStore(env.TOKEN_CACHE)) }],
    accountStorages: [
      {
        name: 'durable-object',
        use: (fn) => runInDurableObject(env.ACCOUNTS.get(env.ACCOUNTS.newUniqueId()), (_instance, state) => fn(new ObjectSessionStorage(state.storage))),
      },
    ],
    // An AccountObject serialises its refreshes with the client's KeyedMutex: the memory adapter is its lock.
    keyedLocks: [],
  };
}
