import { assert, assertEquals, test } from './spec.ts';
import { accessTokenEntity, accessTokenKey, type AccessTokenQuery } from '../../lib/cache/entities.ts';
import { deriveSealingKey, open } from '../../lib/cache/seal.ts';
import { storageKeyFor, TokenCache } from '../../lib/cache/token-cache.ts';
import { KVCacheStore, KV_MIN_TTL_SECONDS, type KVLike } from '../../lib/storage/kv-cache-store.ts';
import { MemoryCacheStore, SEALING_SECRET } from './fakes.ts';

const QUERY: AccessTokenQuery = {
  homeAccountId: '',
  environment: 'login.microsoftonline.com',
  clientId: 'client-a',
  realm: 'tenant-a',
  target: 'https://graph.microsoft.com/.default',
};
const OTHER: AccessTokenQuery = { ...QUERY, target: 'api://other/.default' };
const NOW = 1_700_000_000_000;

function entityFor(query: AccessTokenQuery, secret = 'access-token') {
  return accessTokenEntity(query, { access_token: secret, token_type: 'Bearer', expires_in: 3600 }, NOW);
}

async function setup() {
  const store = new MemoryCacheStore();
  const key = await deriveSealingKey(SEALING_SECRET);
  return { store, key, cache: new TokenCache(store, key) };
}

test('storageKeyFor is a versioned SHA-256 of the MSAL key that reveals nothing of it', async () => {
  const storageKey = await storageKeyFor(accessTokenKey(QUERY));
  assert(/^at1:[A-Za-z0-9_-]{43}$/.test(storageKey), storageKey);
  assert(!storageKey.includes('graph'));
});

test('TokenCache returns the entity it saved', async () => {
  const { cache } = await setup();
  const entity = entityFor(QUERY);
  await cache.saveAccessToken(entity, NOW);
  assertEquals(await cache.getAccessToken(QUERY, NOW), entity);
});

test('TokenCache stores a sealed value under the hashed key with a TTL until expiry', async () => {
  const { store, key, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY, 'plain-secret'), NOW + 600_000);
  const storageKey = await storageKeyFor(accessTokenKey(QUERY));
  const stored = store.data.get(storageKey)!;
  assert(stored.startsWith('v1.'));
  assert(!stored.includes('plain-secret'));
  assertEquals(store.ttls.get(storageKey), 3000);
  assertEquals(JSON.parse((await open(key, storageKey, stored))!).secret, 'plain-secret');
});

