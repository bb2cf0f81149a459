/** POST /token/client — an app-only token for an authenticated caller, within its allowed scopes. */
import type { Context, Handler } from 'hono';
import { CallerError, normalizeScopes } from '../../lib/mod.ts';
import type { AppEnv, AppOptions } from '../app.ts';
import { assertScopesAllowed, authenticateCaller } from '../callers.ts';
import { readBodyParameters } from '../request-body.ts';
import { tokenResponse } from '../token-response.ts';

export function clientTokenRoute(waitUntil: AppOptions['waitUntil']): Handler<AppEnv> {
  return async (c: Context<AppEnv>) => {
    const { client } = c.var.deps;
    const callers = c.var.deps.callers();
    // Authenticate before reading the body: an unknown caller learns nothing about scope rules.
    const caller = await authenticateCaller(callers, c.req.header('authorization'));
    const body = await readBodyParameters(c.req.raw);
    const scopes = normalizeScopes(body.scopes);
    assertScopesAllowed(caller, scopes);
    const claims = body.claims;
    if (claims !== undefined && typeof claims !== 'string') throw new CallerError('invalid_request', 'claims must be a JSON string');
    const forceRefresh = body.force_refresh === true || body.force_refresh === 'true';

    const result = await client.acquireTokenForClient(
      { scopes, forceRefresh, correlationId: c.var.correlationId, ...(claims ? { claims } : {}) },
      { waitUntil: waitUntil(c) },
    );
    return tokenResponse(result);
  };
}
