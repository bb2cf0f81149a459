/**
 * The fleet port (lib/flows/fleet.ts, fleet-acquire.ts) with a fake coordinator: only misses reach it,
 * what it hands over is served from memory afterwards, a forced refresh or a claims challenge never goes
 * to it, a token past its fleet renewal point is renewed through it behind the answer, and the renewal
 * rule itself. The clock is the test's.
 */
import { assert, assertEquals, test } from './spec.ts';
import { ConfidentialClientApplication } from '../../lib/confidential-client.ts';
import type { AuthenticationResult } from '../../lib/flows/context.ts';
import { FLEET_RENEWAL_LEAD_SECONDS, fleetRenewalAt, type FleetFlights, type FleetTokenRequest } from '../../lib/flows/fleet.ts';
import { MemoryCacheStore, SEALING_SECRET, jsonResponse } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;
const SCOPE = 'api://downstream/.default';

test('fleetRenewalAt: the provider refresh_on when sent, else 2 minutes before the 5-minute window', () => {
  assertEquals(fleetRenewalAt({ cachedAt: 1000, expiresOn: 4600, refreshOn: 2800 }), 2800);
  assertEquals(fleetRenewalAt({ cachedAt: 1000, expiresOn: 4600 }), 4600 - 300 - FLEET_RENEWAL_LEAD_SECONDS);
  // A short-lived token is renewed no earlier than half its usable life.
  assertEquals(fleetRenewalAt({ cachedAt: 1000, expiresOn: 1400 }), 1050);
});

/** A coordinator that answers with a token of its own (or asks the isolate's local request), recording calls. */
function fakeFleet(answer: (request: FleetTokenRequest, local: () => Promise<AuthenticationResult>) => Promise<AuthenticationResult>) {
  const calls: { key: string; request: FleetTokenRequest }[] = [];
  const fleet: FleetFlights<AuthenticationResult> = {
    acquire(key, request, local) {
      calls.push({ key, request });
      return answer(request, local);
    },
  };
  return { fleet, calls };
}

function coordinatorToken(now: number, lifetime = 3600, token = 'from-coordinator'): AuthenticationResult {
  const at = Math.floor(now / 1000);
  return { accessToken: token, tokenType: 'Bearer', expiresOn: at + lifetime, extExpiresOn: at + lifetime, scopes: [SCOPE], tokenSource: 'identity_provider', correlationId: 'c' };
}

async function client(fleet: FleetFlights<AuthenticationResult>, clock: { now: number }) {
  let providerCalls = 0;
  const fetch = (async (input: RequestInfo | URL) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: `${AUTHORITY}/v2.0`, token_endpoint: `${AUTHORITY}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY}/discovery/v2.0/keys` });
    }
    providerCalls++;
    return jsonResponse({ access_token: `local-${providerCalls}`, token_type: 'Bearer', expires_in: 3600 });
  }) as typeof globalThis.fetch;
  const store = new MemoryCacheStore();
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY, CLIENT_ID: 'web-app', CLIENT_SECRET: 's', TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_RETRY_DELAY_MS: '0' },
    { cacheStore: store, fetch, now: () => clock.now, fleet },
  );
  return { app, store, providerCalls: () => providerCalls };
}

test('a miss asks the coordinator with the storage key and the described request; its token is then a memory hit', async () => {
  const clock = { now: 1_800_000_000_000 };
  const { fleet, calls } = fakeFleet(() => Promise.resolve(coordinatorToken(clock.now)));
  const { app, store, providerCalls } = await client(fleet, clock);
  const first = await app.acquireTokenForClient({ scopes: [SCOPE], correlationId: 'corr-1' });
  assertEquals(first.accessToken, 'from-coordinator');
  assertEquals(calls.length, 1);
  assert(/^at1:[A-Za-z0-9_-]{43}$/.test(calls[0]!.key), calls[0]!.key);
  assertEquals(calls[0]!.request, { grant: 'client_credentials', scopes: [SCOPE], correlationId: 'corr-1' });
  // The coordinator wrote the store; this isolate keeps the token in memory only.
  assertEquals(store.puts, 0);
  const gets = store.gets;
  const second = await app.acquireTokenForClient({ scopes: [SCOPE] });
  assertEquals([second.accessToken, second.tokenSource], ['from-coordinator', 'cache']);
  assertEquals([calls.length, store.gets, providerCalls()], [1, gets, 0]);
});

