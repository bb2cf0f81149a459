/**
 * The two steps every flow is built from: `redeem` (the token-endpoint sequence with the grant's retry
 * rule) and `cacheFirst` (lookup, freshness, background renewal, single flight).
 */
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { accessTokenEntity, type AccessTokenQuery } from '../../lib/cache/entities.ts';
import { InteractionRequiredError, ServerError } from '../../lib/errors.ts';
import { cacheFirst } from '../../lib/flows/cache-first.ts';
import { toResult, type AuthenticationResult, type ClientContext } from '../../lib/flows/context.ts';
import { redeem, type GrantType, type TokenStep } from '../../lib/flows/redeem.ts';
import type { TokenResponse } from '../../lib/oauth/token-endpoint.ts';
import { jsonResponse } from './fakes.ts';
import { clientContext } from './client-context.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;
const NOW = 1_700_000_000_000;
const QUERY: AccessTokenQuery = { homeAccountId: '', environment: 'login.microsoftonline.com', clientId: 'app', realm: TENANT, target: 'api://a/.default' };

/** A provider whose token endpoint answers from `answers` in turn (the last one repeats). */
async function context(answers: (() => Response)[] = [() => jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 })]) {
  let calls = 0;
  const fetch = (async (input: RequestInfo | URL) => {
    const url = new Request(input).url;
    if (url.endsWith('/.well-known/openid-configuration')) return jsonResponse({ issuer: `${AUTHORITY}/v2.0`, token_endpoint: `${AUTHORITY}/oauth2/v2.0/token` });
    return answers[Math.min(calls++, answers.length - 1)]!();
  }) as typeof globalThis.fetch;
  const clock = { now: NOW };
  const { ctx, store } = await clientContext({ AUTHORITY, CLIENT_ID: 'app' }, fetch, clock);
  return { ctx, store, clock, calls: () => calls };
}

function step(grant: GrantType, overrides: Partial<TokenStep<TokenResponse>> = {}): TokenStep<TokenResponse> {
  return {
    grant,
    identity: [QUERY.target],
    send: (endpoint, init) => endpoint.fetch(endpoint.as.token_endpoint!, { method: 'POST', signal: init.signal, headers: init.headers }),
    process: async (response) => ({ ...((await response.json()) as TokenResponse) }),
    query: () => QUERY,
    ...overrides,
  };
}

const serverError = () => jsonResponse({ error: 'temporarily_unavailable' }, 500);

test('redeem retries a client credentials request once after a 5xx', async () => {
  const { ctx, calls } = await context([serverError, () => jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 })]);
  const { result } = await redeem(ctx, step('client_credentials'), 'corr');
  assertEquals(result.accessToken, 'at');
  assertEquals(calls(), 2);
});

test('redeem never replays an authorization code or a refresh token', async () => {
  for (const grant of ['authorization_code', 'refresh_token'] as const) {
    const { ctx, calls } = await context([serverError, () => jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 })]);
    await assertRejects(() => redeem(ctx, step(grant), 'corr'), ServerError);
    assertEquals(calls(), 1, grant);
  }
});

test('redeem makes invalid_grant an InteractionRequiredError for a user grant only', async () => {
  const invalidGrant = () => jsonResponse({ error: 'invalid_grant', error_description: 'AADSTS70000' }, 400);
  await assertRejects(async () => redeem((await context([invalidGrant])).ctx, step('refresh_token'), 'c'), InteractionRequiredError, 'invalid_grant');
  const error = await assertRejects(async () => redeem((await context([invalidGrant])).ctx, step('client_credentials'), 'c'), ServerError, 'invalid_grant');
  assert(!(error instanceof InteractionRequiredError));
});

test('redeem caches the access token under the step query, with expiry counted from the request', async () => {
  const { ctx } = await context();
  const { accessToken } = await redeem(ctx, step('client_credentials'), 'corr');
  assertEquals(accessToken.expires_on, String(NOW / 1000 + 3600));
  assertEquals((await ctx.deps.cache.getAccessToken(QUERY, NOW))?.secret, 'at');
});

test('redeem caches nothing when the step does not keep the answer', async () => {
  const { ctx, store } = await context();
  const { result } = await redeem(ctx, step('refresh_token', { keep: async () => false }), 'corr');
  assertEquals(result.accessToken, 'at');
  assertEquals(store.puts, 0);
});

