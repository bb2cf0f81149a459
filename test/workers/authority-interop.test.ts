/**
 * Every kind of authority against the local provider, with msal-node on the other side (issue 10): for an
 * Entra tenant named by domain, External ID (ciam), Azure AD B2C with its sign-in user flow, AD FS and a
 * plain OpenID provider, the cache msal-node wrote after Alice signed in through its auth code flow
 * (global setup: `idp.msalNodeCaches`) imports through POST /accounts/import into a Worker configured for
 * that kind, as the account MSAL built, and its session key gets tokens; app tokens (client credentials)
 * come from each kind's token endpoint with its audience and issuer; and an export of one authority never
 * becomes an account of another.
 *
 * Each export's refresh token can be redeemed once (Entra, B2C and AD FS here rotate it, and a reused one
 * revokes the grant), so each export is imported by one test; the tests in which it must not import
 * (another authority's deployment) run first.
 *
 * The account's Durable Object takes its settings from vitest.config.ts's bindings (the primary Entra
 * tenant by GUID), not from the per-test env, so a refresh through POST /auth/token reaches that tenant:
 * only the Entra-family kinds here (the primary tenant by domain, External ID on that tenant) can refresh
 * there. For the others the session key's silent token comes from the cache (filled by the import; every
 * kind here is on one host, so the object finds it under the account's realm, environment and client), and the refresh at the kind's own authority
 * is checked through lib with the kind's settings, as test/workers/authorities.test.ts does.
 */
import { runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, test } from 'vitest';
import type { Env } from '../../functions/workers/index.ts';
import type { MsalNodeExportKind } from '../global-setup.ts';
import { ConfidentialClientApplication, KVCacheStore, MemoryAccountStore, msalCacheAccounts, type AccountInfo, type AccountRecord } from '../../lib/mod.ts';
import { parseAuthority, type AuthorityType } from '../../lib/oauth/authority.ts';
import { freshSignInState, signInSettings } from './browser-driver.ts';
import { call, env, idp, jwtPayload, provider, settings } from './harness.ts';
import { callersSettingOf, testCaller } from './headless-callers.ts';

beforeEach(freshSignInState);

interface Kind {
  key: MsalNodeExportKind;
  name: string;
  /** The Worker's settings for this kind (as test/workers/authorities.test.ts). */
  settings: { AUTHORITY: string; AUTHORITY_TYPE?: AuthorityType };
  /** The user scopes msal-node signed in with, and the Worker's SPA_SCOPES. */
  scopes: string[];
  /** The provider's count key prefix of this kind's surface ('' for Entra). */
  surface: '' | 'b2c:' | 'adfs:' | 'oidc:';
  /** The app-token scope this kind's surface serves (test/idp/README.md). */
  appScope: string;
  /** What an app token of this kind carries. */
  appToken: { aud: string; iss: string };
  /** A user access token's audience at this kind. */
  userAudience: string;
  /** The Durable Object's own authority (the primary tenant) is this kind's: /auth/token may refresh there. */
  sharesObjectAuthority: boolean;
  /** The provider answers a refresh with a new refresh token (plain oidc-provider keeps a confidential client's). */
  rotatesRefreshTokens: boolean;
}

const ENTRA_ISSUER = `${idp.origin}/${idp.tenants.primary}/v2.0`;
const B2C_SCOPE = `${idp.b2c.api.resource}/read`;

