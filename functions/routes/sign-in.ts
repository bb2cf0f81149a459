/**
 * Sign-in (backend-for-frontend): /auth/login starts the authorization code flow with PKCE, /auth/callback
 * completes it, stores the account with its refresh token, and opens a session. Both are browser
 * navigations: errors are pages. Both are open to anyone and create or consume durable state, so each is
 * rate limited per client address.
 */
import { Hono, type Context } from 'hono';
import { CallerError, constantTimeEqual, utf8, type ConfidentialClientApplication, type ResponseMode } from '../../lib/mod.ts';
import { USER_FLOW_SETTINGS, type UserFlow } from '../deps.ts';
import type { AppEnv } from '../app-env.ts';
import { clearedCookie, cookieName, cookieNamesStartingWith, readSealedCookie, sealedCookie } from '../cookies.ts';
import { navigation } from '../navigation.ts';
import { FLOW_TTL_SECONDS } from '../pending-sign-in.ts';
import { clientAddressOf, enforceRateLimit } from '../rate-limits.ts';
import { readBodyParameters } from '../request-body.ts';
import { assertClaimsChallenge } from '../token-request.ts';
import { isSafeReturnPath, normaliseReturnTo } from '../return-to.ts';
import { SESSION_TTL_SECONDS, sessionCookie } from '../sessions.ts';
import type { WebSettings } from '../web-settings.ts';

const STATE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * Transaction cookies one browser keeps at most: a few tabs signing in at once, not an unbounded pile
 * from a script that starts sign-ins without finishing them. Starting one more expires the oldest.
 */
export const MAX_TRANSACTION_COOKIES = 5;

/** What the transaction cookie holds: the flow's state, and when it started (to find the oldest). */
interface Transaction {
  state: string;
  /** Epoch ms. */
  created: number;
}

/** One transaction cookie per started sign-in, so that two tabs signing in at once do not clobber each other. */
function transactionCookieName(web: WebSettings, state: string): string {
  return cookieName(web, `txn-${state.slice(0, 16)}`);
}

/**
 * The transaction cookies to expire so that, with the one about to be set, at most
 * MAX_TRANSACTION_COOKIES remain: the oldest first, and any we cannot read (altered, or sealed under an
 * older key) before those.
 */
async function transactionCookiesToExpire(web: WebSettings, cookieHeader: string | undefined): Promise<string[]> {
  const names = cookieNamesStartingWith(cookieHeader, cookieName(web, 'txn-'));
  const excess = names.length - (MAX_TRANSACTION_COOKIES - 1);
  if (excess <= 0) return [];
  // No browser of ours holds this many: expire them all rather than decrypt each one.
  if (names.length > 4 * MAX_TRANSACTION_COOKIES) return names;
  const aged = await Promise.all(
    names.map(async (name) => {
      const txn = await readSealedCookie<Partial<Transaction>>(web, cookieHeader, name);
      return { name, created: typeof txn?.created === 'number' ? txn.created : 0 };
    }),
  );
  return aged
    .sort((a, b) => a.created - b.created)
    .slice(0, excess)
    .map((t) => t.name);
}

async function limitSignIns(c: Context<AppEnv>, route: 'login' | 'callback'): Promise<void> {
  // One bucket per route: a completed sign-in costs one of each, so a person never meets the limit.
  await enforceRateLimit(c.var.rateLimits.signIn, `${route}:${clientAddressOf(c)}`, 'sign-in requests');
}

export const signInRoutes = new Hono<AppEnv>();

signInRoutes.get(
  '/login',
  navigation(async (c) => {
    await limitSignIns(c, 'login');
    const web = await c.var.deps.web();
    const returnTo = normaliseReturnTo(c.req.query('returnTo'), new URL(c.req.url).origin);
    const responseMode: ResponseMode = c.req.query('response_mode') === 'form_post' ? 'form_post' : 'query';
    const userFlow = requestedUserFlow(c.req.query('flow'));
    const flow = await clientFor(c, userFlow).initiateAuthCodeFlow({
      scopes: web.spaScopes,
      redirectUri: web.redirectUri.href,
      responseMode,
      ...optionalQuery(c, { prompt: 'prompt', loginHint: 'login_hint', domainHint: 'domain_hint' }),
      // Signing in again with a claims challenge (a Conditional Access step-up) answers it.
      ...claimsChallenge(c.req.query('claims')),
    });
    await c.var.signIn.flows.put(flow.state, { flow, returnTo, ...(userFlow ? { userFlow } : {}) }, { ttlSeconds: FLOW_TTL_SECONDS });
    // form_post comes back as a cross-site POST, which only carries SameSite=None cookies.
    const sameSite = responseMode === 'form_post' ? 'None' : 'Lax';
    for (const name of await transactionCookiesToExpire(web, c.req.header('cookie'))) c.header('set-cookie', clearedCookie(web, name), { append: true });
    const txn: Transaction = { state: flow.state, created: Date.now() };
    c.header('set-cookie', await sealedCookie(web, transactionCookieName(web, flow.state), txn, FLOW_TTL_SECONDS, sameSite), { append: true });
    c.header('cache-control', 'no-store');
    return c.redirect(flow.authUri, 302);
  }),
);

