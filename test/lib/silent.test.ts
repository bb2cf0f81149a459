/** Silent acquisition, accounts and error classification, with an in-memory provider double. */
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { ConfidentialClientApplication } from '../../lib/confidential-client.ts';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { MemoryAccountStore } from '../../lib/storage/memory-account-store.ts';
import { InteractionRequiredError, ServerError, deserializeAuthError, serializeAuthError } from '../../lib/errors.ts';
import { classifyServerError } from '../../lib/interaction.ts';
import { buildAccount, parseClientInfo, type AccountRecord } from '../../lib/account.ts';
import { base64url, utf8 } from '../../lib/encoding.ts';
import { MemoryCacheStore, SEALING_SECRET, jsonResponse } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = 'web-app';
const HOME = `uid-1.${TENANT}`;

/** A token endpoint that rotates the refresh token on every use and refuses a stale one, as oidc-provider does. */
function rotatingProvider(authority: ReturnType<typeof parseAuthority>, hooks: { beforeAnswer?: () => Promise<void> } = {}) {
  let current = 'rt-0';
  const used: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetchImpl: typeof fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (request.url.endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: authority.issuer, authorization_endpoint: `${authority.url}/oauth2/v2.0/authorize`, token_endpoint: `${authority.url}/oauth2/v2.0/token`, jwks_uri: `${authority.url}/discovery/v2.0/keys` });
    }
    const body = new URLSearchParams(await request.text());
    await hooks.beforeAnswer?.();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    const presented = body.get('refresh_token')!;
    used.push(presented);
    if (presented !== current) return jsonResponse({ error: 'invalid_grant', error_description: 'refresh token already used' }, 400);
    current = `rt-${used.length}`;
    return jsonResponse({ access_token: `at-${used.length}-${body.get('scope')}`, token_type: 'Bearer', expires_in: 3600, refresh_token: current, scope: body.get('scope') });
  }) as typeof fetch;
  return { fetch: fetchImpl, used, stats: () => ({ maxInFlight }) };
}

async function setup(hooks: { beforeAnswer?: () => Promise<void> } = {}) {
  const authority = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
  const provider = rotatingProvider(authority, hooks);
  const cacheStore = new MemoryCacheStore();
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY: authority.url, CLIENT_ID, CLIENT_SECRET: 's', CLIENT_SECRET_METHOD: 'post', TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_TIMEOUT_MS: '5000', PROVIDER_RETRY_DELAY_MS: '0' },
    { cacheStore, fetch: provider.fetch },
  );
  const accounts = new MemoryAccountStore<AccountRecord>();
  const record: AccountRecord = {
    account: { home_account_id: HOME, environment: authority.environment, realm: TENANT, local_account_id: 'oid-1', username: 'Alice@Contoso.test', authority_type: 'MSSTS' },
    idToken: { home_account_id: HOME, environment: authority.environment, credential_type: 'IdToken', client_id: CLIENT_ID, realm: TENANT, secret: 'id' },
    refreshToken: { home_account_id: HOME, environment: authority.environment, credential_type: 'RefreshToken', client_id: CLIENT_ID, secret: 'rt-0' },
    idTokenClaims: {},
    accessTokenTargets: [],
  };
  await accounts.put(HOME, record);
  return { app, accounts, provider, cacheStore, account: { homeAccountId: HOME, tenantId: TENANT } };
}

test('acquireTokenSilent redeems the refresh token, stores the rotated one, then serves from the cache', async () => {
  const { app, accounts, provider, account } = await setup();
  const first = await app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account });
  assertEquals(first.tokenSource, 'identity_provider');
  assertEquals((await accounts.get(HOME))!.refreshToken!.secret, 'rt-1');
  const second = await app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account });
  assertEquals(second.tokenSource, 'cache');
  assertEquals(second.accessToken, first.accessToken);
  assertEquals(provider.used.length, 1);
});

test('refreshes for two scope sets of one account never overlap, so a rotated token is never replayed', async () => {
  const { app, accounts, provider, account } = await setup();
  const [a, b] = await Promise.all([
    app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account }),
    app.acquireTokenSilent(accounts, { scopes: ['api://b/read'], account }),
  ]);
  assert(a.accessToken !== b.accessToken, 'two different tokens');
  assertEquals(provider.used, ['rt-0', 'rt-1']);
  assertEquals(provider.stats().maxInFlight, 1);
});

