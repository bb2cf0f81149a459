/**
 * The backend-for-frontend sign-in routes: /auth/login, /auth/callback, /auth/me, /auth/token and
 * /auth/logout. Tokens stay server-side except the access tokens the SPA asks for; the refresh token
 * never reaches the browser.
 */
import { Hono, type Context } from 'hono';
import {
  AuthError,
  CallerError,
  InteractionRequiredError,
  ServerError,
  constantTimeEqual,
  deserializeAuthError,
  normalizeScopes,
  utf8,
  type AuthCodeFlow,
  type FlowStore,
  type ResponseMode,
} from '../../lib/mod.ts';
import type { AppEnv } from '../app.ts';
import { clearedCookie, cookieName, readSealedCookie, sealedCookie } from '../cookies.ts';
import { errorPage } from '../error-page.ts';
import { readBodyParameters } from '../request-body.ts';
import { validateReturnTo } from '../return-to.ts';
import { tokenResponse } from '../token-response.ts';
import { SESSION_TTL_SECONDS, readSession, sessionCookie, sessionCookieName, type AccountSessions } from '../sessions.ts';
import type { WebSettings } from '../web-settings.ts';

export interface PendingSignIn {
  flow: AuthCodeFlow;
  returnTo: string;
}

export interface SignInStores {
  flows: FlowStore<PendingSignIn>;
  accounts: AccountSessions;
}

/** Flows expire after 10 minutes (the flow store's TTL and the transaction cookie's Max-Age). */
export const FLOW_TTL_SECONDS = 600;
const STATE = /^[A-Za-z0-9_-]{16,128}$/;

function transactionCookieName(web: WebSettings, state: string): string {
  return cookieName(web, `txn-${state.slice(0, 16)}`);
}

