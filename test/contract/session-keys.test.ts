/**
 * Session keys: every headless sign-in (device code, password, import) answers a `session_key`, the bearer
 * form of a session for devices and scripts, used at /auth/token, /auth/me and /auth/logout without cookie,
 * Origin or CSRF header. Keys here come from importing a refresh token the provider issued.
 */
import { app, provider, randomKey, type App, type Overrides } from './target.ts';
import { alice, type User } from './browser.ts';
import { callersSetting, providerRefreshToken, testCaller } from './callers.ts';
import { assertEquals, assertError, assertStringIncludes, json, send, test } from './suite.ts';

const SCOPES = ['api://downstream/read'];

/** A deployment and a session key of `user` on it (an imported account). */
async function sessionKey(user: User = alice, overrides: Overrides = {}): Promise<{ deployment: App; key: string; expiresIn: number }> {
  const caller = testCaller(['account_import']);
  const deployment = await app({ ...(await callersSetting(caller)), ...overrides });
  const response = await send(deployment, '/accounts/import', { bearer: caller.key, json: { refresh_token: await providerRefreshToken(user), scopes: SCOPES } });
  assertEquals(response.status, 200, 'imported');
  const { accounts } = await json<{ accounts: { session_key: string; session_expires_in: number }[] }>(response);
  return { deployment, key: accounts[0]!.session_key, expiresIn: accounts[0]!.session_expires_in };
}

test('a session key gets silent tokens at POST /auth/token without cookie, Origin or CSRF header', async () => {
  const { deployment, key } = await sessionKey();
  const before = await provider.counts();
  const response = await send(deployment, '/auth/token', { bearer: key, json: { scopes: SCOPES } });
  assertEquals(response.status, 200);
  assertEquals((await json(response)).token_source, 'cache');
  assertEquals(await provider.counts(), before);
});

test('a session key names its account at GET /auth/me', async () => {
  const { deployment, key } = await sessionKey();
  const me = await send(deployment, '/auth/me', { method: 'GET', bearer: key });
  assertEquals(me.status, 200);
  assertEquals((await json<{ account: { username: string } }>(me)).account.username, alice.username);
});

test('a session key lives DEVICE_SESSION_TTL (default 90 days)', async () => {
  assertEquals((await sessionKey()).expiresIn, 90 * 24 * 3600);
  assertEquals((await sessionKey(alice, { DEVICE_SESSION_TTL: '3600' })).expiresIn, 3600);
});

test('POST /auth/logout with a session key ends that session ({"signed_out": true}); the key is refused afterwards', async () => {
  const { deployment, key } = await sessionKey();
  const out = await send(deployment, '/auth/logout', { bearer: key });
  assertEquals(out.status, 200);
  assertEquals(await json(out), { signed_out: true });
  await assertError(await send(deployment, '/auth/token', { bearer: key, json: { scopes: SCOPES } }), 401, 'interaction_required');
  assertEquals((await send(deployment, '/auth/me', { method: 'GET', bearer: key })).status, 401);
  assertEquals((await send(deployment, '/auth/logout', { bearer: key })).status, 401);
});

test("ending one session key leaves the account's other sessions signed in", async () => {
  const first = await sessionKey();
  const second = await sessionKey();
  assertEquals((await send(first.deployment, '/auth/logout', { bearer: first.key })).status, 200);
  assertEquals((await send(second.deployment, '/auth/token', { bearer: second.key, json: { scopes: SCOPES } })).status, 200);
});

test('an altered, forged or foreign session key is 401 invalid_token with a Bearer challenge', async () => {
  const { deployment, key } = await sessionKey();
  const altered = key.slice(0, -3) + (key.endsWith('AAA') ? 'BBB' : 'AAA');
  for (const bad of [altered, 'etfsk_v1.AAAA', `${key}x`]) {
    const response = await send(deployment, '/auth/token', { bearer: bad, json: { scopes: SCOPES } });
    assertStringIncludes(response.headers.get('www-authenticate') ?? '', 'invalid_token');
    await assertError(response, 401, 'invalid_token');
  }
  const foreign = await app({ SESSION_KEY: randomKey() });
  assertEquals((await send(foreign, '/auth/me', { method: 'GET', bearer: key })).status, 401, "another deployment's SESSION_KEY");
});

test('scopes for a session key stay within SPA_SCOPES: others are 403 invalid_scope', async () => {
  const { deployment, key } = await sessionKey();
  await assertError(await send(deployment, '/auth/token', { bearer: key, json: { scopes: ['api://other/.default'] } }), 403, 'invalid_scope');
});

test('no Origin or CSRF rule applies to a session key (no browser sends it on its own), and using it sets no cookie', async () => {
  const { deployment, key } = await sessionKey();
  const response = await send(deployment, '/auth/token', { bearer: key, json: { scopes: SCOPES }, headers: { origin: 'https://evil.example' } });
  assertEquals(response.status, 200);
  assertEquals(response.headers.getSetCookie(), []);
});