const KINDS: Kind[] = [
  {
    key: 'entraDomain',
    name: 'an Entra tenant named by its domain',
    settings: { AUTHORITY: `${idp.origin}/${idp.tenantDomains.primary}` },
    scopes: ['api://downstream/read'],
    surface: '',
    appScope: 'api://downstream/.default',
    appToken: { aud: 'api://downstream', iss: ENTRA_ISSUER },
    userAudience: 'api://downstream',
    sharesObjectAuthority: true,
    rotatesRefreshTokens: true,
  },
  {
    key: 'ciam',
    name: 'External ID (AUTHORITY_TYPE=ciam) by tenant id',
    settings: { AUTHORITY: `${idp.origin}/${idp.tenants.primary}`, AUTHORITY_TYPE: 'ciam' },
    scopes: ['api://downstream/read'],
    surface: '',
    appScope: 'api://downstream/.default',
    appToken: { aud: 'api://downstream', iss: ENTRA_ISSUER },
    userAudience: 'api://downstream',
    sharesObjectAuthority: true,
    rotatesRefreshTokens: true,
  },
  {
    key: 'b2c',
    name: 'Azure AD B2C with its sign-in user flow',
    settings: { AUTHORITY: idp.b2c.authorities[idp.b2c.policies.signUpSignIn]! },
    scopes: [B2C_SCOPE],
    surface: 'b2c:',
    appScope: `${idp.b2c.api.resource}/.default`,
    appToken: { aud: idp.b2c.api.appId, iss: idp.b2c.issuer },
    userAudience: idp.b2c.api.appId,
    sharesObjectAuthority: false,
    rotatesRefreshTokens: true,
  },
  {
    key: 'adfs',
    name: 'AD FS',
    settings: { AUTHORITY: idp.adfs.authority, AUTHORITY_TYPE: 'adfs' },
    scopes: ['api://downstream/read'],
    surface: 'adfs:',
    appScope: 'api://downstream/.default',
    appToken: { aud: 'api://downstream', iss: idp.adfs.accessTokenIssuer },
    userAudience: 'api://downstream',
    sharesObjectAuthority: false,
    rotatesRefreshTokens: true,
  },
  {
    key: 'oidc',
    name: 'a plain OpenID provider',
    settings: { AUTHORITY: idp.oidc.authority, AUTHORITY_TYPE: 'oidc' },
    scopes: ['api://downstream/read'],
    surface: 'oidc:',
    appScope: 'api://downstream/read',
    appToken: { aud: 'api://downstream', iss: idp.oidc.issuer },
    userAudience: 'api://downstream',
    sharesObjectAuthority: false,
    rotatesRefreshTokens: false,
  },
];

/** The Entra-family kinds here are one tenant (the primary, by domain and by GUID): their exports are each other's. */
const SAME_TENANT = new Set<MsalNodeExportKind>(['entraDomain', 'ciam']);
const sameAuthority = (a: Kind, b: Kind) => a.key === b.key || (SAME_TENANT.has(a.key) && SAME_TENANT.has(b.key));

interface ImportAnswer {
  accounts: { account: AccountInfo; session_key: string; session_expires_in: number }[];
  errors: { home_account_id: string; username: string; error: string; error_description: string }[];
}

/** msal-node's Account entity, the fields compared here. */
interface MsalAccount {
  home_account_id: string;
  environment: string;
  realm: string;
  username: string;
}

/** msal-node's export for this kind (fails the test, naming global setup, when it could not be made). */
function exportOf(kind: Kind): string {
  const cache = idp.msalNodeCaches[kind.key];
  expect(cache, `global setup made no msal-node export for ${kind.key} (see its log)`).toBeTruthy();
  return cache;
}

/** The one Account entity msal-node wrote, and its refresh token. */
function msalAccountOf(kind: Kind): { account: MsalAccount; refreshToken: string } {
  const cache = JSON.parse(exportOf(kind)) as { Account: Record<string, MsalAccount>; RefreshToken: Record<string, { secret: string }> };
  const accounts = Object.values(cache.Account);
  expect(accounts).toHaveLength(1);
  return { account: accounts[0]!, refreshToken: Object.values(cache.RefreshToken)[0]!.secret };
}

/** The Worker for this kind (SPA_SCOPES: the kind's scopes), with a caller allowed to import accounts for them. */
async function importingWorker(kind: Kind): Promise<{ worker: Env; key: string }> {
  const caller = testCaller(['account_import'], kind.scopes);
  const worker = await signInSettings({ ...kind.settings, SPA_SCOPES: kind.scopes.join(' '), CALLERS: await callersSettingOf(caller) });
  return { worker, key: caller.key };
}

/** The account record the account's Durable Object keeps (undefined: none). */
function storedAccount(homeAccountId: string): Promise<AccountRecord | undefined> {
  const stub = env.ACCOUNTS.get(env.ACCOUNTS.idFromName(homeAccountId));
  return runInDurableObject(stub, (_instance, state) => state.storage.get<AccountRecord>('account'));
}

const count = async (key: string) => (await provider.counts())[key] ?? 0;

