/**
 * Fleet-wide single flight in workerd against the local provider: several "isolates" (separate client
 * instances, each with its own memory layer and single flight, sharing the env's KV and TOKEN_FLIGHTS
 * bindings) miss one key at once, and the key's TokenFlightObject makes one provider request for all of
 * them. Also: hits never reach the object, an unreachable object is passed by (and counted), the alarm
 * renews a key in use and forgets an unused one, a 429 is honoured for every caller of the key, and
 * on-behalf-of coalesces per assertion. The isolates run with the env's own settings (the objects'), so
 * each test starts from a clean key: KV entry deleted, object storage cleared, object evicted.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { TokenFlightState } from '../../functions/token-flight-core.ts';
import { DurableObjectTokenFlights, tokenFlightsFor, type TokenFlightStats } from '../../functions/workers/token-flights.ts';
import type { Env } from '../../functions/workers/index.ts';
import type { TokenFlightObject } from '../../functions/workers/token-flight-object.ts';
import { ConfidentialClientApplication, KVCacheStore, ServerError, type AuthenticationResult, type CacheStore, type FleetFlights } from '../../lib/mod.ts';
import { Browser, alice, freshSignInState, signInSettings } from './browser-driver.ts';
import { appTokenStorageKey, env, provider, sleep } from './harness.ts';

const SCOPE = 'api://downstream/.default';
const DOWNSTREAM = 'api://downstream/read';
const API_SCOPE = 'api://web-app/access_as_user';

type Namespace = DurableObjectNamespace<TokenFlightObject>;
/** The deployment's own settings and bindings (the objects read the same). */
const own = env as Env;
const flights = (): Namespace => env.TOKEN_FLIGHTS as Namespace;

function newStats(): TokenFlightStats {
  return { viaObject: 0, fallbacks: 0, notThisClient: 0 };
}

