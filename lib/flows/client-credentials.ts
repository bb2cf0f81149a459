/**
 * App-only tokens (MSAL's acquireTokenByClientCredential / acquire_token_for_client): cache first, then
 * the client credentials grant, retried once.
 */
import type { AccessTokenQuery } from '../cache/entities.ts';
import { ClientConfigurationError } from '../errors.ts';
import { authorityForTenant } from '../oauth/authority.ts';
import { clientCredentialsRequest, processClientCredentialsResponse } from '../oauth/client-credentials.ts';
import { normalizeScopes, scopesToTarget } from '../scopes.ts';
import { cacheFirst } from './cache-first.ts';
import type { AuthenticationResult, CallOptions, ClientContext } from './context.ts';
import { fleetAcquire } from './fleet-acquire.ts';
import { redeem } from './redeem.ts';

export interface ClientCredentialRequest {
  scopes: readonly string[];
  /** Skip the cache lookup; the new token is still cached. */
  forceRefresh?: boolean;
  /** A claims challenge (JSON): always goes to the provider, as in MSAL. */
  claims?: string;
  /**
   * The tenant to mint in (id or domain), for a multi-tenant authority (MSAL's per-request authority):
   * the token is that tenant's, cached under it as its realm.
   */
  tenant?: string;
  correlationId?: string;
}

/**
 * Not an async function: a cache hit is the hottest path there is, and a second async frame around
 * cacheFirst costs about a tenth of it; request errors still arrive as rejections.
 * @throws ClientConfigurationError for a multi-tenant authority without a tenant, CallerError for bad
 *   scopes or tenant,
 *   ServerError / ThrottlingError / NetworkError from the provider.
 */
export function acquireTokenForClient(base: ClientContext, request: ClientCredentialRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
  let query: AccessTokenQuery;
  let ctx = base;
  try {
    // Everything after this point (discovery, the token endpoint, the cache realm) is the tenant's.
    if (request.tenant !== undefined) ctx = { ...base, config: { ...base.config, authority: authorityForTenant(base.config.authority, request.tenant) } };
    query = appTokenQuery(ctx, request.scopes);
  } catch (error) {
    return Promise.reject(error);
  }
  const correlationId = request.correlationId ?? crypto.randomUUID();
  const { claims } = request;
  const scopes = query.target.split(' ');
  const local = async () => {
    const { result } = await redeem(
      ctx,
      {
        grant: 'client_credentials',
        identity: [query.target, claims ?? ''],
        send: (endpoint, init) => clientCredentialsRequest(endpoint, { scopes, ...(claims ? { claims } : {}) }, init),
        process: (response, checks, id) => processClientCredentialsResponse(checks, response, id),
        query: () => query,
      },
      correlationId,
    );
    return result;
  };
  const bypassCache = request.forceRefresh === true || claims !== undefined;
  // A miss goes to the fleet's coordinator for this key; a forced refresh or a claims challenge stays here.
  const fleet = bypassCache ? undefined : fleetAcquire(ctx, query, { grant: 'client_credentials', scopes, ...(request.tenant !== undefined ? { tenant: request.tenant } : {}) }, correlationId, local);
  return cacheFirst(ctx, { query, bypassCache, claims, correlationId, fleet: fleet !== undefined }, fleet ?? local, options);
}

/** App-only tokens have no account and need a tenant: a multi-tenant authority cannot mint them. */
function appTokenQuery(ctx: ClientContext, scopes: readonly string[]): AccessTokenQuery {
  const { authority, clientId } = ctx.config;
  if (authority.multiTenant) {
    throw new ClientConfigurationError('AUTHORITY', `must name a tenant for app-only tokens, not "${authority.tenant}"`);
  }
  return { homeAccountId: '', environment: authority.environment, clientId, realm: authority.tenant, target: scopesToTarget(normalizeScopes(scopes)) };
}
