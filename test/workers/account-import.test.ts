/**
 * POST /accounts/import (issue 9): a caller with the `account_import` grant brings users from another MSAL
 * deployment, as a refresh token or as an MSAL JSON cache (a real msal-node export, made in global setup:
 * test/msal-node-export.ts). Each refresh token is redeemed once at the provider, so it is checked and
 * rotated; a failing account stores nothing; each imported account gets a session key.
 *
 * Refresh tokens are single-use once redeemed, so the msal-node export itself is imported by one test;
 * the others put fresh refresh tokens from the provider into its entries.
 */
import { runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, test } from 'vitest';
import type { Env } from '../../functions/workers/index.ts';
import { alice, bob, freshSignInState, signInSettings } from './browser-driver.ts';
import { call, env, idp, provider } from './harness.ts';
import { callersSettingOf, generatedRequestProblems, providerRefreshToken, testCaller, type TestCaller } from './headless-callers.ts';

beforeEach(freshSignInState);

const SCOPES = ['api://downstream/read'];
const HOME = { alice: `4b1c6a52-7e3f-4d28-9f0a-1c2d3e4f5a61.${idp.tenants.primary}`, bob: `9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4.${idp.tenants.primary}` };

interface ImportAnswer {
  accounts: { account: { homeAccountId: string; username: string }; session_key: string; session_expires_in: number }[];
  errors: { home_account_id: string; username: string; error: string; error_description: string }[];
}

async function importSettings(...callers: TestCaller[]): Promise<Env> {
  return signInSettings({ CALLERS: await callersSettingOf(...callers) });
}

function importAccounts(settings: Env, caller: TestCaller, body: unknown): Promise<Response> {
  return call(settings, '/accounts/import', { key: caller.key, json: body });
}

const refreshCalls = async () => (await provider.counts())['token:refresh_token'] ?? 0;

/** The account record the account's Durable Object keeps (undefined: none). */
async function storedAccount(homeAccountId: string): Promise<{ refreshToken?: { secret: string } } | undefined> {
  const stub = env.ACCOUNTS.get(env.ACCOUNTS.idFromName(homeAccountId));
  return runInDurableObject(stub, (_instance, state) => state.storage.get<{ refreshToken?: { secret: string } }>('account'));
}

type MsalJson = Record<'Account' | 'IdToken' | 'AccessToken' | 'RefreshToken' | 'AppMetadata', Record<string, Record<string, unknown>>>;

/**
 * The msal-node export with its refresh tokens replaced (`secrets[home account id]`), and the entries of
 * accounts not in `secrets` removed: msal-node's exact schema with tokens no earlier test spent.
 */
function exportWith(secrets: Record<string, string>, change: (cache: MsalJson) => void = () => {}): MsalJson {
  const cache = JSON.parse(idp.msalNodeCache) as MsalJson;
  for (const section of Object.values(cache)) {
    for (const [key, entity] of Object.entries(section)) {
      const home = entity.home_account_id as string | undefined;
      if (home !== undefined && !(home in secrets)) delete section[key];
    }
  }
  for (const entity of Object.values(cache.RefreshToken)) entity.secret = secrets[entity.home_account_id as string];
  change(cache);
  return cache;
}

/** A silent token for the session key's account: 200 from the cache, without a provider request. */
async function expectSilentFromCache(settings: Env, key: string): Promise<void> {
  const before = await provider.counts();
  const response = await call(settings, '/auth/token', { key, json: { scopes: SCOPES } });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { token_source: string }).token_source).toBe('cache');
  expect(await provider.counts()).toEqual(before);
}

