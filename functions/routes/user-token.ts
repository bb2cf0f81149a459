/**
 * POST /auth/token: an access token for the session's account (MSAL's acquireTokenSilent), for the SPA
 * (session cookie, called by script, so CSRF-checked) and for devices (a session key). The refresh token
 * never leaves the account's store.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { assertScopesAllowed } from '../allowed-scopes.ts';
import { readBodyParameters } from '../request-body.ts';
import { requestSession } from '../request-session.ts';
import { interactionRequired } from '../sessions.ts';
import { enforceRateLimit } from '../rate-limits.ts';
import { parseTokenRequest } from '../token-request.ts';
import { tokenResponse } from '../token-response.ts';

export const userTokenRoutes = new Hono<AppEnv>();

userTokenRoutes.post('/token', async (c) => {
  const web = await c.var.deps.web();
  const session = await requestSession(c, web, 'script');
  if (!session) throw interactionRequired('Not signed in');
  const { scopes, claims, forceRefresh } = parseTokenRequest(await readBodyParameters(c.req.raw));
  assertScopesAllowed(web.spaScopeAllowList, scopes, 'This app');
  // Each cache-bypassing request redeems (and rotates) the account's refresh token at the provider.
  if (claims !== undefined || forceRefresh) await enforceRateLimit(c.var.rateLimits.cacheBypass, `account:${session.hid}`, 'cache-bypassing token requests');
  const result = await c.var.signIn.accounts.acquireTokenSilent(session, {
    scopes,
    correlationId: c.var.correlationId,
    ...(forceRefresh ? { forceRefresh } : {}),
    ...(claims ? { claims } : {}),
  });
  return tokenResponse(result);
});
