/**
 * App-only tokens (MSAL's acquireTokenByClientCredential / acquire_token_for_client): cache first, then
 * the client credentials grant, retried once.
 */
import type { AccessTokenQuery } from '../cache/entities.ts';
import { ClientConfigurationError } from '../errors.ts';
import { clientCredentialsRequest, processClientCredentialsResponse } from '../oauth/client-credentials.ts';
import { normalizeScopes, scopesToTarget } from '../scopes.ts';
import { cacheFirst, flightKey } from './cache-first.ts';
import type { AuthenticationResult, CallOptions, ClientContext } from './context.ts';
import { redeem } from './redeem.ts';

export interface ClientCredentialRequest {
  scopes: readonly string[];
  /** Skip the cache lookup; the new token is still cached. */
  forceRefresh?: boolean;
  /** A claims challenge (JSON): always goes to the provider, as in MSAL. */
  claims?: string;
  correlationId?: string;
}

/**
 * @throws ClientConfigurationError for a multi-tenant authority, CallerError for bad scopes,
 *   ServerError / ThrottlingError / NetworkError from the provider.
 */
export async function acquireTokenForClient(ctx: ClientContext, request: ClientCredentialRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
  const { authority, clientId } = ctx.config;
  if (authority.multiTenant) {
    throw new ClientConfigurationError('AUTHORITY', `must name a tenant for app-only tokens, not "${authority.tenant}"`);
  }
  const scopes = normalizeScopes(request.scopes);
  const query: AccessTokenQuery = { homeAccountId: '', environment: authority.environment, clientId, realm: authority.tenant, target: scopesToTarget(scopes) };
  const correlationId = request.correlationId ?? crypto.randomUUID();
  const { claims } = request;
  const acquire = async () => {
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
  return cacheFirst(ctx, { query, bypassCache, flightKey: flightKey(query, claims), correlationId }, acquire, options);
}