test('TokenCache returns null for a query that was never saved', async () => {
  const { cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  assertEquals(await cache.getAccessToken(OTHER, NOW), null);
});

test('a fresh TokenCache reads a saved entity with exactly one store.get', async () => {
  const { store, key, cache } = await setup();
  const entity = entityFor(QUERY);
  await cache.saveAccessToken(entity, NOW);
  const fresh = new TokenCache(store, key);
  store.gets = 0;
  assertEquals(await fresh.getAccessToken(QUERY, NOW), entity);
  assertEquals(store.gets, 1);
});

test('a TokenCache hit through the memory layer does zero store reads', async () => {
  const { store, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  store.gets = 0;
  await cache.getAccessToken(QUERY, NOW);
  await cache.getAccessToken(QUERY, NOW + 1000);
  assertEquals(store.gets, 0);
});

test('a value read from the store is remembered, so the next read does not touch the store', async () => {
  const { store, key, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  const fresh = new TokenCache(store, key);
  store.gets = 0;
  await fresh.getAccessToken(QUERY, NOW);
  await fresh.getAccessToken(QUERY, NOW);
  assertEquals(store.gets, 1);
});

test('TokenCache reads a tampered stored value as a miss', async () => {
  const { store, key, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  const storageKey = await storageKeyFor(accessTokenKey(QUERY));
  const sealed = store.data.get(storageKey)!;
  // A character in the middle: all six of its bits are ciphertext (the last one may hold padding bits).
  const at = sealed.length - 10;
  store.data.set(storageKey, sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1));
  assertEquals(await new TokenCache(store, key).getAccessToken(QUERY, NOW), null);
});

test('TokenCache reads a value moved to another key as a miss', async () => {
  const { store, key, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY, 'token-for-graph'), NOW);
  const from = await storageKeyFor(accessTokenKey(QUERY));
  const to = await storageKeyFor(accessTokenKey(OTHER));
  store.data.set(to, store.data.get(from)!);
  assertEquals(await new TokenCache(store, key).getAccessToken(OTHER, NOW), null);
});

test('TokenCache reads a value sealed under another TOKEN_CACHE_KEY as a miss', async () => {
  const { store, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  const otherKey = await deriveSealingKey('another-secret-of-at-least-32-characters');
  assertEquals(await new TokenCache(store, otherKey).getAccessToken(QUERY, NOW), null);
});

test('TokenCache goes back to the store once the remembered entry has expired', async () => {
  const { store, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  store.gets = 0;
  await cache.getAccessToken(QUERY, NOW + 3600_000);
  assertEquals(store.gets, 1);
});

test('TokenCache.removeAccessToken deletes from memory and store', async () => {
  const { store, cache } = await setup();
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  await cache.removeAccessToken(QUERY);
  assertEquals(store.data.size, 0);
  assertEquals(await cache.getAccessToken(QUERY, NOW), null);
});

test('TokenCache keeps at most memoryEntries entries in memory', async () => {
  const store = new MemoryCacheStore();
  const cache = new TokenCache(store, await deriveSealingKey(SEALING_SECRET), { memoryEntries: 1 });
  await cache.saveAccessToken(entityFor(QUERY), NOW);
  await cache.saveAccessToken(entityFor(OTHER), NOW);
  store.gets = 0;
  await cache.getAccessToken(OTHER, NOW);
  assertEquals(store.gets, 0, 'the newest entry is in memory');
  await cache.getAccessToken(QUERY, NOW);
  assertEquals(store.gets, 1, 'the oldest entry was evicted');
});

// ---- KVCacheStore ----------------------------------------------------------------------------------

function fakeKv() {
  const calls: { op: string; key: string; value?: string; options?: { expirationTtl?: number }; type?: string }[] = [];
  const data = new Map<string, string>();
  const kv: KVLike = {
    get(key, type) {
      calls.push({ op: 'get', key, type });
      return Promise.resolve(data.get(key) ?? null);
    },
    put(key, value, options) {
      calls.push({ op: 'put', key, value, ...(options ? { options } : {}) });
      data.set(key, value);
      return Promise.resolve();
    },
    delete(key) {
      calls.push({ op: 'delete', key });
      data.delete(key);
      return Promise.resolve();
    },
  };
  return { kv, calls, data };
}

test('KVCacheStore clamps a TTL under 60 s to 60 s', async () => {
  const { kv, calls } = fakeKv();
  await new KVCacheStore(kv).put('k', 'v', { ttlSeconds: 1 });
  assertEquals(KV_MIN_TTL_SECONDS, 60);
  assertEquals(calls[0]!.options, { expirationTtl: 60 });
});

test('KVCacheStore passes a longer TTL through, rounded up', async () => {
  const { kv, calls } = fakeKv();
  await new KVCacheStore(kv).put('k', 'v', { ttlSeconds: 3599.2 });
  assertEquals(calls[0]!.options, { expirationTtl: 3600 });
});

test('KVCacheStore reads text and deletes through the binding', async () => {
  const { kv, calls } = fakeKv();
  const store = new KVCacheStore(kv);
  await store.put('k', 'v', { ttlSeconds: 120 });
  assertEquals(await store.get('k'), 'v');
  await store.delete('k');
  assertEquals(await store.get('k'), null);
  assertEquals(calls.map((c) => c.op), ['put', 'get', 'delete', 'get']);
  assertEquals(calls[1]!.type, 'text');
});

test('TokenCache works over KVCacheStore', async () => {
  const { kv } = fakeKv();
  const key = await deriveSealingKey(SEALING_SECRET);
  const entity = entityFor(QUERY);
  await new TokenCache(new KVCacheStore(kv), key).saveAccessToken(entity, NOW);
  assertEquals(await new TokenCache(new KVCacheStore(kv), key).getAccessToken(QUERY, NOW), entity);
});