async function completeSignIn(c: Context<AppEnv>, params: URLSearchParams): Promise<Response> {
  const web = await c.var.deps.web();
  // Each parameter once (RFC 6749 §3.1), checked before the flow is consumed: a polluted response is
  // refused without burning the sign-in it names.
  for (const name of new Set(params.keys())) {
    if (params.getAll(name).length > 1) throw new CallerError('invalid_request', 'A parameter of the sign-in response appears more than once');
  }
  const state = params.get('state') ?? '';
  if (!STATE.test(state)) throw new CallerError('state_mismatch', 'The sign-in response carries no valid state');
  const txnName = transactionCookieName(web, state);
  const txn = await readSealedCookie<Partial<Transaction>>(web, c.req.header('cookie'), txnName);
  if (!txn || typeof txn.state !== 'string' || !constantTimeEqual(utf8(txn.state), utf8(state))) {
    throw new CallerError('state_mismatch', 'This sign-in was not started in this browser, or it has expired');
  }
  // Consumed before anything else: whatever happens next, this flow cannot be completed twice.
  const pending = await c.var.signIn.flows.consume(state);
  if (!pending) throw new CallerError('state_mismatch', 'This sign-in has expired or was already completed');
  // Set on the context, not on the redirect: the error page keeps it too (see error-page.ts).
  c.header('set-cookie', clearedCookie(web, txnName, pending.flow.responseMode === 'form_post' ? 'None' : 'Lax'), { append: true });
  const returnTo = typeof pending.returnTo === 'string' && isSafeReturnPath(pending.returnTo) ? pending.returnTo : '/';
  // B2C's "Forgot your password?" ends the sign-in with AADB2C90118: the user wants the password reset flow.
  if (!pending.userFlow && isForgottenPassword(params) && c.var.deps.userFlowClient('password_reset')) {
    return userFlowRedirect(c, `/auth/login?flow=password_reset&returnTo=${encodeURIComponent(returnTo)}`);
  }
  const { record } = await clientFor(c, pending.userFlow).acquireTokenByAuthCodeFlow(pending.flow, params, c.var.correlationId);
  // A password reset or profile edit is not a sign-in of its own (its account would be that flow's,
  // `<oid>-<flow>`): the user signs in with the sign-in flow again, which the provider's session makes quick.
  if (pending.userFlow) return userFlowRedirect(c, `/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  const sid = await c.var.signIn.accounts.signIn(record, { kind: 'browser', ttlSeconds: SESSION_TTL_SECONDS });
  const session = { hid: record.account.home_account_id, sid, exp: Date.now() + SESSION_TTL_SECONDS * 1000 };
  c.header('set-cookie', await sessionCookie(web, session), { append: true });
  c.header('cache-control', 'no-store');
  // Checked at /auth/login already; checked again (above) because this is where it matters. A stored value
  // that fails (a bug, or a record from an older version) sends the user home: the sign-in itself succeeded.
  return c.redirect(returnTo, 302);
}

function userFlowRedirect(c: Context<AppEnv>, location: string): Response {
  c.header('cache-control', 'no-store');
  return c.redirect(location, 302);
}

/** `/auth/login?flow=`: a B2C user flow besides sign-in, by the names USER_FLOW_SETTINGS knows. */
function requestedUserFlow(flow: string | undefined): UserFlow | undefined {
  if (flow === undefined || flow === '' || flow === 'sign_in') return undefined;
  if (!Object.hasOwn(USER_FLOW_SETTINGS, flow)) throw new CallerError('invalid_request', `flow must be one of sign_in, ${Object.keys(USER_FLOW_SETTINGS).join(', ')}`);
  return flow as UserFlow;
}

/** @throws CallerError `not_found` for a user flow this deployment does not configure. */
function clientFor(c: Context<AppEnv>, userFlow: UserFlow | undefined): ConfidentialClientApplication {
  if (!userFlow) return c.var.deps.client;
  const client = c.var.deps.userFlowClient(userFlow);
  if (!client) throw new CallerError('not_found', `The ${userFlow} user flow is not configured (${USER_FLOW_SETTINGS[userFlow]})`);
  return client;
}

function isForgottenPassword(params: URLSearchParams): boolean {
  return params.get('error') === 'access_denied' && /^AADB2C90118\b/.test(params.get('error_description') ?? '');
}

/**
 * The callback's URL carries the code: no page the browser goes on to (returnTo, or a link on the error
 * page) gets it as a Referer. Set first, so that error pages carry it too.
 */
function noReferrer(c: Context<AppEnv>): void {
  c.header('referrer-policy', 'no-referrer');
}

signInRoutes.get(
  '/callback',
  navigation(async (c) => {
    noReferrer(c);
    await limitSignIns(c, 'callback');
    return completeSignIn(c, new URL(c.req.url).searchParams);
  }),
);

// response_mode=form_post
signInRoutes.post(
  '/callback',
  navigation(async (c) => {
    noReferrer(c);
    await limitSignIns(c, 'callback');
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

function claimsChallenge(claims: string | undefined): { claims?: string } {
  if (claims === undefined) return {};
  assertClaimsChallenge(claims);
  return { claims };
}
