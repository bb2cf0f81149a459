/**
 * The browser session: /auth/me (the signed-in account, for the SPA) and /auth/logout (a navigation:
 * ends every session of the account, removes its tokens, and sends the browser to the provider's sign-out).
 */
import { Hono } from 'hono';
import { CallerError } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { clearedCookie } from '../cookies.ts';
import { navigation } from '../navigation.ts';
import { assertSameSiteRequest } from '../same-origin.ts';
import { readSession, sessionCookieName } from '../sessions.ts';

export const sessionRoutes = new Hono<AppEnv>();

sessionRoutes.get('/me', async (c) => {
  const web = await c.var.deps.web();
  const session = await readSession(web, c.req.header('cookie'));
  const view = session && (await c.var.signIn.accounts.session(session));
  if (!view) throw new CallerError('no_session', 'Not signed in');
  c.header('cache-control', 'no-store');
  return c.json(view);
});

sessionRoutes.post(
  '/logout',
  navigation(async (c) => {
    const web = await c.var.deps.web();
    assertSameSiteRequest(c, web, false);
    const session = await readSession(web, c.req.header('cookie'));
    const { idToken } = session ? await c.var.signIn.accounts.signOut(session) : {};
    const postLogoutRedirectUri = web.postLogoutRedirectUri ?? new URL('/', web.redirectUri).href;
    // RP-Initiated Logout's `state`: the provider passes it back with the browser; fresh per sign-out, so
    // the redirect back is not a fixed, guessable URL.
    const state = randomState();
    const target = await c.var.deps.client.endSessionUrl({ postLogoutRedirectUri, state, ...(idToken ? { idTokenHint: idToken } : {}) });
    c.header('set-cookie', clearedCookie(web, sessionCookieName(web)));
    c.header('cache-control', 'no-store');
    return c.redirect(target ?? postLogoutRedirectUri, 302);
  }),
);

/** 128 random bits, base64url. */
function randomState(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
