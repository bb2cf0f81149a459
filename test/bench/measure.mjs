// Runtime-neutral benchmark helpers (Node and workerd): timing, statistics, cache-entry generation.
export const SIZES = [1, 100, 10_000];
export const SCOPE = 'api://downstream/.default';
/** On-behalf-of: the downstream scope every OBO lookup asks for (as the user whose assertion came in). */
export const OBO_SCOPE = 'api://downstream/read';

export const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One macrotask turn (works in Node and in workerd). */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Sequential ops/s: calls `op` back to back for `roundMs`, `rounds` times, after a warm-up.
 * Between rounds the event loop turns once so sockets and timers are serviced.
 * @returns {{ median: number, min: number, max: number, rounds: number[], ops: number }}
 */
export async function measureSequential(op, plan) {
  const run = async (ms) => {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      await op();
      n++;
      now = performance.now();
    }
    return { n, elapsed: now - start };
  };
  await run(plan.warmupMs);
  await tick();
  const rounds = [];
  let ops = 0;
  for (let i = 0; i < plan.rounds; i++) {
    const { n, elapsed } = await run(plan.roundMs);
    rounds.push((n * 1000) / elapsed);
    ops += n;
    await tick();
  }
  return summarize(rounds, ops);
}

/**
 * Closed-loop load with `concurrency` requests in flight, for `roundMs` per round. `op(slot)` gets the
 * index of its loop (0…concurrency-1), e.g. to use that loop's own connection.
 * @returns {{ median, min, max, rounds, ops, p50Ms, p99Ms }}
 */
export async function measureConcurrent(op, concurrency, plan) {
  const latencies = [];
  const run = async (ms, record) => {
    let n = 0;
    const start = performance.now();
    const deadline = start + ms;
    const worker = async (_, slot) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await op(slot);
        const t1 = performance.now();
        n++;
        if (record) latencies.push(t1 - t0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { n, elapsed: performance.now() - start };
  };
  await run(plan.warmupMs, false);
  const rounds = [];
  let ops = 0;
  for (let i = 0; i < plan.rounds; i++) {
    const { n, elapsed } = await run(plan.roundMs, true);
    rounds.push((n * 1000) / elapsed);
    ops += n;
  }
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { ...summarize(rounds, ops), p50Ms: pct(50), p99Ms: pct(99) };
}

function summarize(rounds, ops) {
  return { median: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds), rounds, ops };
}

/** A fake but JWT-sized access token (real ones from the IdP are ~1 KB). */
export function fakeSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(800));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `eyJ${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

/**
 * N app-token entities (MSAL schema, snake_case) for *other* targets of the same client and tenant:
 * the case a cache lookup for SCOPE must step over.
 */
export function otherEntities(n, { environment, clientId, realm }, nowSec = Math.floor(Date.now() / 1000)) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({
      home_account_id: '',
      environment,
      credential_type: 'AccessToken',
      client_id: clientId,
      realm,
      target: `api://other-${i}/.default`,
      secret: fakeSecret(),
      cached_at: String(nowSec),
      expires_on: String(nowSec + 3600),
      extended_expires_on: String(nowSec + 3600),
      token_type: 'Bearer',
    });
  }
  return out;
}

/** A random base64url-no-pad SHA-256-sized string: the `userAssertionHash` of some other user's assertion. */
function randomAssertionHash() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * N on-behalf-of access-token entities of *other* users for the same client, tenant and downstream
 * scope (OBO_SCOPE), each with its own `userAssertionHash` (the camelCase field msal-node writes and
 * reads). The case an OBO lookup for one assertion must step over. `home_account_id`: `<oid>.<tid>` by
 * default, as msal-node files OBO tokens (from client_info; it also keeps msal-node's JSON keys, which
 * do not include the hash, distinct); `libShape: true` → '' as our lib files them (its key has the hash).
 */
export function otherOboEntities(n, { environment, clientId, realm, libShape = false }, nowSec = Math.floor(Date.now() / 1000)) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const oid = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    out.push({
      home_account_id: libShape ? '' : `${oid}.${realm}`,
      environment,
      credential_type: 'AccessToken',
      client_id: clientId,
      realm,
      target: OBO_SCOPE,
      secret: fakeSecret(),
      cached_at: String(nowSec),
      expires_on: String(nowSec + 3600),
      extended_expires_on: String(nowSec + 3600),
      token_type: 'Bearer',
      userAssertionHash: randomAssertionHash(),
    });
  }
  return out;
}

/** MSAL's JSON cache (what `getTokenCache().deserialize()` reads) holding only these access tokens. */
export function msalCacheJson(entities) {
  const AccessToken = {};
  for (const e of entities) {
    const key = [e.home_account_id, e.environment, 'accesstoken', e.client_id, e.realm, e.target, ''].join('-').toLowerCase();
    AccessToken[key] = e;
  }
  return JSON.stringify({ Account: {}, IdToken: {}, AccessToken, RefreshToken: {}, AppMetadata: {} });
}

/** In-memory CacheStore that counts reads, so the harness can prove which layer served a hit. */
export class MapStore {
  map = new Map();
  gets = 0;
  async get(key) {
    this.gets++;
    return this.map.get(key) ?? null;
  }
  async put(key, value) {
    this.map.set(key, value);
  }
  async delete(key) {
    this.map.delete(key);
  }
}

/**
 * Writes N other app tokens of the client (or, with `make = otherOboEntities`, N other users' OBO tokens)
 * into `store` through our TokenCache (sealed as in production). `TokenCache` is passed in because Node
 * and workerd load lib differently.
 * @returns milliseconds taken
 */
export async function fillStore(TokenCache, store, sealingKey, client, n, make = otherEntities) {
  const filler = new TokenCache(store, sealingKey);
  const t0 = performance.now();
  const now = Date.now();
  const entities = make(n, { environment: client.authority.environment, clientId: client.clientId, realm: client.authority.tenant });
  for (let i = 0; i < entities.length; i += 256) {
    await Promise.all(entities.slice(i, i + 256).map((entity) => filler.saveAccessToken(entity, now)));
  }
  return performance.now() - t0;
}
