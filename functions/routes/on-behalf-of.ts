/**
 * POST /token/obo — a downstream token on behalf of the user whose access token for this API is the
 * bearer token (MSAL's acquireTokenOnBehalfOf). The user's token is validated before anything else; the
 * scopes are limited to OBO_SCOPES.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { allowedScopes, assertScopesAllowed } from '../allowed-scopes.ts';
import { bearerToken } from '../bearer.ts';
import { postOnly } from '../errors.ts';
import { readBodyParameters } from '../request-body.ts';
import { parseTokenRequest } from '../token-request.ts';
import { tokenResponse } from '../token-response.ts';

export const onBehalfOfRoutes = new Hono<AppEnv>();

onBehalfOfRoutes.post('/', async (c) => {
  const userAssertion = bearerToken(c);
  const { scopes, claims, forceRefresh } = parseTokenRequest(await readBodyParameters(c.req.raw));
  assertScopesAllowed(allowedScopes(c.var.deps.oboScopes()), scopes, 'This API');
  const result = await c.var.deps.client.acquireTokenOnBehalfOf(
    { userAssertion, scopes, forceRefresh, correlationId: c.var.correlationId, ...(claims ? { claims } : {}) },
    { waitUntil: c.var.waitUntil },
  );
  return tokenResponse(result);
});

onBehalfOfRoutes.all('/', (c) => postOnly(c.var.correlationId));
