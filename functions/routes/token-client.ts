/** POST /token/client — an app-only token for an authenticated caller, within its allowed scopes. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { assertScopesAllowed } from '../allowed-scopes.ts';
import { assertCallerMay, authenticateCaller } from '../callers.ts';
import { postOnly } from '../errors.ts';
import { readBodyParameters } from '../request-body.ts';
import { enforceRateLimit } from '../rate-limits.ts';
import { parseTokenRequest } from '../token-request.ts';
import { tokenResponse } from '../token-response.ts';

export const clientTokenRoutes = new Hono<AppEnv>();

clientTokenRoutes.post('/', async (c) => {
  const { client } = c.var.deps;
  const callers = c.var.deps.callers();
  // Authenticate before reading the body: an unknown caller learns nothing about scope rules.
  const caller = await authenticateCaller(callers, c.req.header('authorization'));
  assertCallerMay(caller, 'client_credentials');
  const { scopes, claims, forceRefresh } = parseTokenRequest(await readBodyParameters(c.req.raw));
  assertScopesAllowed(caller.scopes, scopes, 'This caller');
  // Each cache-bypassing request reaches the provider: one caller must not drive it without bound.
  if (claims !== undefined || forceRefresh) await enforceRateLimit(c.var.rateLimits.cacheBypass, `caller:${caller.id}`, 'cache-bypassing token requests');
  const result = await client.acquireTokenForClient(
    { scopes, forceRefresh, correlationId: c.var.correlationId, ...(claims ? { claims } : {}) },
    { waitUntil: c.var.waitUntil },
  );
  return tokenResponse(result);
});

clientTokenRoutes.all('/', (c) => postOnly(c.var.correlationId));
