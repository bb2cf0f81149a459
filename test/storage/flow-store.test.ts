/**
 * FlowStore contract (lib/storage/ports.ts): a flow is handed out once, even to concurrent callbacks, and
 * never after its lifetime. Memory everywhere; Deno KV under deno test; the FLOWS Durable Object in workerd.
 */
import { assert, assertEquals, test } from '../lib/spec.ts';
import { sleep, storageAdapters, type TestFlow } from './adapters.ts';

const { flowStores } = await storageAdapters();

function flow(): { id: string; value: TestFlow } {
  const id = crypto.randomUUID();
  return { id, value: { state: id, codeVerifier: crypto.randomUUID(), returnTo: '/after?x=1' } };
}

for (const adapter of flowStores) {
  const name = (what: string) => `FlowStore [${adapter.name}]: ${what}`;

  test(name('consume hands the flow back once, as it was put'), () =>
    adapter.use(async (store) => {
      const { id, value } = flow();
      await store.put(id, value, { ttlSeconds: 600 });
      assertEquals(await store.consume(id), value);
      assertEquals(await store.consume(id), null);
    }));

  test(name('an unknown id is null'), () =>
    adapter.use(async (store) => {
      assertEquals(await store.consume(crypto.randomUUID()), null);
    }));

  test(name('flows are kept apart by id'), () =>
    adapter.use(async (store) => {
      const [a, b] = [flow(), flow()];
      await store.put(a.id, a.value, { ttlSeconds: 600 });
      await store.put(b.id, b.value, { ttlSeconds: 600 });
      assertEquals(await store.consume(b.id), b.value);
      assertEquals(await store.consume(a.id), a.value);
    }));

  test(name('of 20 concurrent consumes exactly one gets the flow'), () =>
    adapter.use(async (store) => {
      const { id, value } = flow();
      await store.put(id, value, { ttlSeconds: 600 });
      const results = await Promise.all(Array.from({ length: 20 }, () => store.consume(id)));
      const winners = results.filter((r) => r !== null);
      assertEquals(winners.length, 1);
      assertEquals(winners[0], value);
    }));

  test(name('an expired flow is null on read, whenever the store gets round to deleting it'), () =>
    adapter.use(async (store) => {
      const { id, value } = flow();
      await store.put(id, value, { ttlSeconds: 0.1 });
      await sleep(200);
      assertEquals(await store.consume(id), null);
    }));

  test(name('put again under the same id replaces the flow (and its lifetime)'), () =>
    adapter.use(async (store) => {
      const { id, value } = flow();
      await store.put(id, value, { ttlSeconds: 0.1 });
      const replaced = { ...value, returnTo: '/other' };
      await store.put(id, replaced, { ttlSeconds: 600 });
      await sleep(200);
      const consumed = await store.consume(id);
      assert(consumed !== null, 'the replacement lives on');
      assertEquals(consumed, replaced);
    }));
}