describe('a refresh token', () => {
  test('is redeemed once (rotated), the account stored with a session key that gets silent tokens', async () => {
    const caller = testCaller(['account_import']);
    const settings = await importSettings(caller);
    const refreshToken = await providerRefreshToken(alice);
    const response = await importAccounts(settings, caller, { refresh_token: refreshToken, scopes: SCOPES });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(text).not.toContain(refreshToken);
    const answer = JSON.parse(text) as ImportAnswer;
    expect(answer.errors).toEqual([]);
    expect(answer.accounts).toHaveLength(1);
    expect(answer.accounts[0]!.account).toMatchObject({ homeAccountId: HOME.alice, username: alice.username });
    expect(answer.accounts[0]!.session_key).toMatch(/^etfsk_/);
    expect(await refreshCalls()).toBe(1);
    // What is stored is the provider's new refresh token, not the imported one.
    const stored = await storedAccount(HOME.alice);
    expect(stored?.refreshToken?.secret).toBeTruthy();
    expect(stored?.refreshToken?.secret).not.toBe(refreshToken);
    await expectSilentFromCache(settings, answer.accounts[0]!.session_key);
  });

  test('that the provider refuses (already redeemed) is 401 interaction_required, and nothing is stored', async () => {
    const caller = testCaller(['account_import']);
    const settings = await importSettings(caller);
    const refreshToken = await providerRefreshToken(bob);
    expect((await importAccounts(settings, caller, { refresh_token: refreshToken, scopes: SCOPES })).status).toBe(200);
    const stored = await storedAccount(HOME.bob);

    const again = await importAccounts(settings, caller, { refresh_token: refreshToken, scopes: SCOPES });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: string }).error).toBe('interaction_required');
    expect(await storedAccount(HOME.bob)).toEqual(stored);
  });

  test('that is garbage is 401 interaction_required', async () => {
    const caller = testCaller(['account_import']);
    const response = await importAccounts(await importSettings(caller), caller, { refresh_token: 'not-a-refresh-token', scopes: SCOPES });
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(JSON.parse(text).error).toBe('interaction_required');
    expect(text).not.toContain('not-a-refresh-token');
  });

  test("with scopes outside the caller's allow-list is 403 invalid_scope, without a provider request", async () => {
    const caller = testCaller(['account_import'], ['api://other/.default']);
    const response = await importAccounts(await importSettings(caller), caller, { refresh_token: 'x'.repeat(40), scopes: SCOPES });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_scope');
    expect(await refreshCalls()).toBe(0);
  });
});

describe('an MSAL cache', () => {
  test("msal-node's own export (text): every account imported with its own session key, scopes from its access tokens", async () => {
    expect(idp.msalNodeCache, 'global setup made no msal-node export (see its log)').not.toBe('');
    const caller = testCaller(['account_import']);
    const settings = await importSettings(caller);
    const response = await importAccounts(settings, caller, { msal_cache: idp.msalNodeCache });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as ImportAnswer;
    expect(answer.errors).toEqual([]);
    expect(answer.accounts.map((a) => a.account.username).sort()).toEqual([alice.username, bob.username]);
    expect(new Set(answer.accounts.map((a) => a.session_key)).size).toBe(2);
    expect(await refreshCalls()).toBe(2);
    for (const { session_key: key } of answer.accounts) await expectSilentFromCache(settings, key);
  });

  test('as an object, with scopes from the body', async () => {
    const caller = testCaller(['account_import']);
    const settings = await importSettings(caller);
    const cache = exportWith({ [HOME.bob]: await providerRefreshToken(bob) }, (c) => (c.AccessToken = {}));
    const response = await importAccounts(settings, caller, { msal_cache: cache, scopes: SCOPES });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as ImportAnswer;
    expect(answer).toMatchObject({ errors: [], accounts: [{ account: { homeAccountId: HOME.bob } }] });
    await expectSilentFromCache(settings, answer.accounts[0]!.session_key);
  });

  test('an entry whose refresh token answers for another account is an error that stores nothing; the other entries are imported', async () => {
    const caller = testCaller(['account_import']);
    const settings = await importSettings(caller);
    const aliceBefore = await storedAccount(HOME.alice);
    // Alice's entry holds one of Bob's refresh tokens.
    const cache = exportWith({ [HOME.alice]: await providerRefreshToken(bob), [HOME.bob]: await providerRefreshToken(bob) });
    const response = await importAccounts(settings, caller, { msal_cache: cache });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as ImportAnswer;
    expect(answer.accounts.map((a) => a.account.homeAccountId)).toEqual([HOME.bob]);
    expect(answer.errors).toEqual([expect.objectContaining({ home_account_id: HOME.alice, username: alice.username, error: 'invalid_grant' })]);
    expect(await storedAccount(HOME.alice)).toEqual(aliceBefore);
  });

  test('an entry without scopes to take (no access token, none in the body) is an error, without a provider request', async () => {
    const caller = testCaller(['account_import']);
    const cache = exportWith({ [HOME.alice]: await providerRefreshToken(alice) }, (c) => (c.AccessToken = {}));
    const response = await importAccounts(await importSettings(caller), caller, { msal_cache: cache });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accounts: [], errors: [expect.objectContaining({ home_account_id: HOME.alice, error: 'invalid_request' })] });
    expect(await refreshCalls()).toBe(0);
  });

  test('an entry without a refresh token is an error', async () => {
    const caller = testCaller(['account_import']);
    const cache = exportWith({ [HOME.alice]: 'unused' }, (c) => (c.RefreshToken = {}));
    const response = await importAccounts(await importSettings(caller), caller, { msal_cache: cache });
    expect(await response.json()).toEqual({ accounts: [], errors: [expect.objectContaining({ home_account_id: HOME.alice, error: 'invalid_request' })] });
  });

  test("an entry whose access token's scopes are outside the caller's allow-list is an invalid_scope error, without a provider request", async () => {
    const caller = testCaller(['account_import'], ['api://other/.default']);
    const cache = exportWith({ [HOME.alice]: await providerRefreshToken(alice) });
    const response = await importAccounts(await importSettings(caller), caller, { msal_cache: cache });
    expect(await response.json()).toEqual({ accounts: [], errors: [expect.objectContaining({ home_account_id: HOME.alice, error: 'invalid_scope' })] });
    expect(await refreshCalls()).toBe(0);
  });

  test('of another client or authority host holds no account to import: 400 invalid_request', async () => {
    const caller = testCaller(['account_import']);
    const elsewhere = exportWith({ [HOME.alice]: 'unused' }, (c) => {
      for (const section of Object.values(c)) for (const entity of Object.values(section)) entity.environment = 'login.microsoftonline.com';
    });
    const response = await importAccounts(await importSettings(caller), caller, { msal_cache: elsewhere });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });
});

