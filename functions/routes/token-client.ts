/** POST /token/client — an app-only token for an authenticated caller, within its allowed scopes. */
import { Hono } from 'hono';
import { CallerError } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { assertScopesAllowed } from '../allowed-scopes.ts';
import { assertCallerMay, assertCallerMayUseTenant, authenticateCaller } from '../callers.ts';
import { postOnly } from '../errors.ts';
import { readBodyParameters } from '../request-body.ts';
import { enforceRateLimit } from '../rate-limits.ts';
import { parseTokenRequest } from '../token-request.ts';
import { tokenResponse } from '../token-response.ts';

export const clientTokenRoutes = new Hono<AppEnv>();

// `c.get`, not `c.var`: Hono builds a new object of every variable on each `c.var` access.
clientTokenRoutes.post('/', async (c) => {
  const deps = c.get('deps');
  const { client } = deps;
  // Authenticate before reading the body: an unknown caller learns nothing about scope rules.
  const caller = await authenticateCaller(deps.callers(), c.req.header('authorization'));
  assertCallerMay(caller, 'client_credentials');
  const { scopes, claims, forceRefresh, tenant } = parseTokenRequest(await readBodyParameters(c.req.raw));
  assertScopesAllowed(caller.scopes, scopes, 'This caller');
  if (tenant !== undefined) assertCallerMayUseTenant(caller, tenant);
  else if (client.config.authority.multiTenant && caller.tenants.size > 0) throw new CallerError('invalid_request', 'tenant is required: this app mints app tokens per customer tenant');
  // Each cache-bypassing request reaches the provider: one caller must not drive it without bound.
  if (claims !== undefined || forceRefresh) await enforceRateLimit(c.get('rateLimits').cacheBypass, `caller:${caller.id}`, 'cache-bypassing token requests');
  const result = await client.acquireTokenForClient(
    { scopes, forceRefresh, correlationId: c.get('correlationId'), ...(claims ? { claims } : {}), ...(tenant ? { tenant } : {}) },
    { waitUntil: c.get('waitUntil') },
  );
  return tokenResponse(result);
});

clientTokenRoutes.all('/', (c) => postOnly(c.var.correlationId));
