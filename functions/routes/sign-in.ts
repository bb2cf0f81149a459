/**
 * Sign-in (backend-for-frontend): /auth/login starts the authorization code flow with PKCE, /auth/callback
 * completes it, stores the account with its refresh token, and opens a session. Both are browser
 * navigations: errors are pages.
 */
import { Hono, type Context } from 'hono';
import { CallerError, constantTimeEqual, utf8, type ResponseMode } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { clearedCookie, cookieName, readSealedCookie, sealedCookie } from '../cookies.ts';
import { navigation } from '../navigation.ts';
import { FLOW_TTL_SECONDS } from '../pending-sign-in.ts';
import { readBodyParameters } from '../request-body.ts';
import { validateReturnTo } from '../return-to.ts';
import { SESSION_TTL_SECONDS, sessionCookie } from '../sessions.ts';
import type { WebSettings } from '../web-settings.ts';

const STATE = /^[A-Za-z0-9_-]{16,128}$/;

/** One transaction cookie per started sign-in, so that two tabs signing in at once do not clobber each other. */
function transactionCookieName(web: WebSettings, state: string): string {
  return cookieName(web, `txn-${state.slice(0, 16)}`);
}

export const signInRoutes = new Hono<AppEnv>();

signInRoutes.get(
  '/login',
  navigation(async (c) => {
    const web = await c.var.deps.web();
    const returnTo = validateReturnTo(c.req.query('returnTo'), new URL(c.req.url).origin);
    const responseMode: ResponseMode = c.req.query('response_mode') === 'form_post' ? 'form_post' : 'query';
    const flow = await c.var.deps.client.initiateAuthCodeFlow({
      scopes: web.spaScopes,
      redirectUri: web.redirectUri.href,
      responseMode,
      ...optionalQuery(c, { prompt: 'prompt', loginHint: 'login_hint', domainHint: 'domain_hint' }),
    });
    await c.var.signIn.flows.put(flow.state, { flow, returnTo }, { ttlSeconds: FLOW_TTL_SECONDS });
    // form_post comes back as a cross-site POST, which only carries SameSite=None cookies.
    const sameSite = responseMode === 'form_post' ? 'None' : 'Lax';
    c.header('set-cookie', await sealedCookie(web, transactionCookieName(web, flow.state), { state: flow.state }, FLOW_TTL_SECONDS, sameSite));
    c.header('cache-control', 'no-store');
    return c.redirect(flow.authUri, 302);
  }),
);

async function completeSignIn(c: Context<AppEnv>, params: URLSearchParams): Promise<Response> {
  const web = await c.var.deps.web();
  const state = params.get('state') ?? '';
  if (!STATE.test(state)) throw new CallerError('state_mismatch', 'The sign-in response carries no valid state');
  const txnName = transactionCookieName(web, state);
  const txn = await readSealedCookie<{ state: string }>(web, c.req.header('cookie'), txnName);
  if (!txn || typeof txn.state !== 'string' || !constantTimeEqual(utf8(txn.state), utf8(state))) {
    throw new CallerError('state_mismatch', 'This sign-in was not started in this browser, or it has expired');
  }
  // Consumed before anything else: whatever happens next, this flow cannot be completed twice.
  const pending = await c.var.signIn.flows.consume(state);
  if (!pending) throw new CallerError('state_mismatch', 'This sign-in has expired or was already completed');
  // Set on the context, not on the redirect: the error page keeps it too (see error-page.ts).
  c.header('set-cookie', clearedCookie(web, txnName, pending.flow.responseMode === 'form_post' ? 'None' : 'Lax'), { append: true });
  const { record } = await c.var.deps.client.acquireTokenByAuthCodeFlow(pending.flow, params, c.var.correlationId);
  const sid = await c.var.signIn.accounts.signIn(record, SESSION_TTL_SECONDS);
  const session = { hid: record.account.home_account_id, sid, exp: Date.now() + SESSION_TTL_SECONDS * 1000 };
  c.header('set-cookie', await sessionCookie(web, session), { append: true });
  c.header('cache-control', 'no-store');
  return c.redirect(pending.returnTo, 302);
}

signInRoutes.get(
  '/callback',
  navigation((c) => completeSignIn(c, new URL(c.req.url).searchParams)),
);

// response_mode=form_post
signInRoutes.post(
  '/callback',
  navigation(async (c) => {
    const body = await readBodyParameters(c.req.raw);
    return completeSignIn(c, new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])));
  }),
);

function optionalQuery<K extends string>(c: Context<AppEnv>, names: Record<K, string>): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [key, name] of Object.entries(names) as [K, string][]) {
    const value = c.req.query(name);
    if (value && value.length <= 256) out[key] = value;
  }
  return out;
}