/** KV as a far location sees it just after another one wrote: nothing yet (its own writes go through). */
class NotYetVisibleStore implements CacheStore {
  constructor(private readonly inner: CacheStore) {}
  get(): Promise<string | null> {
    return Promise.resolve(null);
  }
  put(key: string, value: string, options: { ttlSeconds: number }): Promise<void> {
    return this.inner.put(key, value, options);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

interface IsolateOptions {
  fleet?: FleetFlights<AuthenticationResult>;
  stats?: TokenFlightStats;
  /** KV does not show this isolate the other isolates' writes yet. */
  kvBehind?: boolean;
  settings?: Record<string, unknown>;
}

/** One simulated isolate: its own client (memory layer, single flight, throttling), the env's bindings. */
function isolate(options: IsolateOptions = {}): Promise<ConfidentialClientApplication> {
  const settings = options.settings ?? own;
  const kv = new KVCacheStore(env.TOKEN_CACHE);
  const fleet = options.fleet ?? new DurableObjectTokenFlights(flights(), settings, { stats: options.stats ?? newStats() });
  return ConfidentialClientApplication.fromSettings(settings, { cacheStore: options.kvBehind ? new NotYetVisibleStore(kv) : kv, fleet });
}

function isolates(count: number, options: IsolateOptions = {}): Promise<ConfidentialClientApplication[]> {
  return Promise.all(Array.from({ length: count }, () => isolate(options)));
}

function objectFor(key: string) {
  return flights().get(flights().idFromName(key));
}

async function objectState(key: string): Promise<{ state: TokenFlightState | undefined; alarm: number | null }> {
  return runInDurableObject(objectFor(key), async (_object, ctx) => ({ state: await ctx.storage.get<TokenFlightState>('state'), alarm: await ctx.storage.getAlarm() }));
}

/** The key as if never used: no KV entry, no object state or alarm, no object in memory. */
async function resetKey(key: string): Promise<void> {
  await env.TOKEN_CACHE.delete(key);
  const stub = objectFor(key);
  await runInDurableObject(stub, async (_object, ctx) => {
    await ctx.storage.deleteAlarm();
    await ctx.storage.deleteAll();
  });
  await evictDurableObject(stub).catch(() => undefined);
}

async function clientCredentialsCalls(): Promise<number> {
  return provider.clientCredentialsCalls();
}

/** A namespace whose objects cannot be reached: every call fails, or never answers. */
function unreachable(kind: 'rejects' | 'hangs'): Namespace {
  const stub = {
    acquire: () => (kind === 'rejects' ? Promise.reject(new Error('Durable Object is overloaded')) : new Promise(() => undefined)),
  };
  return { idFromName: (name: string) => flights().idFromName(name), get: () => stub } as unknown as Namespace;
}

let key: string;

describe('app-only tokens across isolates', () => {
  beforeEach(async () => {
    await provider.reset();
    key = await appTokenStorageKey(SCOPE);
    await resetKey(key);
  });
  afterEach(() => provider.reset());

  test('misses from six isolates for one key make one provider request; every caller gets its token', async () => {
    const stats = newStats();
    const all = await isolates(6, { stats });
    const results = await Promise.all(all.flatMap((client) => Array.from({ length: 5 }, () => client.acquireTokenForClient({ scopes: [SCOPE] }))));
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(await clientCredentialsCalls()).toBe(1);
    // Each isolate asked once: its concurrent callers shared its own flight.
    expect(stats).toMatchObject({ viaObject: 6, fallbacks: 0 });
    expect((await objectState(key)).alarm).not.toBeNull();
  });

  test('hits never reach the object: memory in the isolate, then KV in another one', async () => {
    let gets = 0;
    const counting = { idFromName: (name: string) => flights().idFromName(name), get: (id: DurableObjectId) => (gets++, flights().get(id)) } as unknown as Namespace;
    const fleet = new DurableObjectTokenFlights(counting, own, { stats: newStats() });
    const [first, second] = await isolates(2, { fleet });
    const fetched = await first!.acquireTokenForClient({ scopes: [SCOPE] });
    expect(fetched.tokenSource).toBe('identity_provider');
    expect(gets).toBe(1);
    expect(await first!.acquireTokenForClient({ scopes: [SCOPE] })).toMatchObject({ accessToken: fetched.accessToken, tokenSource: 'cache' });
    expect(await second!.acquireTokenForClient({ scopes: [SCOPE] })).toMatchObject({ accessToken: fetched.accessToken, tokenSource: 'cache' });
    expect(gets).toBe(1);
    expect(await clientCredentialsCalls()).toBe(1);
  });

  test('an isolate that lost the race to KV is answered by the object from its memory, without the provider', async () => {
    const [first] = await isolates(1);
    const fetched = await first!.acquireTokenForClient({ scopes: [SCOPE] });
    const stats = newStats();
    const far = await isolate({ kvBehind: true, stats });
    expect(await far.acquireTokenForClient({ scopes: [SCOPE] })).toMatchObject({ accessToken: fetched.accessToken, tokenSource: 'cache' });
    expect(stats.viaObject).toBe(1);
    expect(await clientCredentialsCalls()).toBe(1);
  });

  test('a forced refresh and a claims challenge stay in the isolate', async () => {
    let gets = 0;
    const counting = { idFromName: (name: string) => flights().idFromName(name), get: (id: DurableObjectId) => (gets++, flights().get(id)) } as unknown as Namespace;
    const client = await isolate({ fleet: new DurableObjectTokenFlights(counting, own, { stats: newStats() }) });
    await client.acquireTokenForClient({ scopes: [SCOPE], forceRefresh: true });
    await client.acquireTokenForClient({ scopes: [SCOPE], claims: '{"access_token":{"xms_cc":{"values":["cp1"]}}}' });
    expect(gets).toBe(0);
    expect(await clientCredentialsCalls()).toBe(2);
  });

  for (const kind of ['rejects', 'hangs'] as const) {
    test(`an object that ${kind === 'rejects' ? 'fails' : 'does not answer within the bound'}: the isolate asks the provider itself, and it is counted`, async () => {
      const stats = newStats();
      const fleet = new DurableObjectTokenFlights(unreachable(kind), own, { stats, reachTimeoutMs: 300 });
      const client = await isolate({ fleet });
      const started = Date.now();
      const results = await Promise.all([1, 2, 3].map(() => client.acquireTokenForClient({ scopes: [SCOPE] })));
      expect(results.every((r) => r.tokenSource === 'identity_provider' && r.accessToken === results[0]!.accessToken)).toBe(true);
      expect(stats).toMatchObject({ fallbacks: 1, viaObject: 0 });
      expect(await clientCredentialsCalls()).toBe(1);
      if (kind === 'hangs') expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    });
  }

  test('the object refuses an isolate with other settings (another sealing key): it asks the provider itself', async () => {
    const stats = newStats();
    const settings = { ...own, TOKEN_CACHE_KEY: 'another-key-another-key-another-key-0123' };
    const client = await isolate({ settings, stats });
    expect((await client.acquireTokenForClient({ scopes: [SCOPE] })).tokenSource).toBe('identity_provider');
    expect(stats).toMatchObject({ notThisClient: 1, viaObject: 0, fallbacks: 0 });
    // The Worker does not even ask: only requests served with its own settings use the fleet.
    expect(tokenFlightsFor(settings)).toBeUndefined();
    expect(tokenFlightsFor(own)).toBeInstanceOf(DurableObjectTokenFlights);
  });

  test("the alarm renews a key in use at its refresh_on, so that no request waits on the provider", async () => {
    await provider.tokenLifetime({ refreshIn: 2 });
    const [near] = await isolates(1);
    const first = await near!.acquireTokenForClient({ scopes: [SCOPE] });
    await provider.tokenLifetime({ refreshIn: null as unknown as number });
    // Another isolate, far from the object's KV write, misses: the object answers it, and counts the key as in use.
    const far = await isolate({ kvBehind: true });
    expect(await far.acquireTokenForClient({ scopes: [SCOPE] })).toMatchObject({ accessToken: first.accessToken, tokenSource: 'cache' });
    await sleep(Math.max(0, first.refreshOn! * 1000 - Date.now()) + 300);
    await runDurableObjectAlarm(objectFor(key)); // whether or not the real alarm has already run
    expect(await clientCredentialsCalls()).toBe(2);
    const { state, alarm } = await objectState(key);
    expect(state?.renewAt).toBeGreaterThan(Date.now() + 60 * 60_000 - 10 * 60_000);
    expect(alarm).toBe(state?.renewAt);
    // Nobody waited: an isolate that starts now reads the renewed token from KV; the near one serves its
    // old token once more and gets the new one from the object behind the answer.
    const fresh = await isolate();
    const renewed = await fresh.acquireTokenForClient({ scopes: [SCOPE] });
    expect(renewed).toMatchObject({ tokenSource: 'cache' });
    expect(renewed.accessToken).not.toBe(first.accessToken);
    const waits: Promise<unknown>[] = [];
    expect(await near!.acquireTokenForClient({ scopes: [SCOPE] }, { waitUntil: (p) => waits.push(p) })).toMatchObject({ accessToken: first.accessToken, tokenSource: 'cache' });
    await Promise.all(waits);
    expect(await near!.acquireTokenForClient({ scopes: [SCOPE] })).toMatchObject({ accessToken: renewed.accessToken, tokenSource: 'cache' });
    expect(await clientCredentialsCalls()).toBe(2);
  });

  test("an unused key's alarm renews nothing and stops: the token is left to expire", async () => {
    await provider.tokenLifetime({ refreshIn: 2 });
    const [only] = await isolates(1);
    const first = await only!.acquireTokenForClient({ scopes: [SCOPE] });
    await provider.tokenLifetime({ refreshIn: null as unknown as number });
    expect((await objectState(key)).alarm).toBe(first.refreshOn! * 1000);
    await sleep(Math.max(0, first.refreshOn! * 1000 - Date.now()) + 300);
    await runDurableObjectAlarm(objectFor(key));
    expect(await objectState(key)).toEqual({ state: undefined, alarm: null });
    expect(await clientCredentialsCalls()).toBe(1);
    expect(await env.TOKEN_CACHE.get(key)).not.toBeNull();
  });

  test('a 429 on the renewal ahead: the valid token is still handed out, by an evicted object too, and the provider is left alone', async () => {
    await provider.tokenLifetime({ refreshIn: 2 });
    const [near] = await isolates(1);
    const first = await near!.acquireTokenForClient({ scopes: [SCOPE] });
    await provider.tokenLifetime({ refreshIn: null as unknown as number });
    await (await isolate({ kvBehind: true })).acquireTokenForClient({ scopes: [SCOPE] });
    await provider.fault({ endpoint: 'token:client_credentials', kind: '429', retryAfter: 30 });
    await sleep(Math.max(0, first.refreshOn! * 1000 - Date.now()) + 300);
    await runDurableObjectAlarm(objectFor(key));
    // The cold fetch, and the renewal the provider refused.
    expect(await clientCredentialsCalls()).toBe(2);
    expect((await objectState(key)).alarm).toBeGreaterThan(Date.now() + 20_000);
    await evictDurableObject(objectFor(key)).catch(() => undefined);
    const far = await isolate({ kvBehind: true });
    expect(await far.acquireTokenForClient({ scopes: [SCOPE] })).toMatchObject({ accessToken: first.accessToken, tokenSource: 'cache' });
    // An isolate past refresh_on asks for the renewal behind its answer: it keeps the valid token.
    const waits: Promise<unknown>[] = [];
    expect(await near!.acquireTokenForClient({ scopes: [SCOPE] }, { waitUntil: (p) => waits.push(p) })).toMatchObject({ accessToken: first.accessToken });
    await Promise.all(waits);
    expect(await clientCredentialsCalls()).toBe(2);
  });

  test("a provider 429 is honoured for every caller of the key, in every isolate, until Retry-After", async () => {
    await provider.fault({ endpoint: 'token:client_credentials', kind: '429', retryAfter: 2 });
    const burst = await isolates(4);
    const outcomes = await Promise.allSettled(burst.map((client) => client.acquireTokenForClient({ scopes: [SCOPE] })));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as ServerError;
      expect(error).toBeInstanceOf(ServerError);
      expect(error.providerStatus).toBe(429);
      expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    }
    // A new isolate, later: answered from the object's throttle, without the provider.
    const later = await isolate();
    const refused = await later.acquireTokenForClient({ scopes: [SCOPE] }).catch((error: unknown) => error as ServerError);
    expect(refused).toBeInstanceOf(ServerError);
    expect((refused as ServerError).retryAfter).toBeLessThanOrEqual(2);
    expect(await clientCredentialsCalls()).toBe(1);
    await sleep(2_100);
    expect((await (await isolate()).acquireTokenForClient({ scopes: [SCOPE] })).tokenSource).toBe('identity_provider');
    expect(await clientCredentialsCalls()).toBe(2);
  });
});

describe('on-behalf-of across isolates', () => {
  const OBO = { SPA_SCOPES: `${DOWNSTREAM} ${API_SCOPE}`, OBO_SCOPES: DOWNSTREAM };
  beforeEach(freshSignInState);

  /** A user's access token for this app's API, as the SPA gets it from /auth/token. */
  async function userAssertion(): Promise<string> {
    const worker = await signInSettings({ ...OBO, TOKEN_CACHE_KEY: crypto.randomUUID() + crypto.randomUUID() });
    const browser = new Browser(worker);
    expect((await browser.signIn(alice)).status).toBe(302);
    // force_refresh: a token minted now, under this test's token lifetime (not one cached for Alice earlier).
    const response = await browser.post('/auth/token', { json: { scopes: [API_SCOPE], force_refresh: true }, headers: { origin: 'https://worker.test', 'x-requested-with': 'fetch' } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function exchanges(): Promise<number> {
    return (await provider.counts())['token:jwt-bearer'] ?? 0;
  }

  async function oboStorageKey(client: ConfidentialClientApplication, assertion: string): Promise<string> {
    const { storageKeyFor } = await import('../../lib/cache/token-cache.ts');
    const { accessTokenKey } = await import('../../lib/cache/entities.ts');
    const { onBehalfOfQuery } = await import('../../lib/flows/on-behalf-of.ts');
    const caller = await client.validateCallerAssertion(assertion);
    const ctx = (client as unknown as { ctx: Parameters<typeof onBehalfOfQuery>[0] }).ctx;
    return storageKeyFor(accessTokenKey(onBehalfOfQuery(ctx, caller, [DOWNSTREAM])));
  }

  test('misses for one assertion from four isolates make one exchange; the object keeps the assertion until renewal', async () => {
    const assertion = await userAssertion();
    await provider.reset();
    const all = await isolates(4);
    const results = await Promise.all(all.flatMap((client) => [1, 2].map(() => client.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: [DOWNSTREAM] }))));
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(await exchanges()).toBe(1);
    const { state } = await objectState(await oboStorageKey(all[0]!, assertion));
    const exp = JSON.parse(atob(assertion.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).exp as number;
    // Kept: it is still valid at the renewal point, and the alarm comes before it expires.
    expect(state?.request).toMatchObject({ grant: 'on_behalf_of', userAssertion: assertion });
    expect(state?.assertionExpiresAt).toBe(exp * 1000);
    expect(state!.renewAt).toBeLessThan(exp * 1000);
  });

  test('an assertion that expires before the renewal point is not kept', async () => {
    // The user's token lives 10 minutes; the downstream token an hour: it could never be renewed with it.
    await provider.tokenLifetime({ accessTokenTtl: 600 });
    const assertion = await userAssertion();
    await provider.reset();
    const [client] = await isolates(1);
    await client!.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: [DOWNSTREAM] });
    const { state } = await objectState(await oboStorageKey(client!, assertion));
    expect(state?.request).toEqual({ grant: 'on_behalf_of', scopes: [DOWNSTREAM] });
    expect(state?.assertionExpiresAt).toBeUndefined();
  });
});
