/**
 * KeyedLock contract (lib/concurrency.ts), the account lock of every refresh: work for one key runs one
 * at a time, other keys do not wait, and a failure releases the key. KeyedMutex everywhere; under deno
 * test also DenoKvLease, alone and as two processes (two KV handles on one file).
 */
import { assert, assertEquals, test } from '../lib/spec.ts';
import { sleep, storageAdapters } from './adapters.ts';

const { keyedLocks } = await storageAdapters();

class Boom extends Error {}

for (const adapter of keyedLocks) {
  const name = (what: string) => `KeyedLock [${adapter.name}]: ${what}`;

  test(name('work for one key runs one at a time, and every caller gets its own result'), () =>
    adapter.use(async (lock) => {
      let inFlight = 0;
      let maxInFlight = 0;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          lock.run('uid.utid', async () => {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            await sleep(5);
            inFlight--;
            return i;
          }),
        ),
      );
      assertEquals(maxInFlight, 1);
      assertEquals(results, [0, 1, 2, 3, 4, 5, 6, 7]);
    }));

  test(name('work for another key does not wait'), () =>
    adapter.use(async (lock) => {
      let release!: () => void;
      const held = lock.run('a', () => new Promise<void>((resolve) => (release = resolve)));
      await sleep(20);
      assertEquals(await lock.run('b', async () => 'b ran'), 'b ran');
      release();
      await held;
    }));

  test(name('a failing work rejects its caller and releases the key'), () =>
    adapter.use(async (lock) => {
      const failed = lock.run('k', async () => {
        throw new Boom('refresh failed');
      });
      const next = lock.run('k', async () => 'next');
      let caught: unknown;
      await failed.catch((error) => (caught = error));
      assert(caught instanceof Boom, 'the work\'s own error');
      assertEquals(await next, 'next');
    }));
}
