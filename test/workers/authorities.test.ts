/**
 * Real-world authorities end to end, in workerd against the local provider's surfaces: a browser signs in
 * through the Worker at an Entra tenant named by domain, External ID, Azure AD B2C, AD FS and a plain
 * OpenID provider; each account is the one MSAL builds for that kind; each kind's refresh works through
 * lib (the ID token checked again: tenant, user flow). B2C's "Forgot your password?" goes to the password
 * reset flow.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, test } from 'vitest';
import type { Env } from '../../functions/workers/index.ts';
import { ConfidentialClientApplication, KVCacheStore, MemoryAccountStore, type AccountInfo, type AccountRecord } from '../../lib/mod.ts';
import { Browser, alice, freshSignInState, signInSettings } from './browser-driver.ts';
import { call, idp, jwtPayload, provider } from './harness.ts';

interface Kind {
  name: string;
  settings: Record<string, string>;
  /** What /auth/me must show for alice. */
  account: (me: AccountInfo) => void;
  /** The provider's token endpoint count key for refreshes. */
  refreshCount: string;
}

const B2C_FLOW = idp.b2c.policies.signUpSignIn;
/** The B2C tenant's API scope: B2C answers a sign-in with an access token only for a resource scope. */
const B2C_SCOPE = `${idp.b2c.api.resource}/read`;
const b2cAlice = idp.b2c.users.find((u) => u.username === alice.username)!;
const adfsAlice = idp.adfs.users.find((u) => u.username === alice.username)!;
const oidcAlice = idp.oidc.users.find((u) => u.username === alice.username)!;

const KINDS: Kind[] = [
  {
    name: 'an Entra tenant named by its domain',
    settings: { AUTHORITY: `${idp.origin}/${idp.tenantDomains.primary}` },
    account: (me) => {
      expect(me.tenantId).toBe(idp.tenants.primary);
      expect(me.homeAccountId).toBe(`${me.localAccountId}.${idp.tenants.primary}`);
      expect(me.username).toBe(alice.username);
    },
    refreshCount: 'token:refresh_token',
  },
  {
    name: 'External ID (AUTHORITY_TYPE=ciam) by tenant id',
    settings: { AUTHORITY: `${idp.origin}/${idp.tenants.primary}`, AUTHORITY_TYPE: 'ciam' },
    account: (me) => expect([me.tenantId, me.username]).toEqual([idp.tenants.primary, alice.username]),
    refreshCount: 'token:refresh_token',
  },
  {
    name: 'Azure AD B2C with its sign-in user flow',
    settings: { AUTHORITY: idp.b2c.authorities[B2C_FLOW]!, SPA_SCOPES: B2C_SCOPE },
    account: (me) => {
      expect(me.homeAccountId).toBe(`${b2cAlice.oid}-${B2C_FLOW.toLowerCase()}.${idp.b2c.tenantId}`);
      expect(me.tenantId).toBe(idp.b2c.tenantId);
      expect(me.username).toBe(b2cAlice.emails[0]);
    },
    refreshCount: 'b2c:token:refresh_token',
  },
  {
    name: 'AD FS (no client_info: the account is the ID token\'s sub)',
    settings: { AUTHORITY: idp.adfs.authority, AUTHORITY_TYPE: 'adfs' },
    account: (me) => expect([me.homeAccountId, me.tenantId, me.username]).toEqual([adfsAlice.sub, 'adfs', adfsAlice.upn]),
    refreshCount: 'adfs:token:refresh_token',
  },
  {
    name: 'a plain OpenID provider (no Entra claims at all)',
    settings: { AUTHORITY: idp.oidc.authority, AUTHORITY_TYPE: 'oidc' },
    account: (me) => expect([me.homeAccountId, me.tenantId]).toEqual([oidcAlice.sub, '']),
    refreshCount: 'oidc:token:refresh_token',
  },
];

beforeEach(async () => {
  await freshSignInState();
});

describe.each(KINDS)('signing in through $name', (kind) => {
  async function signedIn(): Promise<{ worker: Env; browser: Browser; me: AccountInfo }> {
    const worker = await signInSettings(kind.settings);
    const browser = new Browser(worker);
    const callback = await browser.signIn(alice);
    expect(callback.status, await callback.clone().text()).toBe(302);
    expect(callback.headers.get('location')).toBe('/');
    const me = (await (await browser.get('/auth/me')).json()) as { account: AccountInfo };
    return { worker, browser, me: me.account };
  }

  test('the browser is signed in, as the account MSAL builds for this kind', async () => {
    const { me } = await signedIn();
    kind.account(me);
  });

  test("the account's refresh token is redeemed at this authority, its answer checked again", async () => {
    const { worker, me } = await signedIn();
    const record = await runInDurableObject(env.ACCOUNTS.get(env.ACCOUNTS.idFromName(me.homeAccountId)), (_i, state) => state.storage.get<AccountRecord>('account'));
    expect(record?.refreshToken?.secret).toBeTruthy();
    const accounts = new MemoryAccountStore<AccountRecord>();
    await accounts.put(me.homeAccountId, record!);
    const client = await ConfidentialClientApplication.fromSettings(worker, { cacheStore: new KVCacheStore(env.TOKEN_CACHE) });
    const scopes = (kind.settings.SPA_SCOPES ?? worker.SPA_SCOPES as string).split(' ');
    const before = (await provider.counts())[kind.refreshCount] ?? 0;
    const result = await client.acquireTokenSilent(accounts, { scopes, account: me, forceRefresh: true });
    expect(result.tokenSource).toBe('identity_provider');
    expect((await provider.counts())[kind.refreshCount]).toBe(before + 1);
    expect(result.accessToken).toBeTruthy();
  });
});

