/**
 * POST /token/password: a caller with the `password` grant signs a user in with their username and
 * password (discouraged; off unless ENABLE_PASSWORD_GRANT=true) and gets the token, the account and a
 * session key. The password is never echoed; guesses at one user's password are rate limited.
 */
import { app, provider, type App } from './target.ts';
import { alice, bob } from './browser.ts';
import { callersSetting, testCaller, type TestCaller } from './callers.ts';
import { assert, assertEquals, assertError, assertMatch, atStartOfRateLimitWindow, json, send, test } from './suite.ts';

const SCOPES = ['api://downstream/read'];

async function passwordApp(callers: TestCaller[], enabled = true): Promise<App> {
  return app({ ...(await callersSetting(...callers)), ...(enabled ? { ENABLE_PASSWORD_GRANT: 'true' } : {}) });
}

function signIn(deployment: App, caller: TestCaller, body: Record<string, unknown>): Promise<Response> {
  return send(deployment, '/token/password', { bearer: caller.key, json: { scopes: SCOPES, ...body } });
}

const passwordCalls = () => provider.count('token:password');

test('without ENABLE_PASSWORD_GRANT=true, /token/password answers every method 404 not_found, exactly as an unknown path', async () => {
  const caller = testCaller(['password']);
  const deployment = await passwordApp([caller], false);
  const { correlation_id: _, ...unknown } = await json(await send(deployment, '/token/nowhere', { bearer: caller.key, json: { scopes: SCOPES } }));
  for (const method of ['POST', 'GET', 'PUT']) {
    const response = await send(deployment, '/token/password', { method, bearer: caller.key, json: { username: alice.username, password: alice.password, scopes: SCOPES } });
    const { correlation_id: id, ...body } = await assertError(response, 404, 'not_found');
    assertEquals(body, unknown, method);
    assertEquals(typeof id, 'string');
  }
  assertEquals(await passwordCalls(), 0);
});

test('with ENABLE_PASSWORD_GRANT=true, other methods than POST are 405 with Allow: POST', async () => {
  const caller = testCaller(['password']);
  const response = await send(await passwordApp([caller]), '/token/password', { method: 'GET', bearer: caller.key });
  await assertError(response, 405, 'method_not_allowed');
  assertEquals(response.headers.get('allow'), 'POST');
});

test('POST /token/password with an unknown caller key is 401 invalid_client', async () => {
  const deployment = await passwordApp([testCaller(['password'])]);
  await assertError(await signIn(deployment, testCaller(['password']), { username: alice.username, password: alice.password }), 401, 'invalid_client');
  assertEquals(await passwordCalls(), 0);
});

test('POST /token/password by a caller without the password grant is 403 forbidden, and the provider is not asked', async () => {
  const caller = testCaller(['client_credentials', 'account_import']);
  await assertError(await signIn(await passwordApp([caller]), caller, { username: alice.username, password: alice.password }), 403, 'forbidden');
  assertEquals(await passwordCalls(), 0);
});

test("POST /token/password for scopes outside the caller's allow-list is 403 invalid_scope, and the provider is not asked", async () => {
  const caller = testCaller(['password'], ['api://other/.default']);
  await assertError(await signIn(await passwordApp([caller]), caller, { username: alice.username, password: alice.password }), 403, 'invalid_scope');
  assertEquals(await passwordCalls(), 0);
});

test("POST /token/password with a wrong password is 400 invalid_grant with the provider's error code, and never echoes the password", async () => {
  const caller = testCaller(['password']);
  const wrong = 'Wrong-Secret-7731';
  const response = await signIn(await passwordApp([caller]), caller, { username: alice.username, password: wrong });
  const text = await response.clone().text();
  const body = await assertError(response, 400, 'invalid_grant');
  assertEquals(body.error_codes, [50126]);
  assert(!text.includes(wrong), 'the password is not in the answer');
  assertEquals(await passwordCalls(), 1);
});