describe('an export of another authority does not import (accounts never cross authorities)', () => {
  // Every kind here answers on the same host (the local provider's origin) to the same client id, so the
  // export's entries are this deployment's by environment and client: it is this authority's provider,
  // redeeming the foreign refresh token, that refuses it (each provider keeps its own grants). On the real
  // services the hosts differ, and such an export holds no account of this deployment at all (400, as
  // test/workers/account-import.test.ts shows for another host). The exports are still good afterwards:
  // each one imports into its own kind's deployment below.
  // An AD FS account (MSAL's authority_type ADFS) is never another kind's, nor the reverse: such an export
  // holds no account of this deployment, refused before any provider call.
  const isAdfs = (k: (typeof KINDS)[number]) => k.key === 'adfs';
  const pairs = KINDS.flatMap((kind) => KINDS.filter((other) => !sameAuthority(other, kind)).map((other) => ({ kind, other, from: other.key, into: kind.name })));
  test.each(pairs.filter(({ kind, other }) => isAdfs(kind) !== isAdfs(other)))("$from's export into $into: not an account of this kind, 400 before any provider call", async ({ kind, other }) => {
    const { account } = msalAccountOf(other);
    const { worker, key } = await importingWorker(kind);
    const before = await provider.counts();
    const response = await call(worker, '/accounts/import', { key, json: { msal_cache: exportOf(other), scopes: kind.scopes } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    expect(await provider.counts()).toEqual(before);
    expect(await storedAccount(account.home_account_id)).toBeUndefined();
  });

  test.each(pairs.filter(({ kind, other }) => isAdfs(kind) === isAdfs(other)))("$from's export into $into: refused by this authority, no account, nothing stored", async ({ kind, other }) => {
    const { account, refreshToken } = msalAccountOf(other);
    const { worker, key } = await importingWorker(kind);
    const refreshes = `${kind.surface}token:refresh_token`;
    // The body names this deployment's scopes: the redemption is attempted, not stopped by the allow-list.
    const response = await call(worker, '/accounts/import', { key, json: { msal_cache: exportOf(other), scopes: kind.scopes } });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).not.toContain(refreshToken);
    const answer = JSON.parse(text) as ImportAnswer;
    expect(answer.accounts).toEqual([]);
    expect(answer.errors).toEqual([expect.objectContaining({ home_account_id: account.home_account_id, error: 'interaction_required' })]);
    expect(answer.errors[0]!.error_description).toMatch(/^invalid_grant: /);
    // Refused by this authority's provider, at its token endpoint.
    expect(await count(refreshes)).toBe(1);
    expect(await storedAccount(account.home_account_id)).toBeUndefined();
  });
});

describe.each(KINDS)("$name: msal-node's export", (kind) => {
  test("names Alice's account, its refresh token and the scopes of its access token, for a deployment of this kind", () => {
    const { account, refreshToken } = msalAccountOf(kind);
    const authority = parseAuthority(kind.settings.AUTHORITY, kind.settings.AUTHORITY_TYPE ? { type: kind.settings.AUTHORITY_TYPE } : {});
    // msal-node files a B2C account's ID and access tokens under the realm its silent flow looks them up by,
    // the ID token's `tfp` (B2C_1_signupsignin), not the Account's realm (the B2C tenant id); an AD FS or
    // OIDC account's access tokens under the authority's path segment (`adfs`, `oidc`), not its realm ('').
    // They are the account's all the same.
    expect(msalCacheAccounts({ clientId: idp.webApp.clientId, authority }, exportOf(kind))).toEqual([
      { homeAccountId: account.home_account_id, username: account.username, refreshToken, scopes: kind.scopes },
    ]);
  });

  test('deserializeCache (a trusted import, nothing redeemed) takes Alice with her ID token and access token', async () => {
    const { account } = msalAccountOf(kind);
    const client = await ConfidentialClientApplication.fromSettings(await settings(kind.settings), { cacheStore: new KVCacheStore(env.TOKEN_CACHE) });
    const accounts = new MemoryAccountStore<AccountRecord>();
    const before = await provider.counts();
    expect((await client.deserializeCache(accounts, exportOf(kind))).map((a) => a.homeAccountId)).toEqual([account.home_account_id]);
    expect((await accounts.get(account.home_account_id))?.accessTokenTargets).toEqual([kind.scopes.join(' ')]);
    expect(await provider.counts()).toEqual(before);
  });

  test("imports: Alice's account as MSAL built it, a session key for /auth/me and silent tokens", async () => {
    const { account: msalAccount, refreshToken } = msalAccountOf(kind);
    const { worker, key } = await importingWorker(kind);
    const refreshes = `${kind.surface}token:refresh_token`;
    // Scopes in the body as well: the import does not depend on reading them from the export (see above).
    const response = await call(worker, '/accounts/import', { key, json: { msal_cache: exportOf(kind), scopes: kind.scopes } });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).not.toContain(refreshToken);
    const answer = JSON.parse(text) as ImportAnswer;
    expect(answer.errors).toEqual([]);
    expect(answer.accounts).toHaveLength(1);
    const [{ account, session_key: sessionKey }] = answer.accounts as [ImportAnswer['accounts'][number]];
    expect(account.homeAccountId).toBe(msalAccount.home_account_id);
    expect(account.username).toBe(msalAccount.username);
    expect(account.environment).toBe(msalAccount.environment);
    expect(sessionKey).toMatch(/^etfsk_/);
    expect(await count(refreshes)).toBe(1);

    // Stored with the provider's new refresh token, not the imported one (the same when the provider keeps it).
    const stored = await storedAccount(account.homeAccountId);
    expect(stored?.refreshToken?.secret).toBeTruthy();
    if (kind.rotatesRefreshTokens) expect(stored?.refreshToken?.secret).not.toBe(refreshToken);
    else expect(stored?.refreshToken?.secret).toBe(refreshToken);

    const me = await call(worker, '/auth/me', { key: sessionKey, method: 'GET' });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { account: AccountInfo }).account).toMatchObject({ homeAccountId: msalAccount.home_account_id, username: msalAccount.username });

    // A silent token from the cache the import filled, without a provider request.
    const before = await provider.counts();
    const cached = await call(worker, '/auth/token', { key: sessionKey, json: { scopes: kind.scopes } });
    expect(cached.status, await cached.clone().text()).toBe(200);
    const cachedToken = (await cached.json()) as { access_token: string; token_source: string };
    expect(cachedToken.token_source).toBe('cache');
    expect(jwtPayload(cachedToken.access_token).aud).toBe(kind.userAudience);
    expect(await provider.counts()).toEqual(before);

    if (kind.sharesObjectAuthority) {
      // The object's authority is this tenant: its refresh redeems the rotated refresh token there.
      const refreshed = await call(worker, '/auth/token', { key: sessionKey, json: { scopes: kind.scopes, force_refresh: true } });
      expect(refreshed.status, await refreshed.clone().text()).toBe(200);
      expect(((await refreshed.json()) as { token_source: string }).token_source).toBe('identity_provider');
      expect(await count(refreshes)).toBe(2);
    } else {
      // The object would redeem it at the primary Entra tenant: the refresh at this kind's authority goes through lib.
      const accounts = new MemoryAccountStore<AccountRecord>();
      await accounts.put(account.homeAccountId, stored!);
      const client = await ConfidentialClientApplication.fromSettings(worker, { cacheStore: new KVCacheStore(env.TOKEN_CACHE) });
      const result = await client.acquireTokenSilent(accounts, { scopes: kind.scopes, account, forceRefresh: true });
      expect(result.tokenSource).toBe('identity_provider');
      expect((await accounts.get(account.homeAccountId))?.account.home_account_id).toBe(msalAccount.home_account_id);
      expect(jwtPayload(result.accessToken).aud).toBe(kind.userAudience);
      expect(await count(refreshes)).toBe(2);
    }
  });
});