describe('B2C user flows', () => {
  const b2c = { AUTHORITY: idp.b2c.authorities[B2C_FLOW]!, SPA_SCOPES: B2C_SCOPE, B2C_PASSWORD_RESET_FLOW: idp.b2c.policies.passwordReset };

  test('"Forgot your password?" (AADB2C90118) sends the browser to the password reset flow, then back to sign in', async () => {
    const browser = new Browser(await signInSettings(b2c));
    await provider.fault({ endpoint: 'b2c:authorize', kind: 'b2c_forgot_password' });
    const forgot = await browser.complete(await browser.authenticate(await browser.startSignIn('returnTo=/profile')));
    expect(forgot.status).toBe(302);
    expect(forgot.headers.get('location')).toBe('/auth/login?flow=password_reset&returnTo=%2Fprofile');

    const resetUrl = await browser.startSignIn('flow=password_reset&returnTo=%2Fprofile');
    expect(resetUrl.toLowerCase()).toContain(`/${idp.b2c.policies.passwordReset.toLowerCase()}/oauth2/v2.0/authorize`);
    const reset = await browser.complete(await browser.authenticate(resetUrl));
    expect(reset.status).toBe(302);
    expect(reset.headers.get('location')).toBe('/auth/login?returnTo=%2Fprofile');

    const signedIn = await browser.complete(await browser.authenticate(await browser.startSignIn('returnTo=%2Fprofile')));
    expect(signedIn.headers.get('location')).toBe('/profile');
    const me = (await (await browser.get('/auth/me')).json()) as { account: AccountInfo };
    expect(me.account.homeAccountId).toBe(`${b2cAlice.oid}-${B2C_FLOW.toLowerCase()}.${idp.b2c.tenantId}`);
  });

  test('without B2C_PASSWORD_RESET_FLOW, the forgotten password is an error page, not a redirect', async () => {
    const browser = new Browser(await signInSettings({ AUTHORITY: b2c.AUTHORITY, SPA_SCOPES: b2c.SPA_SCOPES }));
    await provider.fault({ endpoint: 'b2c:authorize', kind: 'b2c_forgot_password' });
    const page = await browser.complete(await browser.authenticate(await browser.startSignIn()));
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('AADB2C90118');
  });

  test('a user flow that is not configured is 404; an unknown one 400', async () => {
    const browser = new Browser(await signInSettings(b2c));
    expect((await browser.get('/auth/login?flow=profile_edit')).status).toBe(404);
    expect((await browser.get('/auth/login?flow=delete_everything')).status).toBe(400);
  });

  test('a user flow setting on an authority that is not B2C is server_misconfigured naming it', async () => {
    const browser = new Browser(await signInSettings({ B2C_PROFILE_EDIT_FLOW: 'B2C_1_profileedit' }));
    const page = await browser.get('/auth/login?flow=profile_edit');
    expect(page.status).toBe(500);
    expect(await page.text()).toContain('B2C_PROFILE_EDIT_FLOW');
  });
});

describe('which hosts may claim to be Microsoft', () => {
  test('an Entra authority on an unknown host is refused at the first request, naming AUTHORITY_TYPE', async () => {
    const worker = await signInSettings({ AUTHORITY: 'https://login.microsoftonline.com.evil.example/common' });
    const response = await call(worker, '/token/client', { json: { scopes: ['api://downstream/.default'] } });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error_description: string }).error_description).toContain('AUTHORITY_TYPE');
  });

  test('app tokens by tenant domain are minted in the tenant the domain names', async () => {
    const worker = await signInSettings({ AUTHORITY: `${idp.origin}/${idp.tenantDomains.secondary}` });
    const response = await call(worker, '/token/client', { json: { scopes: ['api://downstream/.default'] } });
    expect(response.status).toBe(200);
    expect(jwtPayload(((await response.json()) as { access_token: string }).access_token).tid).toBe(idp.tenants.secondary);
  });
});

