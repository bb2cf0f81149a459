/**
 * MSAL's ConfidentialClientApplication for the edge. Today: `acquireTokenForClient` (app-only tokens),
 * cache first, refresh ahead of expiry, one provider request per key at a time in this isolate.
 */
import { ClientConfigurationError } from './errors.ts';
import { accessTokenEntity, type AccessTokenEntity, type AccessTokenQuery } from './cache/entities.ts';
import { isUsable, shouldRefresh } from './cache/freshness.ts';
import type { TokenCache } from './cache/token-cache.ts';
import { resolveAuthority, type Authority } from './oauth/authority.ts';
import type { ClientCredential } from './oauth/client-auth.ts';
import { clientCredentialsRequest, processClientCredentialsResponse } from './oauth/client-credentials.ts';
import { sendTokenRequest, type ThrottlingCache } from './oauth/provider-http.ts';
import { normalizeScopes, scopesToTarget } from './scopes.ts';

export interface ConfidentialClientConfig {
  authority: Authority;
  clientId: string;
  credential: ClientCredential;
  /** Bound on every provider request (Workers' fetch has no timeout of its own). */
  timeoutMs: number;
  /** Back-off before the single retry of an idempotent grant. */
  retryDelayMs: number;
}

export interface ClientDependencies {
  cache: TokenCache;
  throttling: ThrottlingCache;
  fetch: typeof fetch;
  now: () => number;
}

export interface AcquireTokenForClientRequest {
  scopes: readonly string[];
  /** Skip the cache lookup; the new token is still cached. */
  forceRefresh?: boolean;
  /** A claims challenge (JSON): always goes to the provider, as in MSAL. */
  claims?: string;
  correlationId?: string;
}

export interface AuthenticationResult {
  accessToken: string;
  tokenType: string;
  /** Epoch seconds. */
  expiresOn: number;
  extExpiresOn: number;
  refreshOn?: number;
  scopes: string[];
  tokenSource: 'cache' | 'identity_provider';
  correlationId: string;
}

export interface CallOptions {
  /** Keeps a background refresh alive after the response (Workers' `ctx.waitUntil`). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export class ConfidentialClientApplication {
  private readonly inflight = new Map<string, Promise<AuthenticationResult>>();
  readonly config: ConfidentialClientConfig;
  private readonly deps: ClientDependencies;

  constructor(config: ConfidentialClientConfig, deps: ClientDependencies) {
    this.config = config;
    this.deps = deps;
  }

  /**
   * An app-only token for `scopes` (MSAL's acquireTokenByClientCredential / acquire_token_for_client).
   * @throws ClientConfigurationError for a multi-tenant authority, CallerError for bad scopes,
   *   ServerError / ThrottlingError / NetworkError from the provider.
   */
  async acquireTokenForClient(request: AcquireTokenForClientRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
    const { authority, clientId } = this.config;
    if (authority.multiTenant) {
      throw new ClientConfigurationError('AUTHORITY', `must name a tenant for app-only tokens, not "${authority.tenant}"`);
    }
    const scopes = normalizeScopes(request.scopes);
    const query: AccessTokenQuery = {
      homeAccountId: '',
      environment: authority.environment,
      clientId,
      realm: authority.tenant,
      target: scopesToTarget(scopes),
    };
    const correlationId = request.correlationId ?? crypto.randomUUID();
    const bypassCache = request.forceRefresh === true || request.claims !== undefined;
    if (!bypassCache) {
      const cached = await this.deps.cache.getAccessToken(query, this.deps.now());
      if (cached && isUsable(cached, this.deps.now())) {
        if (shouldRefresh(cached, this.deps.now())) {
          // The cached token is still good: renew behind the response and never surface its failure.
          const renewal = this.singleFlight(query, undefined, correlationId).catch(() => undefined);
          options.waitUntil?.(renewal);
        }
        return toResult(cached, 'cache', correlationId);
      }
    }
    return this.singleFlight(query, request.claims, correlationId);
  }

  private singleFlight(query: AccessTokenQuery, claims: string | undefined, correlationId: string): Promise<AuthenticationResult> {
    const key = `${query.target}\n${claims ?? ''}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const promise = this.fetchToken(query, claims, correlationId).finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  private async fetchToken(query: AccessTokenQuery, claims: string | undefined, correlationId: string): Promise<AuthenticationResult> {
    const { authority, clientId, credential, timeoutMs, retryDelayMs } = this.config;
    const { fetch, now, throttling, cache } = this.deps;
    const as = await resolveAuthority(authority, { fetch, timeoutMs }, now());
    const tokenRequest = { as, authority, clientId, credential, scopes: query.target.split(' '), fetch, ...(claims ? { claims } : {}) };
    const requestedAt = now();
    const response = await sendTokenRequest(
      (init) => clientCredentialsRequest(tokenRequest, init),
      {
        retry: true,
        thumbprint: [authority.url, clientId, 'client_credentials', query.target, claims ?? ''].join('|'),
        throttling,
        correlationId,
      },
      { timeoutMs, retryDelayMs, now },
    );
    const tokens = await processClientCredentialsResponse(tokenRequest, response, correlationId);
    const entity = accessTokenEntity(query, tokens, requestedAt);
    // Caching is best effort: a store hiccup (KV allows one write per key per second) must not throw
    // away a token the provider already issued.
    await cache.saveAccessToken(entity, now()).catch(() => undefined);
    return toResult(entity, 'identity_provider', response.headers.get('client-request-id') ?? correlationId);
  }
}

function toResult(entity: AccessTokenEntity, tokenSource: AuthenticationResult['tokenSource'], correlationId: string): AuthenticationResult {
  const result: AuthenticationResult = {
    accessToken: entity.secret,
    tokenType: entity.token_type,
    expiresOn: Number(entity.expires_on),
    extExpiresOn: Number(entity.extended_expires_on),
    scopes: entity.target.split(' '),
    tokenSource,
    correlationId,
  };
  if (entity.refresh_on !== undefined) result.refreshOn = Number(entity.refresh_on);
  return result;
}