test('redeem throttles the same request after a 429, not another one', async () => {
  const { ctx, calls } = await context([() => jsonResponse({ error: 'throttled' }, 429, { 'retry-after': '30' }), () => jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 })]);
  await assertRejects(() => redeem(ctx, step('client_credentials'), 'c'), ServerError);
  await assertRejects(() => redeem(ctx, step('client_credentials'), 'c'), ServerError);
  assertEquals(calls(), 1, 'the identical request is answered from the throttling state');
  await redeem(ctx, step('client_credentials', { identity: ['api://other/.default'] }), 'c');
  assertEquals(calls(), 2);
});

// ---- cacheFirst -------------------------------------------------------------------------------------

function acquirer(ctx: ClientContext, secret = 'fresh') {
  let calls = 0;
  const acquire = async (): Promise<AuthenticationResult> => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 2));
    return toResult(accessTokenEntity(QUERY, { access_token: secret, token_type: 'Bearer', expires_in: 3600 }, ctx.deps.now()), 'identity_provider', 'c');
  };
  return { acquire, calls: () => calls };
}

async function cached(ctx: ClientContext, response: { expires_in: number; refresh_in?: number }) {
  await ctx.deps.cache.saveAccessToken(accessTokenEntity(QUERY, { access_token: 'cached', token_type: 'Bearer', ...response }, ctx.deps.now()), ctx.deps.now());
}

const request = { query: QUERY, bypassCache: false, correlationId: 'c' };

test('cacheFirst serves a usable cached token without acquiring', async () => {
  const { ctx } = await context();
  await cached(ctx, { expires_in: 3600 });
  const { acquire, calls } = acquirer(ctx);
  assertEquals((await cacheFirst(ctx, request, acquire, {})).tokenSource, 'cache');
  assertEquals(calls(), 0);
});

test('cacheFirst acquires when the cached token has under 5 minutes left', async () => {
  const { ctx, clock } = await context();
  await cached(ctx, { expires_in: 3600 });
  clock.now += (3600 - 299) * 1000;
  const { acquire, calls } = acquirer(ctx);
  assertEquals((await cacheFirst(ctx, request, acquire, {})).accessToken, 'fresh');
  assertEquals(calls(), 1);
});

test('cacheFirst goes to the provider when the cache is bypassed', async () => {
  const { ctx } = await context();
  await cached(ctx, { expires_in: 3600 });
  const { acquire, calls } = acquirer(ctx);
  assertEquals((await cacheFirst(ctx, { ...request, bypassCache: true }, acquire, {})).accessToken, 'fresh');
  assertEquals(calls(), 1);
});

test('cacheFirst serves the cached token after refresh_on and renews it behind the response', async () => {
  const { ctx, clock } = await context();
  await cached(ctx, { expires_in: 3600, refresh_in: 1800 });
  clock.now += 1801_000;
  const { acquire, calls } = acquirer(ctx);
  const background: Promise<unknown>[] = [];
  const result = await cacheFirst(ctx, request, acquire, { waitUntil: (p) => background.push(p) });
  assertEquals(result.accessToken, 'cached');
  assertEquals(background.length, 1);
  await Promise.all(background);
  assertEquals(calls(), 1);
});

test('cacheFirst renews in the background even without waitUntil (Deno keeps the promise alive)', async () => {
  const { ctx, clock } = await context();
  await cached(ctx, { expires_in: 3600, refresh_in: 1800 });
  clock.now += 1801_000;
  const { acquire, calls } = acquirer(ctx);
  assertEquals((await cacheFirst(ctx, request, acquire, {})).accessToken, 'cached');
  assertEquals(calls(), 1);
});

test('cacheFirst never surfaces a failed background renewal', async () => {
  const { ctx, clock } = await context();
  await cached(ctx, { expires_in: 3600, refresh_in: 1800 });
  clock.now += 1801_000;
  const background: Promise<unknown>[] = [];
  const failing = () => Promise.reject(new ServerError({ error: 'server_error' }, 500));
  assertEquals((await cacheFirst(ctx, request, failing, { waitUntil: (p) => background.push(p) })).accessToken, 'cached');
  await Promise.all(background);
});

test('cacheFirst shares one acquisition between concurrent misses for the same flight key', async () => {
  const { ctx } = await context();
  const { acquire, calls } = acquirer(ctx);
  const results = await Promise.all(Array.from({ length: 10 }, () => cacheFirst(ctx, request, acquire, {})));
  assertEquals(calls(), 1);
  assert(results.every((r) => r.accessToken === 'fresh'));
  await Promise.all([cacheFirst(ctx, { ...request, bypassCache: true, claims: '{"x":1}' }, acquire, {}), cacheFirst(ctx, request, acquire, {})]);
  assertEquals(calls(), 3, 'a claims challenge is another flight');
});
