import { assert, assertEquals, assertRejects, assertStringIncludes, test } from './spec.ts';
import { ConfidentialClientApplication } from '../../lib/confidential-client.ts';
import type { AuthenticationResult } from '../../lib/flows/context.ts';
import { parseAuthority, type Authority } from '../../lib/oauth/authority.ts';
import { CallerError, ClientConfigurationError, ServerError } from '../../lib/errors.ts';
import { jsonResponse, MemoryCacheStore, SEALING_SECRET } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = 'f6d1c1a0-0000-4000-8000-00000000c1d0';
const GRAPH = 'https://graph.microsoft.com/.default';

interface TokenAnswer {
  status?: number;
  body?: Record<string, unknown>;
}

/** A fake identity provider: discovery plus a token endpoint that issues at-1, at-2, … */
function fakeProvider(authority: Authority, answer: (n: number) => TokenAnswer = () => ({})) {
  const tokenEndpoint = `${authority.url}/oauth2/v2.0/token`;
  const counts = { discovery: 0, token: 0 };
  const tokenBodies: URLSearchParams[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (request.url === `${authority.url}/v2.0/.well-known/openid-configuration`) {
      counts.discovery++;
      return jsonResponse({ issuer: authority.issuer, token_endpoint: tokenEndpoint });
    }
    if (request.url === tokenEndpoint && request.method === 'POST') {
      const n = ++counts.token;
      tokenBodies.push(new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())));
      const { status = 200, body = {} } = answer(n);
      return jsonResponse(status === 200 ? { access_token: `at-${n}`, token_type: 'Bearer', expires_in: 3600, ext_expires_in: 7200, ...body } : body, status, {
        'client-request-id': request.headers.get('client-request-id') ?? '',
      });
    }
    return new Response('not found', { status: 404 });
  }) as typeof globalThis.fetch;
  return { fetch, counts, tokenBodies };
}

async function setup(options: { authority?: string; answer?: (n: number) => TokenAnswer; store?: MemoryCacheStore } = {}) {
  const authorityUrl = options.authority ?? `https://login.microsoftonline.com/${TENANT}`;
  const authority = parseAuthority(authorityUrl);
  const provider = fakeProvider(authority, options.answer);
  const clock = { now: 1_700_000_000_000 };
  const store = options.store ?? new MemoryCacheStore();
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY: authorityUrl, CLIENT_ID, CLIENT_SECRET: 'client-secret', TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_TIMEOUT_MS: '5000', PROVIDER_RETRY_DELAY_MS: '0' },
    { cacheStore: store, fetch: provider.fetch, now: () => clock.now },
  );
  return { app, provider, clock, store, authority };
}

test('acquireTokenForClient fetches a token from the provider on a cold cache', async () => {
  const { app, provider } = await setup();
  const result = await app.acquireTokenForClient({ scopes: [GRAPH], correlationId: 'corr-1' });
  assertEquals(result.accessToken, 'at-1');
  assertEquals(result.tokenType, 'Bearer');
  assertEquals(result.tokenSource, 'identity_provider');
  assertEquals(result.scopes, [GRAPH]);
  assertEquals(result.expiresOn, 1_700_000_000 + 3600);
  assertEquals(result.extExpiresOn, 1_700_000_000 + 7200);
  assertEquals(result.correlationId, 'corr-1');
  assertEquals(provider.counts, { discovery: 1, token: 1 });
  assertEquals(provider.tokenBodies[0]!.get('scope'), GRAPH);
});

test('acquireTokenForClient serves a cache hit without a token request', async () => {
  const { app, provider, clock } = await setup();
  await app.acquireTokenForClient({ scopes: [GRAPH] });
  clock.now += 60_000;
  const result = await app.acquireTokenForClient({ scopes: [GRAPH] });
  assertEquals(result.tokenSource, 'cache');
  assertEquals(result.accessToken, 'at-1');
  assertEquals(provider.counts.token, 1);
});

test('acquireTokenForClient finds the token under the normalised scopes', async () => {
  const { app, provider } = await setup();
  await app.acquireTokenForClient({ scopes: ['api://b/.default', 'api://a/read'] });
  const result = await app.acquireTokenForClient({ scopes: ['api://a/read', 'api://b/.default'] });
  assertEquals(result.tokenSource, 'cache');
  assertEquals(provider.counts.token, 1);
});

test('acquireTokenForClient makes one token request for 20 concurrent cold calls', async () => {
  const { app, provider } = await setup();
  const results = await Promise.all(Array.from({ length: 20 }, () => app.acquireTokenForClient({ scopes: [GRAPH] })));
  assertEquals(provider.counts.token, 1);
  assertEquals(provider.counts.discovery, 1);
  assert(results.every((r) => r.accessToken === 'at-1'));
});

