/**
 * The session: /auth/me (the signed-in account) and /auth/logout. A browser's sign-out is a navigation:
 * it ends every session of the account, removes its tokens, and sends the browser to the provider's
 * sign-out. A session key's sign-out (a device, a script) is an API call that ends that session only.
 */
import { Hono } from 'hono';
import { CallerError, base64url } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { clearedCookie } from '../cookies.ts';
import { navigation } from '../navigation.ts';
import { presentsSessionKey, requestSession } from '../request-session.ts';
import { sessionCookieName } from '../sessions.ts';

export const sessionRoutes = new Hono<AppEnv>();

sessionRoutes.get('/me', async (c) => {
  const web = await c.var.deps.web();
  const session = await requestSession(c, web, 'read');
  const view = session && (await c.var.signIn.accounts.session(session));
  if (!view) throw new CallerError('no_session', 'Not signed in');
  c.header('cache-control', 'no-store');
  return c.json(view);
});

sessionRoutes.post('/logout', async (c, next) => {
  if (!presentsSessionKey(c)) return next();
  const session = await requestSession(c, await c.var.deps.web(), 'read');
  if (!session || !(await c.var.signIn.accounts.endSession(session))) throw new CallerError('invalid_token', 'This session key has already ended');
  c.header('cache-control', 'no-store');
  return c.json({ signed_out: true });
});

sessionRoutes.post(
  '/logout',
  navigation(async (c) => {
    const web = await c.var.deps.web();
    const session = await requestSession(c, web, 'navigation');
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
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}
