/**
 * POST /token/password (issue 9): a caller with the `password` grant signs a user in with their username
 * and password and gets the token, the account and a session key. Off unless ENABLE_PASSWORD_GRANT=true;
 * the password never comes back; guesses at one user's password are rate limited (PASSWORD_RATE_LIMIT,
 * 5 a minute, from wrangler.toml).
 *
 * The per-user limit is shared by every test of the run: each user name is used by at most a few tests
 * here, and the limit's own test uses a user name of its own.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import type { Env } from '../../functions/workers/index.ts';
import { alice, bob, freshSignInState, signInSettings } from './browser-driver.ts';
import { atStartOfRateLimitWindow, call, provider } from './harness.ts';
import { callersSettingOf, generatedRequestProblems, testCaller, type TestCaller } from './headless-callers.ts';

beforeEach(freshSignInState);

const SCOPES = ['api://downstream/read'];

/** Settings with the password grant on (unless `enabled` is false) and these callers. */
async function passwordSettings(callers: TestCaller[], enabled = true): Promise<Env> {
  return signInSettings({ CALLERS: await callersSettingOf(...callers), ...(enabled ? { ENABLE_PASSWORD_GRANT: 'true' } : {}) });
}

function signIn(settings: Env, caller: TestCaller, body: Record<string, unknown>): Promise<Response> {
  return call(settings, '/token/password', { key: caller.key, json: { scopes: SCOPES, ...body } });
}

const passwordCalls = async () => (await provider.counts())['token:password'] ?? 0;

describe('POST /token/password exists only with ENABLE_PASSWORD_GRANT=true', () => {
  test('without it, every method answers 404 not_found exactly as an unknown path does', async () => {
    const caller = testCaller(['password']);
    const settings = await passwordSettings([caller], false);
    const unknown = await call(settings, '/token/nowhere', { key: caller.key, json: { scopes: SCOPES } });
    const { correlation_id: _, ...unknownBody } = (await unknown.json()) as Record<string, unknown>;
    for (const method of ['POST', 'GET', 'PUT']) {
      const response = await call(settings, '/token/password', { method, key: caller.key, json: { username: alice.username, password: alice.password, scopes: SCOPES } });
      expect(response.status, method).toBe(404);
      const { correlation_id: id, ...body } = (await response.json()) as Record<string, unknown>;
      expect(body, method).toEqual(unknownBody);
      expect(typeof id).toBe('string');
    }
    expect(await passwordCalls()).toBe(0);
  });

  test('with it, other methods are 405 with Allow: POST', async () => {
    const caller = testCaller(['password']);
    const response = await call(await passwordSettings([caller]), '/token/password', { method: 'GET', key: caller.key });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('who may sign users in with a password', () => {
  test('an unknown caller key is 401 invalid_client', async () => {
    const settings = await passwordSettings([testCaller(['password'])]);
    const response = await signIn(settings, { ...testCaller(['password']), key: 'not-a-caller-key' }, { username: alice.username, password: alice.password });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  test('a caller without the password grant is 403 forbidden, and the provider is not asked', async () => {
    const caller = testCaller(['client_credentials', 'account_import']);
    const response = await signIn(await passwordSettings([caller]), caller, { username: alice.username, password: alice.password });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('forbidden');
    expect(await passwordCalls()).toBe(0);
  });

  test("scopes outside the caller's allow-list are 403 invalid_scope, and the provider is not asked", async () => {
    const caller = testCaller(['password'], ['api://other/.default']);
    const response = await signIn(await passwordSettings([caller]), caller, { username: alice.username, password: alice.password });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_scope');
    expect(await passwordCalls()).toBe(0);
  });
});

describe('signing in', () => {
  test("a wrong password is 400 invalid_grant with the provider's error code, and the answer never holds the password", async () => {
    const caller = testCaller(['password']);
    const wrong = 'Wrong-Secret-7731';
    const response = await signIn(await passwordSettings([caller]), caller, { username: alice.username, password: wrong });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: 'invalid_grant', error_codes: [50126] });
    expect(text).not.toContain(wrong);
    expect(await passwordCalls()).toBe(1);
  });

  test('answers the token, the account and a session key, which gets a silent token from /auth/token without a provider request', async () => {
    const caller = testCaller(['password']);
    const settings = await passwordSettings([caller]);
    const response = await signIn(settings, caller, { username: alice.username, password: alice.password });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Record<string, unknown> & { account: { username: string }; session_key: string; access_token: string };
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'api://downstream/read', token_source: 'identity_provider', account: { username: alice.username } });
    expect(body.session_key).toMatch(/^etfsk_/);
    expect(body.session_expires_in).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toContain(alice.password);

    const before = await provider.counts();
    const silent = await call(settings, '/auth/token', { key: body.session_key, json: { scopes: SCOPES } });
    expect(silent.status).toBe(200);
    expect(await silent.json()).toMatchObject({ access_token: body.access_token, token_source: 'cache' });
    expect(await provider.counts()).toEqual(before);
  });

  test('a form-encoded request signs in too; /auth/logout with the session key ends that session, and the key is refused afterwards', async () => {
    const caller = testCaller(['password']);
    const settings = await passwordSettings([caller]);
    const form = new URLSearchParams({ username: bob.username, password: bob.password, scopes: SCOPES.join(' ') }).toString();
    const response = await call(settings, '/token/password', { key: caller.key, body: form, contentType: 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(200);
    const { session_key: key } = (await response.json()) as { session_key: string };
    expect((await call(settings, '/auth/me', { method: 'GET', key })).status).toBe(200);

    const logout = await call(settings, '/auth/logout', { key });
    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({ signed_out: true });
    expect((await call(settings, '/auth/me', { method: 'GET', key })).status).toBe(401);
    expect((await call(settings, '/auth/token', { key, json: { scopes: SCOPES } })).status).toBe(401);
  });
});

describe('rate limits', () => {
  test('the 6th attempt for one user name within a minute is 429 with Retry-After, without reaching the provider; another user name is not limited', async () => {
    const caller = testCaller(['password']);
    const settings = await passwordSettings([caller]);
    // A user name of this test's own (unknown to the provider: each attempt is a 400), written in three
    // ways that are one user.
    const name = `guess-${crypto.randomUUID().slice(0, 8)}@contoso.test`;
    const spellings = [name, name.toUpperCase(), `  ${name} `];
    await atStartOfRateLimitWindow(20_000);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn(settings, caller, { username: spellings[i % 3], password: `guess-${i}` })).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    const limited = await signIn(settings, caller, { username: spellings[2], password: 'guess-5' });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: string }).error).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await passwordCalls()).toBe(5);
    expect((await signIn(settings, caller, { username: `other-${name}`, password: 'x' })).status).toBe(400);
  });
});

