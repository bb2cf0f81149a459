/**
 * On-behalf-of (MSAL's acquireTokenOnBehalfOf): a token for a downstream API, as the user whose access
 * token for this API came in. The incoming token is validated here first — signature, issuer and tenant,
 * audience, expiry, a user with this API's scope — before any cache read or exchange, so a forged or
 * foreign token costs no provider call and never reaches a cached token. Then cache first, keyed by the
 * assertion's hash next to tenant, client and scopes (as msal-node keys OBO tokens), so one user's token
 * is never served for another's assertion; then the jwt-bearer exchange. No refresh token: when the
 * downstream token nears expiry, the assertion is exchanged again.
 */
import { base64url, sha256Sync } from '../encoding.ts';
import { CallerError, ClientConfigurationError } from '../errors.ts';
import type { AccessTokenQuery } from '../cache/entities.ts';
import { validateAccessToken } from '../oauth/access-token.ts';
import { onBehalfOfRequest, processOnBehalfOfResponse } from '../oauth/on-behalf-of.ts';
import { normalizeScopes, scopesToTarget } from '../scopes.ts';
import { cacheFirst } from './cache-first.ts';
import { fleetAcquire } from './fleet-acquire.ts';
import { authorizationServer, idTokenContext, type AuthenticationResult, type CallOptions, type ClientContext } from './context.ts';
import { redeem } from './redeem.ts';

export interface OnBehalfOfRequest {
  /** The user's access token for this API (the bearer token of the incoming request). */
  userAssertion: string;
  /** Scopes of the downstream API. */
  scopes: readonly string[];
  /** A claims challenge (JSON): always goes to the provider, as in MSAL. */
  claims?: string;
  forceRefresh?: boolean;
  correlationId?: string;
}

/** A validated incoming token: who it is for, until when. */
export interface CallerAssertion {
  hash: string;
  claims: Record<string, unknown>;
}

/**
 * The incoming token as this API accepts it.
 * @throws CallerError `invalid_token` (401) for any token this API does not accept; ClientConfigurationError
 *   API_SCOPE when the deployment names no scope its callers need.
 */
export async function validateCallerAssertion(ctx: ClientContext, assertion: string): Promise<CallerAssertion> {
  const { api } = ctx.config;
  if (!api.scope) throw new ClientConfigurationError('API_SCOPE', 'is missing: the scope callers of this API need (e.g. access_as_user)');
  if (assertion.length > 16 * 1024) throw new CallerError('invalid_token', 'The access token is too large');
  // Synchronous: this hash is on every call, and WebCrypto's digest of the ~1 KB token costs Deno far more.
  const hash = base64url(sha256Sync(assertion));
  const remembered = ctx.assertions.get(hash, ctx.deps.now());
  if (remembered) return { hash, claims: remembered };
  const { clientId: _notTheAudience, ...checks } = idTokenContext(ctx, await authorizationServer(ctx));
  const allowed = ctx.config.allowedTenants;
  let claims: Record<string, unknown>;
  try {
    claims = await validateAccessToken(assertion, checks, {
      audience: api.audiences,
      requiredScopes: [api.scope],
      ...(allowed === undefined ? {} : { allowedTenants: allowed === '*' ? ['*'] : [...allowed] }),
    });
  } catch (error) {
    // Whatever is wrong with it (signature, audience, tenant, app-only, scope), the caller gets one answer.
    if (error instanceof CallerError) throw new CallerError('invalid_token', error.errorMessage);
    throw error;
  }
  ctx.assertions.remember(hash, claims);
  return { hash, claims };
}

/**
 * @throws CallerError `invalid_token` (before any cache read or provider call), `invalid_request` for bad
 *   scopes; InteractionRequiredError for a step-up (with the provider's `claims` and `suberror`);
 *   ServerError / ThrottlingError / NetworkError from the provider.
 */
export async function acquireTokenOnBehalfOf(ctx: ClientContext, request: OnBehalfOfRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
  const caller = await validateCallerAssertion(ctx, request.userAssertion);
  const scopes = normalizeScopes(request.scopes);
  const query = onBehalfOfQuery(ctx, caller, scopes);
  const correlationId = request.correlationId ?? crypto.randomUUID();
  const { claims } = request;
  const acquire = async () => {
    const { result } = await redeem(
      ctx,
      {
        grant: 'jwt-bearer',
        identity: [caller.hash, query.target, claims ?? ''],
        send: (endpoint, init) => onBehalfOfRequest(endpoint, { assertion: request.userAssertion, scopes, ...(claims ? { claims } : {}) }, init),
        process: (response, checks, id) => processOnBehalfOfResponse(checks, response, id),
        query: () => query,
      },
      correlationId,
    );
    return result;
  };
  const bypassCache = request.forceRefresh === true || claims !== undefined;
  // A miss goes to the fleet's coordinator for this key (the assertion with it); a claims challenge stays here.
  const fleet = bypassCache ? undefined : fleetAcquire(ctx, query, { grant: 'on_behalf_of', scopes, userAssertion: request.userAssertion }, correlationId, acquire);
  return cacheFirst(ctx, { query, bypassCache, claims, correlationId, fleet: fleet !== undefined }, fleet ?? acquire, options);
}

/** The cache entry of an on-behalf-of token: the caller's tenant and assertion hash, the downstream scopes. */
export function onBehalfOfQuery(ctx: ClientContext, caller: CallerAssertion, scopes: readonly string[]): AccessTokenQuery {
  const { authority, clientId } = ctx.config;
  return {
    homeAccountId: '',
    environment: authority.environment,
    clientId,
    realm: typeof caller.claims.tid === 'string' ? caller.claims.tid : authority.tenant,
    target: scopesToTarget(scopes),
    userAssertionHash: caller.hash,
  };
}
