/**
 * The client's provider observer (lib/observation.ts, ClientOptions.observer): one event per provider
 * call — endpoint, grant, status, time, the request's correlation id, retries and throttling marked —
 * and nothing else; no event for a cache hit or for an answer from the throttling state; and without an
 * observer the client's fetch is used as it is.
 */
import { assert, assertEquals, test } from './spec.ts';
import { ConfidentialClientApplication } from '../../lib/confidential-client.ts';
import { NetworkError, ServerError, ThrottlingError } from '../../lib/errors.ts';
import { tokenEndpoint } from '../../lib/flows/context.ts';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { observedFetch, type ProviderCall } from '../../lib/observation.ts';
import { clientContext } from './client-context.ts';
import { jsonResponse, MemoryCacheStore, SEALING_SECRET } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;
const CLIENT_ID = 'f6d1c1a0-0000-4000-8000-00000000c1d0';
const CLIENT_SECRET = 'client-secret-that-must-not-be-observed';
const GRAPH = 'https://graph.microsoft.com/.default';
const TOKEN_ENDPOINT = `${AUTHORITY}/oauth2/v2.0/token`;

/** A provider whose token endpoint answers `answers` in turn (the last repeats); a thrown answer is a network failure. */
async function observedClient(answers: (() => Response)[] = [() => jsonResponse({ access_token: 'at-secret-1', token_type: 'Bearer', expires_in: 3600 })]) {
  const authority = parseAuthority(AUTHORITY);
  let calls = 0;
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (request.url === `${AUTHORITY}/v2.0/.well-known/openid-configuration`) return jsonResponse({ issuer: authority.issuer, token_endpoint: TOKEN_ENDPOINT });
    const response = answers[Math.min(calls++, answers.length - 1)]!();
    return response;
  }) as typeof globalThis.fetch;
  const events: ProviderCall[] = [];
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY, CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_TIMEOUT_MS: '5000', PROVIDER_RETRY_DELAY_MS: '0' },
    { cacheStore: new MemoryCacheStore(), fetch, observer: { providerCall: (call) => events.push(call) } },
  );
  return { app, events };
}

const FIELDS = new Set(['correlationId', 'endpoint', 'grant', 'status', 'ms', 'retried', 'throttled']);

test('a cache miss reports discovery and the token call under the request\'s correlation id; a hit reports nothing', async () => {
  const { app, events } = await observedClient();
  await app.acquireTokenForClient({ scopes: [GRAPH], correlationId: 'corr-miss' });
  assertEquals(events.map(({ ms: _, ...rest }) => rest), [
    { correlationId: 'corr-miss', endpoint: 'discovery', status: 200 },
    { correlationId: 'corr-miss', endpoint: 'token', grant: 'client_credentials', status: 200 },
  ]);
  for (const event of events) {
    assert(typeof event.ms === 'number' && event.ms >= 0, 'ms is a duration');
    assertEquals(Object.keys(event).filter((key) => !FIELDS.has(key)), []);
  }
  const text = JSON.stringify(events);
  for (const secret of [CLIENT_SECRET, 'at-secret-1', GRAPH]) assert(!text.includes(secret), `an event holds ${secret}`);

  const hit = await app.acquireTokenForClient({ scopes: [GRAPH], correlationId: 'corr-hit' });
  assertEquals(hit.tokenSource, 'cache');
  assertEquals(events.length, 2);
});

test('a retried call is reported per attempt, the retry marked', async () => {
  const { app, events } = await observedClient([
    () => jsonResponse({ error: 'temporarily_unavailable' }, 500),
    () => jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 }),
  ]);
  await app.acquireTokenForClient({ scopes: [GRAPH], correlationId: 'corr-retry' });
  assertEquals(events.filter((e) => e.endpoint === 'token').map(({ ms: _, ...rest }) => rest), [
    { correlationId: 'corr-retry', endpoint: 'token', grant: 'client_credentials', status: 500 },
    { correlationId: 'corr-retry', endpoint: 'token', grant: 'client_credentials', status: 200, retried: true },
  ]);
});

