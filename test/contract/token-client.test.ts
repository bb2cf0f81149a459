/** POST /token/client: app tokens for authenticated callers, within their scopes, cache first. */
import { app, callers, idp, ownTokenCache, provider, type App } from './target.ts';
import { callersSetting, testCaller } from './callers.ts';
import { assert, assertEquals, assertError, assertMatch, atStartOfRateLimitWindow, json, jwtPayload, send, test } from './suite.ts';

const SCOPES = ['api://downstream/.default'];

interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  expires_on: number;
  ext_expires_in: number;
  scope: string;
  token_source: 'cache' | 'identity_provider';
  correlation_id: string;
}

function appToken(deployment: App, body: Record<string, unknown> = { scopes: SCOPES }, key: string = callers.orders.key): Promise<Response> {
  return send(deployment, '/token/client', { bearer: key, json: body });
}

const clientCredentialCalls = () => provider.count('token:client_credentials');

test('POST /token/client answers an app token from the provider in MSAL\'s shape, not to be stored', async () => {
  const response = await appToken(await app(ownTokenCache()));
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('cache-control'), 'no-store');
  const body = await json<TokenAnswer>(response);
  assertEquals(body.token_type, 'Bearer');
  assertEquals(body.scope, 'api://downstream/.default');
  assertEquals(body.token_source, 'identity_provider');
  assert(body.expires_in > 3000 && body.ext_expires_in > 0, 'lifetimes');
  assert(body.expires_on > Date.now() / 1000, 'expires_on in the future');
  assertMatch(body.correlation_id, /^[0-9a-f-]{36}$/);
  const claims = jwtPayload(body.access_token);
  assertEquals([claims.aud, claims.tid, claims.azp], ['api://downstream', idp.tenants.primary, idp.webApp.clientId]);
  assertEquals(await clientCredentialCalls(), 1);
});

test('POST /token/client answers a second identical request from the cache (token_source "cache"), without a provider request', async () => {
  const deployment = await app(ownTokenCache());
  const first = await json<TokenAnswer>(await appToken(deployment));
  const second = await json<TokenAnswer>(await appToken(deployment));
  assertEquals(second.token_source, 'cache');
  assertEquals(second.access_token, first.access_token);
  assertEquals(await clientCredentialCalls(), 1);
});

test('POST /token/client takes a form body with space-delimited scopes', async () => {
  const response = await send(await app(), '/token/client', { bearer: callers.orders.key, body: 'scopes=api%3A%2F%2Fdownstream%2F.default', contentType: 'application/x-www-form-urlencoded' });
  assertEquals(response.status, 200);
});

test('POST /token/client without Authorization is 401 invalid_client with a Bearer WWW-Authenticate challenge', async () => {
  const response = await send(await app(), '/token/client', { json: { scopes: SCOPES } });
  await assertError(response, 401, 'invalid_client');
  assertMatch(response.headers.get('www-authenticate') ?? '', /^Bearer\b/);
});

test('POST /token/client with an unknown caller key, of any length, is 401 invalid_client and never reaches the provider', async () => {
  const deployment = await app();
  const sameLength = callers.orders.key.slice(0, -1) + (callers.orders.key.endsWith('f') ? 'e' : 'f');
  for (const key of [sameLength, 'x', 'y'.repeat(600)]) await assertError(await appToken(deployment, undefined, key), 401, 'invalid_client');
  await assertError(await send(deployment, '/token/client', { headers: { authorization: `Basic ${btoa('a:b')}` }, json: { scopes: SCOPES } }), 401, 'invalid_client');
  assertEquals(await clientCredentialCalls(), 0);
});

test('POST /token/client by a caller whose CALLERS entry does not grant client_credentials is 403 forbidden', async () => {
  const caller = testCaller(['password'], SCOPES);
  const response = await appToken(await app(await callersSetting(caller)), { scopes: SCOPES }, caller.key);
  await assertError(response, 403, 'forbidden');
  assertEquals(await clientCredentialCalls(), 0);
});

test("POST /token/client for a scope outside the caller's allow-list is 403 invalid_scope, without a provider request", async () => {
  const deployment = await app();
  await assertError(await appToken(deployment, { scopes: ['api://other/.default'] }), 403, 'invalid_scope');
  await assertError(await appToken(deployment, { scopes: ['api://downstream/.default', 'api://other/.default'] }), 403, 'invalid_scope');
  assertEquals(await clientCredentialCalls(), 0);
});

test('POST /token/client never serves a cached token to a caller whose allow-list lacks its scope', async () => {
  const deployment = await app(ownTokenCache());
  assertEquals((await appToken(deployment)).status, 200);
  const denied = await appToken(deployment, { scopes: SCOPES }, callers.reports.key);
  const body = await assertError(denied, 403, 'invalid_scope');
  assert(!JSON.stringify(body).includes('eyJ'), 'no token in the refusal');
  assertEquals(await clientCredentialCalls(), 1);
});

test('POST /token/client with force_refresh skips the cache: the provider is asked again', async () => {
  const deployment = await app(ownTokenCache());
  await appToken(deployment);
  const forced = await json<TokenAnswer>(await appToken(deployment, { scopes: SCOPES, force_refresh: true }));
  assertEquals(forced.token_source, 'identity_provider');
  assertEquals(await clientCredentialCalls(), 2);
});