test('acquireTokenForClient with forceRefresh makes a new token request and caches its answer', async () => {
  const { app, provider } = await setup();
  await app.acquireTokenForClient({ scopes: [GRAPH] });
  const forced = await app.acquireTokenForClient({ scopes: [GRAPH], forceRefresh: true });
  assertEquals(forced.accessToken, 'at-2');
  assertEquals(forced.tokenSource, 'identity_provider');
  assertEquals(provider.counts.token, 2);
  assertEquals((await app.acquireTokenForClient({ scopes: [GRAPH] })).accessToken, 'at-2');
});

test('acquireTokenForClient with claims bypasses the cache and sends the claims', async () => {
  const { app, provider } = await setup();
  await app.acquireTokenForClient({ scopes: [GRAPH] });
  const claims = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';
  const result = await app.acquireTokenForClient({ scopes: [GRAPH], claims });
  assertEquals(result.tokenSource, 'identity_provider');
  assertEquals(provider.counts.token, 2);
  assertEquals(provider.tokenBodies[1]!.get('claims'), claims);
});

test('acquireTokenForClient rejects a multi-tenant authority with ClientConfigurationError', async () => {
  for (const tenant of ['common', 'organizations']) {
    const { app, provider } = await setup({ authority: `https://login.microsoftonline.com/${tenant}` });
    const error = await assertRejects(() => app.acquireTokenForClient({ scopes: [GRAPH] }), ClientConfigurationError);
    assertEquals(error.setting, 'AUTHORITY');
    assertEquals(provider.counts, { discovery: 0, token: 0 });
  }
});

test('acquireTokenForClient rejects bad scopes with CallerError before any request', async () => {
  const { app, provider } = await setup();
  await assertRejects(() => app.acquireTokenForClient({ scopes: [] }), CallerError, 'invalid_request');
  await assertRejects(() => app.acquireTokenForClient({ scopes: [GRAPH, GRAPH] }), CallerError, 'invalid_request');
  assertEquals(provider.counts, { discovery: 0, token: 0 });
});

test('acquireTokenForClient serves the cached token after refresh_on and renews it once in the background', async () => {
  const { app, provider, clock } = await setup({ answer: () => ({ body: { refresh_in: 1800 } }) });
  const first = await app.acquireTokenForClient({ scopes: [GRAPH] });
  assertEquals(first.refreshOn, 1_700_000_000 + 1800);
  clock.now += 1801_000;
  const background: Promise<unknown>[] = [];
  const result = await app.acquireTokenForClient({ scopes: [GRAPH] }, { waitUntil: (p) => background.push(p) });
  assertEquals(result.tokenSource, 'cache');
  assertEquals(result.accessToken, 'at-1');
  assertEquals(background.length, 1);
  await Promise.all(background);
  assertEquals(provider.counts.token, 2);
  const renewed = await app.acquireTokenForClient({ scopes: [GRAPH] });
  assertEquals(renewed.accessToken, 'at-2');
  assertEquals(renewed.tokenSource, 'cache');
});

test('acquireTokenForClient does not surface a failed background renewal', async () => {
  const { app, provider, clock } = await setup({ answer: (n) => (n === 1 ? { body: { refresh_in: 1800 } } : { status: 400, body: { error: 'invalid_client' } }) });
  await app.acquireTokenForClient({ scopes: [GRAPH] });
  clock.now += 1801_000;
  const background: Promise<unknown>[] = [];
  const result = await app.acquireTokenForClient({ scopes: [GRAPH] }, { waitUntil: (p) => background.push(p) });
  assertEquals(result.accessToken, 'at-1');
  assertEquals(await background[0], undefined);
  assertEquals(provider.counts.token, 2);
});

test('acquireTokenForClient goes to the provider once the cached token is within 5 minutes of expiry', async () => {
  const { app, provider, clock } = await setup();
  await app.acquireTokenForClient({ scopes: [GRAPH] });
  clock.now += (3600 - 300) * 1000;
  const result = await app.acquireTokenForClient({ scopes: [GRAPH] });
  assertEquals(result.tokenSource, 'identity_provider');
  assertEquals(provider.counts.token, 2);
});

test('acquireTokenForClient surfaces a provider error as ServerError', async () => {
  const { app } = await setup({ answer: () => ({ status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215', error_codes: [7000215] } }) });
  const error = await assertRejects(() => app.acquireTokenForClient({ scopes: [GRAPH] }), ServerError, 'invalid_client');
  assertEquals(error.errorCodes, [7000215]);
});

test('acquireTokenForClient returns the issued token even when the cache write fails', async () => {
  class FailingStore extends MemoryCacheStore {
    override put(): Promise<void> {
      return Promise.reject(new Error('KV: 429 too many writes'));
    }
  }
  const { app } = await setup({ store: new FailingStore() });
  const result: AuthenticationResult = await app.acquireTokenForClient({ scopes: [GRAPH] });
  assertEquals(result.accessToken, 'at-1');
});

test('acquireTokenForClient sends a fresh correlation id when none is given', async () => {
  const { app } = await setup();
  const result = await app.acquireTokenForClient({ scopes: [GRAPH] });
  assertStringIncludes(result.correlationId, '-');
  assert(/^[0-9a-f-]{36}$/.test(result.correlationId), result.correlationId);
});