test("the provider's 429 is reported throttled; the throttling state's answer that follows calls nothing", async () => {
  const { app, events } = await observedClient([() => jsonResponse({ error: 'too_many_requests' }, 429, { 'retry-after': '30' })]);
  let first: unknown;
  await app.acquireTokenForClient({ scopes: [GRAPH], correlationId: 'corr-429' }).catch((error) => (first = error));
  assert(first instanceof ServerError && !(first instanceof ThrottlingError), 'the provider answered');
  const tokenCalls = () => events.filter((e) => e.endpoint === 'token');
  assertEquals(tokenCalls().map(({ ms: _, ...rest }) => rest), [{ correlationId: 'corr-429', endpoint: 'token', grant: 'client_credentials', status: 429, throttled: true }]);
  let second: unknown;
  await app.acquireTokenForClient({ scopes: [GRAPH], correlationId: 'corr-again' }).catch((error) => (second = error));
  assert(second instanceof ThrottlingError, 'the throttling state answered');
  assertEquals(tokenCalls().length, 1);
});

test('a call without an answer is status 0', async () => {
  const { app, events } = await observedClient([
    () => {
      throw new TypeError('connection refused');
    },
  ]);
  let failure: unknown;
  await app.acquireTokenForClient({ scopes: [GRAPH], correlationId: 'corr-down' }).catch((error) => (failure = error));
  assert(failure instanceof NetworkError, 'a network error');
  const tokenCalls = events.filter((e) => e.endpoint === 'token');
  // Client credentials are retried once after a network failure.
  assertEquals(tokenCalls.map((e) => [e.status, e.retried ?? false]), [[0, false], [0, true]]);
});

test("an observer's failure is not the request's", async () => {
  const authority = parseAuthority(AUTHORITY);
  const fetch = (async (input: RequestInfo | URL) => {
    const url = new Request(input).url;
    if (url.endsWith('/.well-known/openid-configuration')) return jsonResponse({ issuer: authority.issuer, token_endpoint: TOKEN_ENDPOINT });
    return jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 });
  }) as typeof globalThis.fetch;
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY, CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY: SEALING_SECRET },
    {
      cacheStore: new MemoryCacheStore(),
      fetch,
      observer: {
        providerCall() {
          throw new Error('observer down');
        },
      },
    },
  );
  assertEquals((await app.acquireTokenForClient({ scopes: [GRAPH] })).tokenSource, 'identity_provider');
});

test("without an observer the token endpoint gets the client's own fetch; a device authorization is told apart from a token call", async () => {
  const fetch = (async () => jsonResponse({})) as typeof globalThis.fetch;
  const { ctx } = await clientContext({ AUTHORITY, CLIENT_ID }, fetch, { now: 0 });
  const as = { issuer: `${AUTHORITY}/v2.0`, token_endpoint: TOKEN_ENDPOINT, device_authorization_endpoint: `${AUTHORITY}/oauth2/v2.0/devicecode` };
  assert(tokenEndpoint(ctx, as, 'client_credentials').fetch === fetch, 'the same fetch');

  const events: ProviderCall[] = [];
  ctx.deps.observer = { providerCall: (call) => events.push(call) };
  // As lib/flows/device-code.ts starts a flow (no grant), then as redeem polls it.
  await tokenEndpoint(ctx, as).fetch(as.device_authorization_endpoint, { method: 'POST', headers: { 'client-request-id': 'corr-start' } });
  await tokenEndpoint(ctx, as, 'device_code').fetch(TOKEN_ENDPOINT, { method: 'POST', headers: { 'client-request-id': 'corr-poll' } });
  assertEquals(events.map(({ ms: _, ...rest }) => rest), [
    { correlationId: 'corr-start', endpoint: 'device_authorization', status: 200 },
    { correlationId: 'corr-poll', endpoint: 'token', grant: 'device_code', status: 200 },
  ]);
});

test('a key set keeps its fetch for good: its refetches are not retries, and belong to no request', async () => {
  const events: ProviderCall[] = [];
  const fetch = (async () => jsonResponse({ keys: [] })) as typeof globalThis.fetch;
  const keys = observedFetch(fetch, { providerCall: (call) => events.push(call) }, { endpoint: 'keys' });
  await keys('https://login.example/keys');
  await keys('https://login.example/keys');
  assertEquals(events.map(({ ms: _, ...rest }) => rest), [
    { endpoint: 'keys', status: 200 },
    { endpoint: 'keys', status: 200 },
  ]);
});