describe('bad input is 400 invalid_request, never echoing the password', () => {
  const secret = 'Input-Secret-9182';
  const cases: [string, Record<string, unknown> | string][] = [
    ['no username', { password: secret }],
    ['no password', { username: 'nobody@contoso.test' }],
    ['a password that is not a string', { username: 'nobody@contoso.test', password: [secret] }],
    ['an empty user name', { username: ' ', password: secret }],
    ['a user name with a control character', { username: 'nobody\u0000@contoso.test', password: secret }],
    ['a password over 256 characters', { username: 'nobody@contoso.test', password: secret.repeat(30) }],
    ['no scopes', { username: 'nobody@contoso.test', password: secret, scopes: undefined }],
    ['claims that are not a JSON object', { username: 'nobody@contoso.test', password: secret, claims: '[1]' }],
    ['a body that is not JSON', `{"username":"nobody@contoso.test","password":"${secret}"`],
  ];
  for (const [name, body] of cases) {
    test(name, async () => {
      const caller = testCaller(['password']);
      const settings = await passwordSettings([caller]);
      const response =
        typeof body === 'string'
          ? await call(settings, '/token/password', { key: caller.key, body, contentType: 'application/json' })
          : await signIn(settings, caller, body);
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(JSON.parse(text).error).toBe('invalid_request');
      expect(text).not.toContain(secret);
      expect(await passwordCalls()).toBe(0);
    });
  }
});

test('300 generated requests by a caller with the grant: never a 5xx, every error in the documented shape, no password echoed', async () => {
  const caller = testCaller(['password']);
  expect(await generatedRequestProblems(await passwordSettings([caller]), caller, '/token/password', 300)).toEqual([]);
});