test('concurrent calls for one scope set share one refresh', async () => {
  const { app, accounts, provider, account } = await setup();
  const results = await Promise.all(Array.from({ length: 10 }, () => app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account })));
  assertEquals(new Set(results.map((r) => r.accessToken)).size, 1);
  assertEquals(provider.used.length, 1);
});

test('a refused refresh token is an InteractionRequiredError', async () => {
  const { app, accounts, account } = await setup();
  const record = (await accounts.get(HOME))!;
  await accounts.put(HOME, { ...record, refreshToken: { ...record.refreshToken!, secret: 'stale' } });
  await assertRejects(() => app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account }), InteractionRequiredError, 'invalid_grant');
});

test('an account without a refresh token is InteractionRequiredError no_tokens_found', async () => {
  const { app, accounts, account } = await setup();
  const { refreshToken: _dropped, ...rest } = (await accounts.get(HOME))!;
  await accounts.put(HOME, rest);
  await assertRejects(() => app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account }), InteractionRequiredError, 'no_tokens_found');
});

test('getAccounts filters by username, case-insensitively', async () => {
  const { app, accounts } = await setup();
  assertEquals((await app.getAccounts(accounts, { username: 'alice@contoso.TEST' })).map((a) => a.homeAccountId), [HOME]);
  assertEquals(await app.getAccounts(accounts, { username: 'bob@contoso.test' }), []);
});

test('removeAccount deletes the account and its cached access tokens', async () => {
  const { app, accounts, cacheStore, account } = await setup();
  await app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account });
  assertEquals(cacheStore.data.size, 1);
  await app.removeAccount(accounts, account);
  assertEquals(await accounts.get(HOME), null);
  assertEquals(cacheStore.data.size, 0);
});

test('an account removed while its refresh was in flight is not brought back', async () => {
  const hooks: { beforeAnswer?: () => Promise<void> } = {};
  const { app, accounts, account } = await setup(hooks);
  hooks.beforeAnswer = () => accounts.delete(HOME);
  await app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account });
  assertEquals(await accounts.get(HOME), null);
});

test('classifyServerError makes invalid_grant and interaction suberrors InteractionRequiredError, keeping claims', () => {
  const grant = classifyServerError(new ServerError({ error: 'invalid_grant', suberror: 'bad_token', claims: '{"x":1}' }, 400));
  assert(grant instanceof InteractionRequiredError);
  assertEquals((grant as InteractionRequiredError).claims, '{"x":1}');
  assert(classifyServerError(new ServerError({ error: 'invalid_request', suberror: 'basic_action' }, 400)) instanceof InteractionRequiredError);
  assert(!(classifyServerError(new ServerError({ error: 'server_error' }, 500)) instanceof InteractionRequiredError));
});

test('an AuthError survives serialisation across RPC with its class and fields', () => {
  const original = new InteractionRequiredError({ error: 'interaction_required', suberror: 'consent_required', claims: 'c', error_codes: [65001] }, 400);
  const copy = deserializeAuthError(JSON.parse(JSON.stringify(serializeAuthError(original))));
  assert(copy instanceof InteractionRequiredError);
  assertEquals((copy as InteractionRequiredError).subError, 'consent_required');
  assertEquals((copy as InteractionRequiredError).errorCodes, [65001]);
});

test('buildAccount uses client_info for home_account_id, oid and preferred_username', () => {
  const clientInfo = base64url(utf8(JSON.stringify({ uid: 'u', utid: 't' })));
  const account = buildAccount({ claims: { oid: 'o', sub: 's', preferred_username: 'p@x', name: 'P' }, clientInfoRaw: clientInfo, environment: 'login.example', realm: 't', now: 0 });
  assertEquals([account.home_account_id, account.local_account_id, account.username, account.name], ['u.t', 'o', 'p@x', 'P']);
  assertEquals(buildAccount({ claims: { sub: 's' }, clientInfoRaw: undefined, environment: 'e', realm: 'r', now: 0 }).home_account_id, 's');
  assertEquals(parseClientInfo('not base64!'), null);
});