describe.each(KINDS)('$name: client credentials', (kind) => {
  test("an app token from this authority's token endpoint (its aud and iss), then from the cache", async () => {
    const caller = testCaller(['client_credentials'], [kind.appScope]);
    const worker = await settings({ ...kind.settings, CALLERS: await callersSettingOf(caller) });
    const minted = `${kind.surface}token:client_credentials`;
    const first = await call(worker, '/token/client', { key: caller.key, json: { scopes: [kind.appScope] } });
    expect(first.status, await first.clone().text()).toBe(200);
    const token = (await first.json()) as { access_token: string; token_source: string };
    expect(token.token_source).toBe('identity_provider');
    expect(jwtPayload(token.access_token)).toMatchObject(kind.appToken);
    expect(await count(minted)).toBe(1);

    const second = await call(worker, '/token/client', { key: caller.key, json: { scopes: [kind.appScope] } });
    expect(second.status).toBe(200);
    const again = (await second.json()) as { access_token: string; token_source: string };
    expect(again.token_source).toBe('cache');
    expect(again.access_token).toBe(token.access_token);
    expect(await count(minted)).toBe(1);
  });
});

test('global setup made an export for every kind', () => {
  expect(Object.keys(idp.msalNodeCaches).sort()).toEqual(KINDS.map((k) => k.key).sort());
  for (const { key } of KINDS) expect(idp.msalNodeCaches[key], key).not.toBe('');
});
