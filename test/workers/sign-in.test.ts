/** Browser sign-in with the authorization code flow + PKCE, end to end in workerd against the provider. */
import { beforeEach, describe, expect, test } from 'vitest';
import { idp, provider } from './harness.ts';
import { Browser, WORKER_ORIGIN, alice, freshSignInState, signInSettings } from './browser-driver.ts';

beforeEach(freshSignInState);

describe('sign-in', () => {
  test('signs the user in, sets a __Host- session cookie and returns to returnTo', async () => {
    const browser = new Browser(await signInSettings());
    const response = await browser.signIn(alice, 'returnTo=/after?x=1');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/after?x=1');
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('__Host-session='))!;
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    const me = await browser.get('/auth/me');
    expect(me.status).toBe(200);
    expect(((await me.json()) as { account: { username: string } }).account.username).toBe(alice.username);
  });

  test('gives the SPA an access token for its scopes, from the cache filled at sign-in', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const response = await browser.token();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_source: string };
    expect(body.token_source).toBe('cache');
    const api = await browser.get('/api/demo', { authorization: `Bearer ${body.access_token}` });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { aud: string }).aud).toBe('api://downstream');
    expect((await provider.counts())['token:authorization_code']).toBe(1);
  });

  test('signs in through the multi-tenant "common" authority, resolving the {tenantid} issuer', async () => {
    const browser = new Browser(await signInSettings({ AUTHORITY: `${idp.origin}/common`, ALLOWED_TENANTS: idp.tenants.primary }));
    const response = await browser.signIn();
    expect(response.status).toBe(302);
    const me = (await (await browser.get('/auth/me')).json()) as { account: { tenantId: string }; claims: { iss: string } };
    expect(me.account.tenantId).toBe(idp.tenants.primary);
    expect(me.claims.iss).toBe(`${idp.authority}/v2.0`);
    expect((await browser.token()).status).toBe(200);
  });

  test('works with response_mode=form_post (POST callback)', async () => {
    const browser = new Browser(await signInSettings());
    const response = await browser.signIn(alice, 'returnTo=/&response_mode=form_post');
    expect(response.status).toBe(302);
    expect((await browser.get('/auth/me')).status).toBe(200);
  });

  test('signing out ends the session and sends the browser to the provider', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const oldCookies = browser.worker.header();
    const response = await browser.post('/auth/logout', { headers: { origin: WORKER_ORIGIN } });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(location.pathname).toMatch(/\/oauth2\/v2.0\/logout$/);
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${WORKER_ORIGIN}/`);
    expect(location.searchParams.get('id_token_hint')).toBeTruthy();
    // The provider accepts the post-logout redirect (it answers its confirmation page, not an error).
    const endSession = await fetch(location.href, { redirect: 'manual' });
    expect(endSession.status).toBe(200);
    expect(await endSession.text()).toMatch(/<form/i);
    expect((await browser.get('/auth/me')).status).toBe(401);
    const replayed = new Browser(browser.env);
    for (const part of oldCookies.split('; ')) replayed.worker.cookies.set(part.split('=')[0]!, part.slice(part.indexOf('=') + 1));
    expect((await replayed.get('/auth/me')).status).toBe(401);
    expect((await replayed.token()).status).toBe(401);
  });
});
