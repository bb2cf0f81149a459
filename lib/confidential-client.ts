/**
 * MSAL's ConfidentialClientApplication for the edge: app-only tokens (`acquireTokenForClient`, cache
 * first, refresh ahead of expiry, one provider request per key at a time in this isolate) and the user
 * flows (auth code sign-in, silent acquisition, accounts), which live in flows/.
 */
import type { AccountInfo, AccountRecord } from './account.ts';
import { ClientConfigurationError } from './errors.ts';
import { accessTokenEntity, type AccessTokenQuery } from './cache/entities.ts';
import { isUsable, shouldRefresh } from './cache/freshness.ts';
import type { AuthCodeFlow } from './oauth/authorization-code.ts';
import { clientCredentialsRequest, processClientCredentialsResponse } from './oauth/client-credentials.ts';
import { sendTokenRequest } from './oauth/provider-http.ts';
import { normalizeScopes, scopesToTarget } from './scopes.ts';
import type { AccountStore } from './storage/ports.ts';
import { deserializeCache, serializeCache } from './cache/serialize.ts';
import { endSessionUrl } from './oauth/logout.ts';
import { validateAccessToken } from './oauth/access-token.ts';
import { acquireTokenByAuthCodeFlow, initiateAuthCodeFlow, type AuthCodeFlowRequest, type AuthCodeResult } from './flows/auth-code.ts';
import {
  SingleFlight,
  authorizationServer,
  toResult,
  type AuthenticationResult,
  type CallOptions,
  type ClientContext,
  type ClientDependencies,
  type ConfidentialClientConfig,
} from './flows/context.ts';
import { acquireTokenSilent, getAccounts, newSilentState, removeAccount, type SilentRequest } from './flows/silent.ts';

export type { AuthenticationResult, CallOptions, ClientDependencies, ConfidentialClientConfig } from './flows/context.ts';

export interface AcquireTokenForClientRequest {
  scopes: readonly string[];
  /** Skip the cache lookup; the new token is still cached. */
  forceRefresh?: boolean;
  /** A claims challenge (JSON): always goes to the provider, as in MSAL. */
  claims?: string;
  correlationId?: string;
}

export class ConfidentialClientApplication {
  private readonly inflight = new SingleFlight<AuthenticationResult>();
  private readonly silent = newSilentState();
  readonly config: ConfidentialClientConfig;
  private readonly deps: ClientDependencies;

  constructor(config: ConfidentialClientConfig, deps: ClientDependencies) {
    this.config = config;
    this.deps = deps;
  }

  private get context(): ClientContext {
    return { config: this.config, deps: this.deps };
  }

  /** The flow to keep (single-use) until the provider redirects back: auth URI, state, nonce, PKCE verifier. */
  initiateAuthCodeFlow(request: AuthCodeFlowRequest): Promise<AuthCodeFlow> {
    return initiateAuthCodeFlow(this.context, request);
  }

  /** Redeems the code of the provider's answer; the returned record belongs in the account store. */
  acquireTokenByAuthCodeFlow(flow: AuthCodeFlow, authResponse: URLSearchParams, correlationId?: string): Promise<{ result: AuthCodeResult; record: AccountRecord }> {
    return acquireTokenByAuthCodeFlow(this.context, flow, authResponse, correlationId);
  }

  acquireTokenSilent(store: AccountStore<AccountRecord>, request: SilentRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
    return acquireTokenSilent(this.context, store, this.silent, request, options);
  }

  getAccounts(store: AccountStore<AccountRecord>, filter: { username?: string } = {}): Promise<AccountInfo[]> {
    return getAccounts(store, filter);
  }

  removeAccount(store: AccountStore<AccountRecord>, account: Pick<AccountInfo, 'homeAccountId'>): Promise<void> {
    return removeAccount(this.context, store, account);
  }

  /** Where to send the browser to end the provider's session too; null when the provider has no such endpoint. */
  async endSessionUrl(request: { postLogoutRedirectUri?: string; idTokenHint?: string; state?: string }): Promise<string | null> {
    const as = await authorizationServer(this.context);
    return endSessionUrl(as, { clientId: this.config.clientId, ...request });
  }

  /** Validates a JWT access token presented to an API protected by this authority. */
  async validateAccessToken(token: string, audience: string): Promise<Record<string, unknown>> {
    const as = await authorizationServer(this.context);
    return validateAccessToken(token, { as, authority: this.config.authority, audience, fetch: this.deps.fetch, now: this.deps.now(), timeoutMs: this.config.timeoutMs });
  }

  /** One account's cache in MSAL's unified JSON format. */
  serializeCache(store: AccountStore<AccountRecord>, homeAccountId: string): Promise<string> {
    return serializeCache(this.context, store, homeAccountId);
  }

  /** Imports the accounts of an MSAL JSON cache that belong to this client (trusted input). */
  deserializeCache(store: AccountStore<AccountRecord>, json: string): Promise<AccountInfo[]> {
    return deserializeCache(this.context, store, json);
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
    return this.inflight.run(`${query.target}\n${claims ?? ''}`, () => this.fetchToken(query, claims, correlationId));
  }

  private async fetchToken(query: AccessTokenQuery, claims: string | undefined, correlationId: string): Promise<AuthenticationResult> {
    const { authority, clientId, credential, timeoutMs, retryDelayMs } = this.config;
    const { fetch, now, throttling, cache } = this.deps;
    const as = await authorizationServer(this.context);
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