test('POST /token/client: the 11th cache-bypassing request (force_refresh) of one caller within a minute is 429 rate_limited with Retry-After: 60', async () => {
  const deployment = await app(ownTokenCache());
  await atStartOfRateLimitWindow(10_000);
  for (let i = 0; i < 10; i++) assertEquals((await appToken(deployment, { scopes: SCOPES, force_refresh: true })).status, 200, `bypass #${i + 1}`);
  const limited = await appToken(deployment, { scopes: SCOPES, force_refresh: true });
  await assertError(limited, 429, 'rate_limited');
  assertEquals(limited.headers.get('retry-after'), '60');
  assertEquals(await clientCredentialCalls(), 10);
});

test('POST /token/client: claims count as cache-bypassing too; a limited caller still gets cached tokens, and other callers are not limited', async () => {
  const deployment = await app(ownTokenCache());
  const claims = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });
  await atStartOfRateLimitWindow(10_000);
  for (let i = 0; i < 10; i++) assertEquals((await appToken(deployment, { scopes: SCOPES, claims })).status, 200, `claims #${i + 1}`);
  await assertError(await appToken(deployment, { scopes: SCOPES, claims }), 429, 'rate_limited');
  assertEquals(await json<TokenAnswer>(await appToken(deployment)).then((b) => b.token_source), 'cache');
  const other = await appToken(deployment, { scopes: ['api://other/.default'], force_refresh: true }, callers.reports.key);
  assertEquals(other.status, 200);
});

test('POST /token/client refuses claims that are not a JSON object of at most 4 KiB with 400 invalid_request, before the provider', async () => {
  const deployment = await app();
  for (const claims of ['{"access_token":', '[1,2]', '"claims"', 'null', 5, JSON.stringify({ access_token: { xms_cc: { values: ['x'.repeat(4100)] } } })]) {
    await assertError(await appToken(deployment, { scopes: SCOPES, claims }), 400, 'invalid_request');
  }
  assertEquals(await clientCredentialCalls(), 0);
});

test('POST /token/client refuses missing, empty or malformed scopes with 400 invalid_request', async () => {
  const deployment = await app();
  for (const body of [{}, { scopes: [] }, { scopes: ['api://downstream/.default\u0000'] }, { scopes: 'api://downstream/.default  x' }, { scopes: 42 }]) {
    await assertError(await appToken(deployment, body), 400, 'invalid_request');
  }
  assertEquals(await clientCredentialCalls(), 0);
});

/** A multi-tenant app (AUTHORITY …/common) whose caller may mint app tokens in these tenants. */
async function multiTenantApp(tenants: string[]): Promise<{ deployment: App; key: string }> {
  const caller = testCaller(['client_credentials'], SCOPES, tenants);
  return { deployment: await app({ AUTHORITY: `${idp.origin}/common`, ...ownTokenCache(), ...(await callersSetting(caller)) }), key: caller.key };
}

test('POST /token/client with a tenant mints the token in that tenant, and caches each tenant\'s token under its own realm', async () => {
  const { deployment, key } = await multiTenantApp([idp.tenants.primary, idp.tenants.secondary]);
  for (const tenant of [idp.tenants.primary, idp.tenants.secondary]) {
    const body = await json<TokenAnswer>(await appToken(deployment, { scopes: SCOPES, tenant }, key));
    assertEquals([body.token_source, jwtPayload(body.access_token).tid], ['identity_provider', tenant]);
  }
  const again = await json<TokenAnswer>(await appToken(deployment, { scopes: SCOPES, tenant: idp.tenants.secondary }, key));
  assertEquals([again.token_source, jwtPayload(again.access_token).tid], ['cache', idp.tenants.secondary]);
  assertEquals(await clientCredentialCalls(), 2);
});

test("POST /token/client with a tenant outside the caller's tenants is 403 forbidden, before the provider is asked", async () => {
  const { deployment, key } = await multiTenantApp([idp.tenants.primary]);
  await assertError(await appToken(deployment, { scopes: SCOPES, tenant: idp.tenants.secondary }, key), 403, 'forbidden');
  assertEquals(await clientCredentialCalls(), 0);
});

test('POST /token/client at a multi-tenant app whose caller lists tenants must name one, and a multi-tenant alias is no tenant: 400', async () => {
  const { deployment, key } = await multiTenantApp(['*']);
  await assertError(await appToken(deployment, { scopes: SCOPES }, key), 400, 'invalid_request');
  for (const tenant of ['common', 'organizations', 'not a tenant', '../x']) await assertError(await appToken(deployment, { scopes: SCOPES, tenant }, key), 400, 'invalid_request');
  assertEquals(await clientCredentialCalls(), 0);
});

test('POST /token/client: an unknown path is 404 not_found and other methods are 405 with Allow: POST', async () => {
  const deployment = await app();
  const wrongMethod = await send(deployment, '/token/client', { method: 'GET', bearer: callers.orders.key });
  await assertError(wrongMethod, 405, 'method_not_allowed');
  assertEquals(wrongMethod.headers.get('allow'), 'POST');
  await assertError(await send(deployment, '/token/nowhere', { bearer: callers.orders.key, json: { scopes: SCOPES } }), 404, 'not_found');
});
