/**
 * Started by deno.mjs: lib's cache-hit loops in Deno, one call in flight, for every flow that serves
 * access tokens: acquireTokenForClient, acquireTokenOnBehalfOf (its assertion already validated: a memo
 * hit) and acquireTokenSilent for a signed-in account (signed in once with the password grant). Each
 * flow twice: the memory layer warm, and off (`memoryEntries: 0`, every hit read from Deno KV, an
 * in-memory database, and opened). The local provider answers the first call of each; every timed call
 * is checked to be a cache hit with that first token.
 * Env: AUTHORITY, CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY, API_SCOPE, OBO_ASSERTION, BENCH_USERNAME,
 * BENCH_PASSWORD, BENCH_PLAN (JSON). Prints one RESULT line (common.mjs's marker) on stdout.
 */
import { ConfidentialClientApplication, MemoryAccountStore, type AccountRecord, type AuthenticationResult, type CacheStore } from '../../lib/mod.ts';
import { DenoKvCacheStore } from '../../functions/deno/deno-kv-cache-store.ts';
import { OBO_SCOPE, SCOPE, measureSequential } from './measure.mjs';

const RESULT_MARK = '@@BENCH_RESULT ';
const env = Deno.env.toObject();
const plan = JSON.parse(env.BENCH_PLAN ?? '{"rounds":5,"roundMs":1000,"warmupMs":500}');

/** Counts the reads that reach Deno KV, so each row can prove which layer served its hits. */
class CountingStore implements CacheStore {
  gets = 0;
  constructor(private readonly inner: CacheStore) {}
  get(key: string) {
    this.gets++;
    return this.inner.get(key);
  }
  put(key: string, value: string, options: { ttlSeconds: number }) {
    return this.inner.put(key, value, options);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
}

type Acquire = (app: ConfidentialClientApplication) => Promise<AuthenticationResult>;

/**
 * The first token through `prime` (from the provider; the silent flow primes with a sign-in), then the
 * timed hits through `acquire`, memory layer warm and off.
 */
async function measureFlow(label: string, acquire: Acquire, prime: Acquire = acquire) {
  const kv = await Deno.openKv(':memory:');
  try {
    const store = new CountingStore(new DenoKvCacheStore(kv));
    const warm = await ConfidentialClientApplication.fromSettings(env, { cacheStore: store });
    const primed = await prime(warm);
    if (primed.tokenSource !== 'identity_provider') throw new Error(`${label}: the first call came from ${primed.tokenSource}`);
    let bad = 0;
    const check = (r: AuthenticationResult) => {
      if (r.tokenSource !== 'cache' || r.accessToken !== primed.accessToken) bad++;
    };
    let gets = store.gets;
    const warmResult = await measureSequential(async () => check(await acquire(warm)), plan);
    const warmReads = store.gets - gets;
    const cold = await ConfidentialClientApplication.fromSettings(env, { cacheStore: store, memoryEntries: 0 });
    await acquire(cold); // an OBO assertion is validated in full once per client: not part of a hit
    gets = store.gets;
    let coldOps = 0;
    const coldResult = await measureSequential(async () => {
      coldOps++;
      check(await acquire(cold));
    }, plan);
    const coldReads = store.gets - gets;
    if (bad) throw new Error(`${label}: ${bad} lookups were not cache hits with the first token`);
    if (warmReads !== 0) throw new Error(`${label}: the warm path read Deno KV ${warmReads} times`);
    if (coldReads < coldOps) throw new Error(`${label}: ${coldReads} Deno KV reads for ${coldOps} lookups with the memory layer off`);
    console.error(`[lib in Deno ${label}] warm ${Math.round(warmResult.median)} ops/s, memory layer off ${Math.round(coldResult.median)} ops/s`);
    return { warm: warmResult, cold: coldResult };
  } finally {
    kv.close();
  }
}

const results: Record<string, unknown> = { deno: Deno.version };

results.client = await measureFlow('client credentials', (app) => app.acquireTokenForClient({ scopes: [SCOPE] }));

const userAssertion = env.OBO_ASSERTION!;
results.obo = await measureFlow('on-behalf-of', (app) => app.acquireTokenOnBehalfOf({ userAssertion, scopes: [OBO_SCOPE] }));

// Silent: one sign-in (password grant) stores the account and caches its first token; every timed call is
// acquireTokenSilent for that account and scope.
const accounts = new MemoryAccountStore<AccountRecord>();
let account: { homeAccountId: string; tenantId: string } | undefined;
const signIn = async (app: ConfidentialClientApplication) => {
  const { result, record } = await app.acquireTokenByUsernamePassword({ username: env.BENCH_USERNAME!, password: env.BENCH_PASSWORD!, scopes: [OBO_SCOPE] });
  await accounts.put(record.account.home_account_id, record);
  account = { homeAccountId: result.account.homeAccountId, tenantId: result.account.tenantId };
  return result;
};
results.silent = await measureFlow('silent', (app) => app.acquireTokenSilent(accounts, { scopes: [OBO_SCOPE], account: account! }), signIn);

console.log(`${RESULT_MARK}${JSON.stringify(results)}`);
