/**
 * DenoKvLease (functions/deno/kv-lease.ts), what only a lease in a shared store must do: exclude across
 * processes (two KV handles on one file), outlive its TTL while the work runs (renewal), give way once a
 * crashed holder's lease expires, bound the wait, and leave nothing behind. Deno only.
 */
import { DenoKvLease } from '../../functions/deno/kv-lease.ts';
import { NetworkError } from '../../lib/errors.ts';
import { assert, assertEquals, assertRejects, denoOnlyTest } from '../lib/spec.ts';
import { sleep } from './adapters.ts';
import { withKv, withKvFile } from './deno-adapters.ts';

const KEY = ['leases', 'account', 'uid.utid'];

denoOnlyTest('DenoKvLease: two processes never hold one account at once', () =>
  withKvFile(async (open) => {
    const processes = [new DenoKvLease(await open()), new DenoKvLease(await open())];
    let inFlight = 0;
    let maxInFlight = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        processes[i % 2]!.run('uid.utid', async () => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await sleep(10);
          inFlight--;
        }),
      ),
    );
    assertEquals(maxInFlight, 1);
  }));

denoOnlyTest('DenoKvLease: the lease is renewed while the work runs, so a long refresh keeps it', () =>
  withKvFile(async (open) => {
    const [kvA, kvB] = [await open(), await open()];
    const a = new DenoKvLease(kvA, { ttlMs: 150 });
    const b = new DenoKvLease(kvB, { ttlMs: 150 });
    const events: string[] = [];
    const first = a.run('uid.utid', async () => {
      events.push('a start');
      await sleep(600); // four TTLs
      events.push('a end');
    });
    await sleep(30);
    const second = b.run('uid.utid', async () => {
      events.push('b start');
    });
    await Promise.all([first, second]);
    assertEquals(events, ['a start', 'a end', 'b start']);
  }));

denoOnlyTest("DenoKvLease: a crashed holder's lease is taken over once it expires", () =>
  withKv(async (kv) => {
    await kv.set(KEY, { holder: 'crashed', until: Date.now() + 300 }, { expireIn: 300 });
    const started = Date.now();
    const waited = await new DenoKvLease(kv).run('uid.utid', async () => Date.now() - started);
    assert(waited >= 250, `waited for the lease to expire (${waited} ms)`);
    assert(waited < 2000, `and not much longer (${waited} ms)`);
    // An expired lease that Deno KV has not deleted yet is taken at once.
    await kv.set(KEY, { holder: 'crashed', until: Date.now() - 1 });
    const start = Date.now();
    await new DenoKvLease(kv).run('uid.utid', async () => undefined);
    assert(Date.now() - start < 200, 'taken over at once');
  }));

denoOnlyTest('DenoKvLease: the wait is bounded (NetworkError request_timeout, 504) and the work never runs', () =>
  withKv(async (kv) => {
    await kv.set(KEY, { holder: 'another process', until: Date.now() + 60_000 }, { expireIn: 60_000 });
    let ran = false;
    const lease = new DenoKvLease(kv, { maxWaitMs: 200 });
    await assertRejects(() => lease.run('uid.utid', async () => (ran = true)), NetworkError, 'request_timeout');
    assertEquals(ran, false);
    // The next caller in this process is not stuck behind the failed one.
    await kv.delete(KEY);
    assertEquals(await lease.run('uid.utid', async () => 'ran'), 'ran');
  }));

denoOnlyTest('DenoKvLease: released after the work, also when it fails; other holders are left alone', () =>
  withKv(async (kv) => {
    const lease = new DenoKvLease(kv);
    await lease.run('uid.utid', async () => {
      const held = (await kv.get<{ holder: string; until: number }>(KEY)).value;
      assert(held !== null && held.until > Date.now(), 'held while running');
    });
    assertEquals((await kv.get(KEY)).value, null);
    await lease.run('uid.utid', () => Promise.reject(new Error('refresh failed'))).catch(() => undefined);
    assertEquals((await kv.get(KEY)).value, null);
    // A holder that stalled past its lease, which another took over, does not release the other's.
    await lease.run('uid.utid', async () => {
      await kv.set(KEY, { holder: 'took over', until: Date.now() + 60_000 });
    });
    assertEquals((await kv.get<{ holder: string }>(KEY)).value?.holder, 'took over');
  }));
