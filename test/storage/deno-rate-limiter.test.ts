/**
 * DenoKvRateLimiter (functions/deno/kv-rate-limiter.ts): a fixed window per key, counted exactly under
 * concurrency and across processes, and the limits wrangler.toml gives the Worker's bindings. Deno only.
 */
import { DENO_RATE_LIMITS, DenoKvRateLimiter } from '../../functions/deno/kv-rate-limiter.ts';
import { assertEquals, denoOnlyTest } from '../lib/spec.ts';
import { sleep } from './adapters.ts';
import { withKv, withKvFile } from './deno-adapters.ts';

async function allowed(limiter: DenoKvRateLimiter, key: string, times: number): Promise<boolean[]> {
  const results: boolean[] = [];
  for (let i = 0; i < times; i++) results.push(await limiter.allow(key));
  return results;
}

denoOnlyTest('DenoKvRateLimiter: the limit per key and window, then refusals; other keys count apart', () =>
  withKv(async (kv) => {
    const limiter = new DenoKvRateLimiter(kv, 'test', 3, 3600);
    assertEquals(await allowed(limiter, 'ip:192.0.2.1', 5), [true, true, true, false, false]);
    assertEquals(await limiter.allow('ip:192.0.2.2'), true);
    assertEquals(await new DenoKvRateLimiter(kv, 'other-limit', 3, 3600).allow('ip:192.0.2.1'), true);
  }));

denoOnlyTest('DenoKvRateLimiter: 25 concurrent requests, two processes, are counted exactly', () =>
  withKvFile(async (open) => {
    const processes = [new DenoKvRateLimiter(await open(), 'test', 10, 3600), new DenoKvRateLimiter(await open(), 'test', 10, 3600)];
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => processes[i % 2]!.allow('account:uid.utid')));
    assertEquals(results.filter(Boolean).length, 10);
  }));

denoOnlyTest('DenoKvRateLimiter: a new window starts a new count', () =>
  withKv(async (kv) => {
    const limiter = new DenoKvRateLimiter(kv, 'test', 1, 1);
    // Start at the beginning of a one-second window, so that two calls fall in it.
    await sleep(1000 - (Date.now() % 1000) + 5);
    assertEquals(await allowed(limiter, 'k', 2), [true, false]);
    await sleep(1000 - (Date.now() % 1000) + 5);
    assertEquals(await limiter.allow('k'), true);
  }));

denoOnlyTest('DenoKvRateLimiter: a long key (a user name) is counted by its hash', () =>
  withKv(async (kv) => {
    const limiter = new DenoKvRateLimiter(kv, 'password', 1, 3600);
    const long = `user:${'a'.repeat(5000)}@contoso.test`;
    assertEquals(await allowed(limiter, long, 2), [true, false]);
  }));

denoOnlyTest("the Deno entry's limits are wrangler.toml's [[ratelimits]]", async () => {
  const toml = await Deno.readTextFile(new URL('../../wrangler.toml', import.meta.url));
  const limits = Object.fromEntries(
    [...toml.matchAll(/\[\[ratelimits\]\]\s*name\s*=\s*"(\w+)"[^[]*?simple\s*=\s*\{\s*limit\s*=\s*(\d+),\s*period\s*=\s*(\d+)/g)].map((m) => [m[1], [Number(m[2]), Number(m[3])]]),
  );
  assertEquals(limits, {
    SIGN_IN_RATE_LIMIT: [DENO_RATE_LIMITS.signIn, 60],
    CACHE_BYPASS_RATE_LIMIT: [DENO_RATE_LIMITS.cacheBypass, 60],
    PASSWORD_RATE_LIMIT: [DENO_RATE_LIMITS.password, 60],
  });
});
