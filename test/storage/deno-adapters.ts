/** The Deno KV adapters of the storage contract suites, and KV handles for tests (Deno only). */
import { DenoKvCacheStore } from '../../functions/deno/deno-kv-cache-store.ts';
import { DenoKvAccountStorage } from '../../functions/deno/kv-account-sessions.ts';
import { DenoKvFlowStore } from '../../functions/deno/kv-flow-store.ts';
import { DenoKvLease } from '../../functions/deno/kv-lease.ts';
import type { StorageAdapters, TestFlow } from './adapters.ts';

/** A fresh in-memory Deno KV for `fn`, closed afterwards. */
export async function withKv<R>(fn: (kv: Deno.Kv) => Promise<R>): Promise<R> {
  const kv = await Deno.openKv(':memory:');
  try {
    return await fn(kv);
  } finally {
    kv.close();
  }
}

/** A Deno KV file that several handles open, as several processes would; removed afterwards. */
export async function withKvFile<R>(fn: (open: () => Promise<Deno.Kv>) => Promise<R>): Promise<R> {
  const dir = await Deno.makeTempDir({ prefix: 'etf-kv-' });
  const handles: Deno.Kv[] = [];
  try {
    return await fn(async () => {
      const kv = await Deno.openKv(`${dir}/kv.sqlite`);
      handles.push(kv);
      return kv;
    });
  } finally {
    for (const kv of handles) kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

export function denoAdapters(): StorageAdapters {
  return {
    flowStores: [{ name: 'deno-kv', use: (fn) => withKv((kv) => fn(new DenoKvFlowStore<TestFlow>(kv))) }],
    cacheStores: [{ name: 'deno-kv', use: (fn) => withKv((kv) => fn(new DenoKvCacheStore(kv))) }],
    accountStorages: [{ name: 'deno-kv', use: (fn) => withKv((kv) => fn(new DenoKvAccountStorage(kv, 'uid.utid'))) }],
    keyedLocks: [
      { name: 'deno-kv (DenoKvLease)', use: (fn) => withKv((kv) => fn(new DenoKvLease(kv))) },
      // Two processes: every other call goes through a second handle on the same file, with its own lease client.
      {
        name: 'deno-kv (DenoKvLease, two handles on one file)',
        use: (fn) =>
          withKvFile(async (open) => {
            const [a, b] = [new DenoKvLease(await open()), new DenoKvLease(await open())];
            let turn = 0;
            return fn({ run: (key, work) => ((turn++ % 2 === 0 ? a : b).run(key, work)) });
          }),
      },
    ],
  };
}
