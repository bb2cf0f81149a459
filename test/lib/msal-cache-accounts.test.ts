/**
 * msalCacheAccounts (lib/flows/cache-serialization.ts): which accounts of an MSAL JSON cache an import
 * redeems, with which refresh token and scopes. Pure: no store, no provider.
 */
import { assertEquals, assertThrows, test } from './spec.ts';
import { CallerError } from '../../lib/errors.ts';
import { msalCacheAccounts } from '../../lib/flows/cache-serialization.ts';
import { parseAuthority } from '../../lib/oauth/authority.ts';

const TENANT = '8d3f2b1e-5c4a-4e7b-9a61-0f2d3c4b5a69';
const HOME = `4b1c6a52-7e3f-4d28-9f0a-1c2d3e4f5a61.${TENANT}`;
const config = { clientId: 'web-app', authority: parseAuthority(`https://login.microsoftonline.com/${TENANT}`) };

/** One account as msal-node files an Entra one: under the `login.windows.net` alias. */
function cache(overrides: { AccessToken?: Record<string, unknown>; RefreshToken?: Record<string, unknown>; AppMetadata?: Record<string, unknown> } = {}) {
  const base = { home_account_id: HOME, environment: 'login.windows.net' };
  return {
    Account: { a: { ...base, realm: TENANT, local_account_id: 'oid', username: 'alice@contoso.test', authority_type: 'MSSTS' } },
    IdToken: {},
    AccessToken: overrides.AccessToken ?? {},
    RefreshToken: overrides.RefreshToken ?? { r: { ...base, credential_type: 'RefreshToken', client_id: 'web-app', secret: 'rt-1' } },
    AppMetadata: overrides.AppMetadata ?? {},
  };
}

function accessToken(target: string, cachedAt: number, extra: Record<string, unknown> = {}) {
  return { home_account_id: HOME, environment: 'login.windows.net', credential_type: 'AccessToken', client_id: 'web-app', realm: TENANT, target, secret: 'at', cached_at: String(cachedAt), expires_on: String(cachedAt + 3600), ...extra };
}

test('an account of this client and cloud (by alias), with its refresh token and no scopes without an access token', () => {
  assertEquals(msalCacheAccounts(config, JSON.stringify(cache())), [{ homeAccountId: HOME, username: 'alice@contoso.test', refreshToken: 'rt-1' }]);
});

test("the scopes are the most recent access token's target, OIDC scopes left out", () => {
  const json = cache({ AccessToken: { old: accessToken('api://old/read', 100), recent: accessToken('openid profile api://new/read offline_access', 200) } });
  assertEquals(msalCacheAccounts(config, json)[0]!.scopes, ['api://new/read']);
});

test("another client's or another realm's access tokens do not name the scopes", () => {
  const json = cache({ AccessToken: { client: accessToken('api://other/read', 300, { client_id: 'other-app' }), realm: accessToken('api://guest/read', 300, { realm: 'other-tenant' }) } });
  assertEquals(msalCacheAccounts(config, json)[0]!.scopes, undefined);
});

test("a family refresh token counts when the app metadata puts this client in the family; another client's does not", () => {
  const family = { home_account_id: HOME, environment: 'login.windows.net', credential_type: 'RefreshToken', client_id: 'office', family_id: '1', secret: 'frt' };
  assertEquals(msalCacheAccounts(config, cache({ RefreshToken: { f: family } }))[0]!.refreshToken, undefined);
  const inFamily = cache({ RefreshToken: { f: family }, AppMetadata: { m: { client_id: 'web-app', environment: 'login.windows.net', family_id: '1' } } });
  assertEquals(msalCacheAccounts(config, inFamily)[0]!.refreshToken, 'frt');
});

test("an account filed under two tenants (MSAL's one Account per tenant) is one entry, its home tenant's", () => {
  const json = cache({ AccessToken: { guest: accessToken('api://guest/read', 300, { realm: 'guest-tenant' }), home: accessToken('api://home/read', 100) } });
  const home = json.Account.a;
  json.Account = { guest: { ...home, realm: 'guest-tenant' }, a: home } as typeof json.Account;
  assertEquals(msalCacheAccounts(config, json), [{ homeAccountId: HOME, username: 'alice@contoso.test', refreshToken: 'rt-1', scopes: ['api://home/read'] }]);
});

test('accounts of another cloud are left out', () => {
  const other = cache();
  other.Account.a.environment = 'login.microsoftonline.us';
  assertEquals(msalCacheAccounts(config, other), []);
});

test('malformed entries are passed over, not a crash', () => {
  const json = { Account: { a: null, b: 7, c: { home_account_id: 1 } }, RefreshToken: { r: null }, AccessToken: { t: [] }, AppMetadata: { m: null } };
  assertEquals(msalCacheAccounts(config, json), []);
});

test('input that is not an MSAL cache is invalid_request', () => {
  assertThrows(() => msalCacheAccounts(config, '{'), CallerError, 'invalid_request');
  assertThrows(() => msalCacheAccounts(config, []), CallerError, 'invalid_request');
  assertThrows(() => msalCacheAccounts(config, { Account: [] }), CallerError, 'invalid_request');
  assertThrows(() => msalCacheAccounts(config, 42), CallerError, 'invalid_request');
});

test('every sovereign cloud matches by its own aliases: a US Government or China cache imports into an authority of that cloud only', () => {
  const clouds = [
    ['login.microsoftonline.us', 'login.usgovcloudapi.net'],
    ['login.partner.microsoftonline.cn', 'login.chinacloudapi.cn'],
    ['login.microsoftonline.com', 'sts.windows.net'],
  ] as const;
  for (const [host, alias] of clouds) {
    const ours = { clientId: 'web-app', authority: parseAuthority(`https://${host}/${TENANT}`) };
    const written = JSON.parse(JSON.stringify(cache()).replaceAll('login.windows.net', alias));
    assertEquals(msalCacheAccounts(ours, written).map((a) => a.homeAccountId), [HOME], `${host} ← ${alias}`);
    for (const [otherHost] of clouds.filter(([h]) => h !== host)) {
      const other = { clientId: 'web-app', authority: parseAuthority(`https://${otherHost}/${TENANT}`) };
      assertEquals(msalCacheAccounts(other, written), [], `${otherHost} ← ${alias}`);
    }
  }
});