describe('who may import', () => {
  test('a caller without the account_import grant is 403 forbidden', async () => {
    const caller = testCaller(['client_credentials', 'password']);
    const response = await importAccounts(await importSettings(caller), caller, { refresh_token: 'x'.repeat(40), scopes: SCOPES });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('forbidden');
  });

  test('an unknown caller key is 401 invalid_client', async () => {
    const settings = await importSettings(testCaller(['account_import']));
    const response = await importAccounts(settings, { ...testCaller(['account_import']), key: 'not-a-caller-key' }, { refresh_token: 'x', scopes: SCOPES });
    expect(response.status).toBe(401);
  });
});

describe('bad input is 400 invalid_request, without a provider request', () => {
  const tooMany = () =>
    exportWith({ [HOME.alice]: 'unused' }, (c) => {
      const [[key, account]] = Object.entries(c.Account) as [[string, Record<string, unknown>]];
      for (let i = 0; i < 10; i++) c.Account[`${key}-${i}`] = { ...account, home_account_id: `${i}.${account.home_account_id as string}` };
    });
  const cases: [string, () => unknown][] = [
    ['both forms', () => ({ refresh_token: 'x'.repeat(40), scopes: SCOPES, msal_cache: '{}' })],
    ['neither form', () => ({ scopes: SCOPES })],
    ['a refresh token that is not a string', () => ({ refresh_token: 42, scopes: SCOPES })],
    ['a refresh token without scopes', () => ({ refresh_token: 'x'.repeat(40) })],
    ['a refresh token with whitespace', () => ({ refresh_token: 'abc def', scopes: SCOPES })],
    ['a refresh token over 16 KiB', () => ({ refresh_token: 'x'.repeat(17 * 1024), scopes: SCOPES })],
    ['msal_cache that is a number', () => ({ msal_cache: 7 })],
    ['msal_cache that is not JSON', () => ({ msal_cache: '{"Account":' })],
    ['msal_cache that is an array', () => ({ msal_cache: [] })],
    ['msal_cache whose Account section is not an object', () => ({ msal_cache: { Account: [] } })],
    ['msal_cache with malformed entries only', () => ({ msal_cache: { Account: { a: null, b: 1 }, RefreshToken: { c: null }, AppMetadata: { d: null } } })],
    ['msal_cache with malformed scopes in the body', () => ({ msal_cache: idp.msalNodeCache, scopes: [''] })],
    ['msal_cache with more than 10 accounts', () => ({ msal_cache: tooMany() })],
  ];
  for (const [name, body] of cases) {
    test(name, async () => {
      const caller = testCaller(['account_import']);
      const response = await importAccounts(await importSettings(caller), caller, body());
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
      expect(await refreshCalls()).toBe(0);
    });
  }

  test('a body over 128 KiB is 413 request_too_large', async () => {
    const caller = testCaller(['account_import']);
    const response = await importAccounts(await importSettings(caller), caller, { msal_cache: 'x'.repeat(129 * 1024) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: string }).error).toBe('request_too_large');
  });
});

test('300 generated requests by a caller with the grant: never a 5xx, every error in the documented shape', async () => {
  const caller = testCaller(['account_import']);
  expect(await generatedRequestProblems(await importSettings(caller), caller, '/accounts/import', 300)).toEqual([]);
});
