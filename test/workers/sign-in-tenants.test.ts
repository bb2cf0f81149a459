/**
 * With a multi-tenant authority (`common`) any tenant in the world can sign in, so ALLOWED_TENANTS says
 * which: tenant ids, or `*` explicitly. Against the local provider serving `common` with Entra's
 * `{tenantid}` issuer and users of two tenants (alice: primary, carol: secondary).
 */
import { env } from 'cloudflare:test';
import { beforeEach, describe, expect, test } from 'vitest';
import { accessTokenKey } from '../../lib/cache/entities.ts';
import { storageKeyFor } from '../../lib/cache/token-cache.ts';
import { idp } from './harness.ts';
import { Browser, alice, freshSignInState, signInSettings, type User } from './browser-driver.ts';

const carol: User = { username: 'carol@fabrikam.test', password: 'carol-password' };
const CAROL_OID = 'c3a7e1d5-2b4f-4a69-8e0d-6f1a2b3c4d5e';

beforeEach(freshSignInState);

function commonBrowser(allowedTenants: string | undefined): Promise<Browser> {
  return signInSettings({ AUTHORITY: `${idp.origin}/common`, ALLOWED_TENANTS: allowedTenants }).then((settings) => new Browser(settings));
}

function signIn(browser: Browser, user: User): Promise<Response> {
  return browser.signIn(user, `returnTo=/&login_hint=${encodeURIComponent(user.username)}`);
}

describe('ALLOWED_TENANTS', () => {
  test('a user of an allowed tenant signs in', async () => {
    const browser = await commonBrowser(idp.tenants.primary);
    expect((await signIn(browser, alice)).status).toBe(302);
    const me = (await (await browser.get('/auth/me')).json()) as { account: { tenantId: string } };
    expect(me.account.tenantId).toBe(idp.tenants.primary);
  });

  test('a user of another tenant gets a 403 access_denied page and no session', async () => {
    const browser = await commonBrowser(idp.tenants.primary);
    const response = await signIn(browser, carol);
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('access_denied');
    expect(response.headers.getSetCookie().some((c) => /session=[^;]/.test(c))).toBe(false);
    expect((await browser.get('/auth/me')).status).toBe(401);
  });

  test('a refused tenant leaves no access token in the cache', async () => {
    const browser = await commonBrowser(idp.tenants.primary);
    await signIn(browser, carol);
    const storageKey = await storageKeyFor(
      accessTokenKey({
        homeAccountId: `${CAROL_OID}.${idp.tenants.secondary}`,
        environment: new URL(idp.origin).host,
        clientId: idp.webApp.clientId,
        realm: idp.tenants.secondary,
        target: 'api://downstream/read',
      }),
    );
    expect(await env.TOKEN_CACHE.get(storageKey)).toBeNull();
  });

  test('"*" lets any tenant sign in, with its own tid and issuer', async () => {
    const browser = await commonBrowser('*');
    expect((await signIn(browser, carol)).status).toBe(302);
    const me = (await (await browser.get('/auth/me')).json()) as { account: { tenantId: string }; claims: { iss: string } };
    expect(me.account.tenantId).toBe(idp.tenants.secondary);
    expect(me.claims.iss).toBe(`${idp.origin}/${idp.tenants.secondary}/v2.0`);
  });

  test('a list of several tenants allows each of them', async () => {
    const browser = await commonBrowser(`${idp.tenants.secondary}, ${idp.tenants.primary}`);
    expect((await signIn(browser, carol)).status).toBe(302);
    const other = await commonBrowser(`${idp.tenants.secondary} ${idp.tenants.primary}`);
    expect((await signIn(other, alice)).status).toBe(302);
  });

  test('the home tenant of the list is not implied: only the listed tenants may sign in', async () => {
    const browser = await commonBrowser(idp.tenants.secondary);
    expect((await signIn(browser, alice)).status).toBe(403);
  });

  test('missing with a multi-tenant authority is server_misconfigured naming it, before any flow is started', async () => {
    const browser = await commonBrowser(undefined);
    const response = await browser.get('/auth/login?returnTo=/');
    expect(response.status).toBe(500);
    const page = await response.text();
    expect(page).toContain('server_misconfigured');
    expect(page).toContain('ALLOWED_TENANTS');
    expect(response.headers.get('location')).toBeNull();
  });

  test('anything but tenant ids or * is server_misconfigured naming it', async () => {
    const browser = await commonBrowser('contoso.test');
    const response = await browser.get('/auth/login?returnTo=/');
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('ALLOWED_TENANTS');
  });
});
