/**
 * CacheStore contract (lib/storage/ports.ts): opaque strings by key, replaced by put, gone after delete;
 * a TTL below the store's minimum is clamped, never refused. Memory everywhere; Deno KV under deno
 * test; Workers KV in workerd.
 */
import { assertEquals, test } from '../lib/spec.ts';
import { storageAdapters } from './adapters.ts';

const { cacheStores } = await storageAdapters();

const key = () => `at1:${crypto.randomUUID()}`;

for (const adapter of cacheStores) {
  const name = (what: string) => `CacheStore [${adapter.name}]: ${what}`;

  test(name('get returns what put stored; a missing key is null'), () =>
    adapter.use(async (store) => {
      const k = key();
      assertEquals(await store.get(k), null);
      await store.put(k, 'v1.sealed-value', { ttlSeconds: 3600 });
      assertEquals(await store.get(k), 'v1.sealed-value');
    }));

  test(name('put replaces; delete removes; deleting a missing key is fine'), () =>
    adapter.use(async (store) => {
      const k = key();
      await store.put(k, 'first', { ttlSeconds: 3600 });
      await store.put(k, 'second', { ttlSeconds: 3600 });
      assertEquals(await store.get(k), 'second');
      await store.delete(k);
      assertEquals(await store.get(k), null);
      await store.delete(k);
    }));

  test(name('keys are kept apart'), () =>
    adapter.use(async (store) => {
      const [a, b] = [key(), key()];
      await store.put(a, 'a', { ttlSeconds: 3600 });
      await store.put(b, 'b', { ttlSeconds: 3600 });
      await store.delete(a);
      assertEquals([await store.get(a), await store.get(b)], [null, 'b']);
    }));

  test(name('a TTL under the store minimum (or a fraction of a second) is clamped, not refused'), () =>
    adapter.use(async (store) => {
      const [a, b] = [key(), key()];
      await store.put(a, 'short', { ttlSeconds: 1 });
      await store.put(b, 'shorter', { ttlSeconds: 0.2 });
      assertEquals([await store.get(a), await store.get(b)], ['short', 'shorter']);
    }));

  test(name('values up to a sealed entry\'s size survive unchanged'), () =>
    adapter.use(async (store) => {
      const k = key();
      const value = `v1.${'A'.repeat(8 * 1024)}-_`;
      await store.put(k, value, { ttlSeconds: 3600 });
      assertEquals(await store.get(k), value);
    }));
}