export function authRoutes(stores: (c: Context<AppEnv>) => SignInStores): Hono<AppEnv> {
  const auth = new Hono<AppEnv>();

  auth.get('/login', async (c) => {
    const web = await c.var.deps.web();
    try {
      const returnTo = validateReturnTo(c.req.query('returnTo'), new URL(c.req.url).origin);
      const responseMode: ResponseMode = c.req.query('response_mode') === 'form_post' ? 'form_post' : 'query';
      const flow = await c.var.deps.client.initiateAuthCodeFlow({
        scopes: web.spaScopes,
        redirectUri: web.redirectUri.href,
        responseMode,
        ...optionalQuery(c, { prompt: 'prompt', loginHint: 'login_hint', domainHint: 'domain_hint' }),
      });
      await stores(c).flows.put(flow.state, { flow, returnTo }, { ttlSeconds: FLOW_TTL_SECONDS });
      // form_post comes back as a cross-site POST, which only carries SameSite=None cookies.
      const sameSite = responseMode === 'form_post' ? 'None' : 'Lax';
      c.header('set-cookie', await sealedCookie(web, transactionCookieName(web, flow.state), { state: flow.state }, FLOW_TTL_SECONDS, sameSite));
      c.header('cache-control', 'no-store');
      return c.redirect(flow.authUri, 302);
    } catch (error) {
      if (error instanceof AuthError) return errorPage(error, c.var.correlationId);
      throw error;
    }
  });

  const callback = async (c: Context<AppEnv>, params: URLSearchParams) => {
    const web = await c.var.deps.web();
    const state = params.get('state') ?? '';
    const cookies: string[] = [];
    try {
      if (!STATE.test(state)) throw new CallerError('state_mismatch', 'The sign-in response carries no valid state');
      const txnName = transactionCookieName(web, state);
      const txn = await readSealedCookie<{ state: string }>(web, c.req.header('cookie'), txnName);
      if (!txn || typeof txn.state !== 'string' || !constantTimeEqual(utf8(txn.state), utf8(state))) {
        throw new CallerError('state_mismatch', 'This sign-in was not started in this browser, or it has expired');
      }
      // Consumed before anything else: whatever happens next, this flow cannot be completed twice.
      const pending = await stores(c).flows.consume(state);
      if (!pending) throw new CallerError('state_mismatch', 'This sign-in has expired or was already completed');
      cookies.push(clearedCookie(web, txnName, pending.flow.responseMode === 'form_post' ? 'None' : 'Lax'));
      const { record } = await c.var.deps.client.acquireTokenByAuthCodeFlow(pending.flow, params, c.var.correlationId);
      const sid = await stores(c).accounts.signIn(record, SESSION_TTL_SECONDS);
      const session = { hid: record.account.home_account_id, sid, exp: Date.now() + SESSION_TTL_SECONDS * 1000 };
      cookies.push(await sessionCookie(web, session));
      return withCookies(new Response(null, { status: 302, headers: { location: pending.returnTo, 'cache-control': 'no-store' } }), cookies);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      // A refused code (replayed, expired) or a provider error answer is about this browser's request.
      const status = error instanceof ServerError && error.providerStatus < 500 && !error.retryAfter ? 400 : undefined;
      return withCookies(errorPage(error, c.var.correlationId, status), cookies);
    }
  };
  auth.get('/callback', (c) => callback(c, new URL(c.req.url).searchParams));
  auth.post('/callback', async (c) => {
    const body = await readBodyParameters(c.req.raw);
    return callback(c, new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])));
  });

  auth.get('/me', async (c) => {
    const web = await c.var.deps.web();
    const session = await readSession(web, c.req.header('cookie'));
    const view = session && (await stores(c).accounts.session(session));
    if (!view) throw new CallerError('no_session', 'Not signed in');
    c.header('cache-control', 'no-store');
    return c.json(view);
  });

  auth.post('/token', async (c) => {
    const web = await c.var.deps.web();
    assertSameSiteRequest(c, web, true);
    const session = await readSession(web, c.req.header('cookie'));
    if (!session) throw interactionRequired('Not signed in');
    const body = await readBodyParameters(c.req.raw);
    const scopes = normalizeScopes(body.scopes);
    const allowed = new Set(web.spaScopes.map((s) => s.toLowerCase()));
    if (scopes.some((s) => !allowed.has(s.toLowerCase()))) throw new CallerError('invalid_scope', 'A requested scope is not one this app may obtain');
    const claims = typeof body.claims === 'string' ? body.claims : undefined;
    const outcome = await stores(c).accounts.acquireTokenSilent(session, c.var.deps.settings, {
      scopes,
      correlationId: c.var.correlationId,
      ...(body.force_refresh === true ? { forceRefresh: true } : {}),
      ...(claims ? { claimsChallenge: claims } : {}),
    });
    if (!outcome) throw interactionRequired('The session has ended');
    if (!outcome.ok) throw deserializeAuthError(outcome.error);
    return tokenResponse(outcome.value);
  });

  auth.post('/logout', async (c) => {
    const web = await c.var.deps.web();
    try {
      assertSameSiteRequest(c, web, false);
    } catch (error) {
      if (error instanceof AuthError) return errorPage(error, c.var.correlationId);
      throw error;
    }
    const session = await readSession(web, c.req.header('cookie'));
    const { idToken } = session ? await stores(c).accounts.signOut(session, c.var.deps.settings) : {};
    const postLogoutRedirectUri = web.postLogoutRedirectUri ?? new URL('/', web.redirectUri).href;
    const target = await c.var.deps.client.endSessionUrl({ postLogoutRedirectUri, ...(idToken ? { idTokenHint: idToken } : {}) });
    c.header('set-cookie', clearedCookie(web, sessionCookieName(web)));
    c.header('cache-control', 'no-store');
    return c.redirect(target ?? postLogoutRedirectUri, 302);
  });

  return auth;
}

/**
 * CSRF defence for state-changing calls: the Origin must be one we serve, and XHR-only endpoints also
 * need a header a cross-site form cannot send.
 */
function assertSameSiteRequest(c: Context<AppEnv>, web: WebSettings, requireXhrHeader: boolean): void {
  const origin = c.req.header('origin');
  if (!origin || !web.allowedOrigins.has(origin)) throw new CallerError('forbidden', 'This request must come from an allowed origin');
  if (requireXhrHeader && !c.req.header('x-requested-with')) {
    throw new CallerError('forbidden', 'This request needs the X-Requested-With header');
  }
}

function withCookies(response: Response, cookies: string[]): Response {
  for (const cookie of cookies) response.headers.append('set-cookie', cookie);
  return response;
}

function interactionRequired(message: string): InteractionRequiredError {
  return new InteractionRequiredError({ error: 'interaction_required', error_description: message }, 401);
}

function optionalQuery<K extends string>(c: Context<AppEnv>, names: Record<K, string>): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [key, name] of Object.entries(names) as [K, string][]) {
    const value = c.req.query(name);
    if (value && value.length <= 256) out[key] = value;
  }
  return out;
}
