/**
 * POST /accounts/import (the refresh_token form): a caller with the `account_import` grant moves a user from
 * another MSAL deployment. The refresh token is redeemed once at the provider (checked and rotated) before
 * anything is stored, and the account gets a session key.
 */
import { app, provider, type App } from './target.ts';
import { alice, bob } from './browser.ts';
import { callersSetting, providerRefreshToken, testCaller, type TestCaller } from './callers.ts';
import { assert, assertEquals, assertError, assertMatch, json, send, test } from './suite.ts';

const SCOPES = ['api://downstream/read'];

interface Imported {
  accounts: { account: { homeAccountId: string; username: string }; session_key: string; session_expires_in: number }[];
  errors: unknown[];
}

async function importApp(...callers: TestCaller[]): Promise<App> {
  return app(await callersSetting(...callers));
}

function importAccounts(deployment: App, caller: TestCaller, body: unknown): Promise<Response> {
  return send(deployment, '/accounts/import', { bearer: caller.key, json: body });
}

const refreshCalls = () => provider.count('token:refresh_token');

test('POST /accounts/import redeems the refresh token once and answers the account with a session key that gets silent tokens from the cache', async () => {
  const caller = testCaller(['account_import']);
  const deployment = await importApp(caller);
  const refreshToken = await providerRefreshToken(alice);
  const response = await importAccounts(deployment, caller, { refresh_token: refreshToken, scopes: SCOPES });
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('cache-control'), 'no-store');
  const text = await response.text();
  assert(!text.includes(refreshToken), 'the refresh token is not echoed');
  const answer = JSON.parse(text) as Imported;
  assertEquals(answer.errors, []);
  assertEquals(answer.accounts.length, 1);
  assertEquals(answer.accounts[0]!.account.username, alice.username);
  assertMatch(answer.accounts[0]!.session_key, /^etfsk_/);
  assertEquals(await refreshCalls(), 1);
  const before = await provider.counts();
  const silent = await send(deployment, '/auth/token', { bearer: answer.accounts[0]!.session_key, json: { scopes: SCOPES } });
  assertEquals(silent.status, 200);
  assertEquals((await json(silent)).token_source, 'cache');
  assertEquals(await provider.counts(), before);
});

test('POST /accounts/import with a refresh token the provider refuses (already redeemed) is 401 interaction_required', async () => {
  const caller = testCaller(['account_import']);
  const deployment = await importApp(caller);
  const refreshToken = await providerRefreshToken(bob);
  assertEquals((await importAccounts(deployment, caller, { refresh_token: refreshToken, scopes: SCOPES })).status, 200);
  await assertError(await importAccounts(deployment, caller, { refresh_token: refreshToken, scopes: SCOPES }), 401, 'interaction_required');
});

test('POST /accounts/import with a refresh token that is garbage is 401 interaction_required, without echoing it', async () => {
  const caller = testCaller(['account_import']);
  const response = await importAccounts(await importApp(caller), caller, { refresh_token: 'not-a-refresh-token', scopes: SCOPES });
  const text = await response.clone().text();
  await assertError(response, 401, 'interaction_required');
  assert(!text.includes('not-a-refresh-token'), 'not echoed');
});

test("POST /accounts/import for scopes outside the caller's allow-list is 403 invalid_scope, without a provider request", async () => {
  const caller = testCaller(['account_import'], ['api://other/.default']);
  await assertError(await importAccounts(await importApp(caller), caller, { refresh_token: 'x'.repeat(40), scopes: SCOPES }), 403, 'invalid_scope');
  assertEquals(await refreshCalls(), 0);
});

test('POST /accounts/import by a caller without the account_import grant is 403 forbidden, and by an unknown key 401 invalid_client', async () => {
  const caller = testCaller(['client_credentials', 'password']);
  const deployment = await importApp(caller);
  await assertError(await importAccounts(deployment, caller, { refresh_token: 'x'.repeat(40), scopes: SCOPES }), 403, 'forbidden');
  await assertError(await importAccounts(deployment, testCaller(['account_import']), { refresh_token: 'x'.repeat(40), scopes: SCOPES }), 401, 'invalid_client');
  assertEquals(await refreshCalls(), 0);
});

test('POST /accounts/import with both forms, neither, or a refresh token of the wrong type is 400 invalid_request', async () => {
  const caller = testCaller(['account_import']);
  const deployment = await importApp(caller);
  for (const body of [{ scopes: SCOPES }, { refresh_token: 'x'.repeat(40), msal_cache: '{}', scopes: SCOPES }, { refresh_token: 42, scopes: SCOPES }, { refresh_token: 'x'.repeat(17 * 1024), scopes: SCOPES }]) {
    await assertError(await importAccounts(deployment, caller, body), 400, 'invalid_request');
  }
  assertEquals(await refreshCalls(), 0);
});

test('POST /accounts/import: other methods are 405 with Allow: POST', async () => {
  const caller = testCaller(['account_import']);
  const response = await send(await importApp(caller), '/accounts/import', { method: 'GET', bearer: caller.key });
  await assertError(response, 405, 'method_not_allowed');
  assertEquals(response.headers.get('allow'), 'POST');
});
