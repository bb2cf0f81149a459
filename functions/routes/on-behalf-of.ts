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

// `c.get`, not `c.var`: Hono builds a new object of every variable on each `c.var` access.
onBehalfOfRoutes.post('/', async (c) => {
  const userAssertion = bearerToken(c);
  const { scopes, claims, forceRefresh } = parseTokenRequest(await readBodyParameters(c.req.raw));
  const deps = c.get('deps');
  assertScopesAllowed(oboAllowList(deps.oboScopes()), scopes, 'This API');
  const result = await deps.client.acquireTokenOnBehalfOf(
    { userAssertion, scopes, forceRefresh, correlationId: c.get('correlationId'), ...(claims ? { claims } : {}) },
    { waitUntil: c.get('waitUntil') },
  );
  return tokenResponse(result);
});

/** OBO_SCOPES as an allow-list, built once per parsed setting (deps keep the parsed list). */
const allowLists = new WeakMap<readonly string[], ReadonlySet<string>>();
function oboAllowList(scopes: readonly string[]): ReadonlySet<string> {
  let list = allowLists.get(scopes);
  if (!list) allowLists.set(scopes, (list = allowedScopes(scopes)));
  return list;
}

onBehalfOfRoutes.all('/', (c) => postOnly(c.var.correlationId));