test('POST /token/password answers the token, the account and a session key, which gets a silent token from the cache', async () => {
  const caller = testCaller(['password']);
  const deployment = await passwordApp([caller]);
  const response = await signIn(deployment, caller, { username: alice.username, password: alice.password });
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('cache-control'), 'no-store');
  const body = await json<{ token_type: string; scope: string; token_source: string; access_token: string; account: { username: string }; session_key: string; session_expires_in: number }>(response);
  assertEquals([body.token_type, body.scope, body.token_source, body.account.username], ['Bearer', 'api://downstream/read', 'identity_provider', alice.username]);
  assertMatch(body.session_key, /^etfsk_/);
  assert(body.session_expires_in > 0, 'session_expires_in');
  assert(!JSON.stringify(body).includes(alice.password), 'the password is not in the answer');
  const before = await provider.counts();
  const silent = await send(deployment, '/auth/token', { bearer: body.session_key, json: { scopes: SCOPES } });
  assertEquals(silent.status, 200);
  assertEquals(await json(silent).then((t) => [t.access_token, t.token_source]), [body.access_token, 'cache']);
  assertEquals(await provider.counts(), before);
});

test('POST /token/password takes a form-encoded request too', async () => {
  const caller = testCaller(['password']);
  const deployment = await passwordApp([caller]);
  const form = new URLSearchParams({ username: bob.username, password: bob.password, scopes: SCOPES.join(' ') }).toString();
  const response = await send(deployment, '/token/password', { bearer: caller.key, body: form, contentType: 'application/x-www-form-urlencoded' });
  assertEquals(response.status, 200);
  const { session_key: key } = await json<{ session_key: string }>(response);
  const me = await send(deployment, '/auth/me', { method: 'GET', bearer: key });
  assertEquals((await json<{ account: { username: string } }>(me)).account.username, bob.username);
});

test('POST /token/password: the 6th attempt for one user name (however written) within a minute is 429, without reaching the provider', async () => {
  const caller = testCaller(['password']);
  const deployment = await passwordApp([caller]);
  // A user name of this test's own, unknown to the provider (each attempt is a 400), written three ways.
  const name = `guess-${crypto.randomUUID().slice(0, 8)}@contoso.test`;
  const spellings = [name, name.toUpperCase(), `  ${name} `];
  await atStartOfRateLimitWindow(10_000);
  for (let i = 0; i < 5; i++) assertEquals((await signIn(deployment, caller, { username: spellings[i % 3], password: `guess-${i}` })).status, 400, `attempt #${i + 1}`);
  const limited = await signIn(deployment, caller, { username: spellings[2], password: 'guess-5' });
  await assertError(limited, 429, 'rate_limited');
  assert(Number(limited.headers.get('retry-after')) > 0, 'Retry-After');
  assertEquals(await passwordCalls(), 5);
  assertEquals((await signIn(deployment, caller, { username: `other-${name}`, password: 'x' })).status, 400, 'another user name is not limited');
});

test('POST /token/password with malformed input is 400 invalid_request, never echoing the password, without reaching the provider', async () => {
  const caller = testCaller(['password']);
  const deployment = await passwordApp([caller]);
  const secret = 'Input-Secret-9182';
  const bodies: (Record<string, unknown> | string)[] = [
    { password: secret },
    { username: 'nobody@contoso.test' },
    { username: 'nobody@contoso.test', password: [secret] },
    { username: ' ', password: secret },
    { username: 'nobody\u0000@contoso.test', password: secret },
    { username: 'nobody@contoso.test', password: secret.repeat(30) },
    { username: 'nobody@contoso.test', password: secret, scopes: undefined },
    { username: 'nobody@contoso.test', password: secret, claims: '[1]' },
    `{"username":"nobody@contoso.test","password":"${secret}"`,
  ];
  for (const body of bodies) {
    const response =
      typeof body === 'string'
        ? await send(deployment, '/token/password', { bearer: caller.key, body, contentType: 'application/json' })
        : await signIn(deployment, caller, body);
    const text = await response.clone().text();
    await assertError(response, 400, 'invalid_request');
    assert(!text.includes(secret), `the password is not echoed (${text.slice(0, 120)})`);
  }
  assertEquals(await passwordCalls(), 0);
});