test('a forced refresh and a claims challenge go to the provider from the isolate, never to the coordinator', async () => {
  const clock = { now: 1_800_000_000_000 };
  const { fleet, calls } = fakeFleet(() => Promise.resolve(coordinatorToken(clock.now)));
  const { app, providerCalls } = await client(fleet, clock);
  await app.acquireTokenForClient({ scopes: [SCOPE], forceRefresh: true });
  await app.acquireTokenForClient({ scopes: [SCOPE], claims: '{"access_token":{"xms_cc":{"values":["cp1"]}}}' });
  assertEquals([calls.length, providerCalls()], [0, 2]);
});

test("the coordinator's fallback is the isolate's own provider request, cached by it", async () => {
  const clock = { now: 1_800_000_000_000 };
  const { fleet } = fakeFleet((_request, local) => local());
  const { app, store, providerCalls } = await client(fleet, clock);
  assertEquals((await app.acquireTokenForClient({ scopes: [SCOPE] })).accessToken, 'local-1');
  assertEquals([providerCalls(), store.puts], [1, 1]);
});

test('past its fleet renewal point a token is served and renewed through the coordinator behind the answer', async () => {
  const clock = { now: 1_800_000_000_000 };
  let version = 0;
  const { fleet, calls } = fakeFleet(() => Promise.resolve(coordinatorToken(clock.now, 3600, `token-${++version}`)));
  const { app } = await client(fleet, clock);
  await app.acquireTokenForClient({ scopes: [SCOPE] });
  // Just before the renewal point (expiry − 300 − 120 s): a plain hit.
  clock.now += (3600 - 300 - FLEET_RENEWAL_LEAD_SECONDS - 1) * 1000;
  assertEquals((await app.acquireTokenForClient({ scopes: [SCOPE] })).accessToken, 'token-1');
  assertEquals(calls.length, 1);
  clock.now += 2_000;
  const background: Promise<unknown>[] = [];
  const served = await app.acquireTokenForClient({ scopes: [SCOPE] }, { waitUntil: (p) => background.push(p) });
  assertEquals([served.accessToken, served.tokenSource], ['token-1', 'cache']);
  await Promise.all(background);
  assertEquals(calls.length, 2);
  assertEquals(calls[1]!.request.renewal, true);
  assertEquals((await app.acquireTokenForClient({ scopes: [SCOPE] })).accessToken, 'token-2');
});

test('without a fleet the renewal point is only the provider refresh_on (no change for single isolates)', async () => {
  const clock = { now: 1_800_000_000_000 };
  let providerCalls = 0;
  const fetch = (async (input: RequestInfo | URL) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: `${AUTHORITY}/v2.0`, token_endpoint: `${AUTHORITY}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY}/discovery/v2.0/keys` });
    }
    providerCalls++;
    return jsonResponse({ access_token: `local-${providerCalls}`, token_type: 'Bearer', expires_in: 3600 });
  }) as typeof globalThis.fetch;
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY, CLIENT_ID: 'web-app', CLIENT_SECRET: 's', TOKEN_CACHE_KEY: SEALING_SECRET },
    { cacheStore: new MemoryCacheStore(), fetch, now: () => clock.now },
  );
  await app.acquireTokenForClient({ scopes: [SCOPE] });
  clock.now += (3600 - 300 - 10) * 1000;
  const background: Promise<unknown>[] = [];
  await app.acquireTokenForClient({ scopes: [SCOPE] }, { waitUntil: (p) => background.push(p) });
  assertEquals([background.length, providerCalls], [0, 1]);
});
