/**
 * MSAL's ConfidentialClientApplication for the edge: each method delegates to one flow (flows/); the
 * client holds what the flows share in this isolate — configuration, cache, provider state, single
 * flight and the per-account refresh locks.
 */
import type { AccountInfo, AccountRecord } from './account.ts';
import { TokenCache } from './cache/token-cache.ts';
import { KeyedMutex, SingleFlight, type KeyedLock } from './concurrency.ts';
import { ValidatedAssertions } from './cache/validated-assertions.ts';
import { parseClientSettings, type ConfidentialClientConfig, type Settings } from './config.ts';
import { authorityForUserFlow } from './oauth/authority.ts';
import { getAccounts, removeAccount } from './flows/accounts.ts';
import { deserializeCache, serializeCache, serializeOnBehalfOfCache } from './flows/cache-serialization.ts';
import { acquireTokenOnBehalfOf, validateCallerAssertion, type CallerAssertion, type OnBehalfOfRequest } from './flows/on-behalf-of.ts';
import { acquireTokenByDeviceFlow, initiateDeviceFlow, pollDeviceFlow, type DeviceCodeFlow, type DeviceFlowOptions, type DeviceFlowRequest, type DevicePoll } from './flows/device-code.ts';
import { acquireTokenByUsernamePassword, type UsernamePasswordRequest } from './flows/password.ts';
import { acquireTokenByRefreshToken, type RefreshTokenImportRequest } from './flows/refresh-token-import.ts';
import type { SignInOutcome } from './flows/sign-in-result.ts';
import { acquireTokenByAuthCodeFlow, initiateAuthCodeFlow, type AuthCodeFlowRequest, type AuthCodeResult } from './flows/auth-code.ts';
import { acquireTokenForClient, type ClientCredentialRequest } from './flows/client-credentials.ts';
import { authorizationServer, idTokenContext, type AuthenticationResult, type CallOptions, type ClientContext, type ClientDependencies } from './flows/context.ts';
import { acquireTokenSilent, type SilentRequest } from './flows/silent.ts';
import { validateAccessToken, type AccessTokenRequirements } from './oauth/access-token.ts';
import type { AuthCodeFlow } from './oauth/authorization-code.ts';
import { endSessionUrl } from './oauth/logout.ts';
import { ThrottlingCache } from './oauth/provider-http.ts';
import { ProviderMetadataCache } from './oauth/provider-metadata.ts';
import type { ProviderObserver } from './observation.ts';
import type { FleetFlights } from './flows/fleet.ts';
import type { AccountStore, CacheStore } from './storage/ports.ts';

export interface ClientOptions {
  /** Where access tokens are kept (sealed): Workers KV, Deno KV, … */
  cacheStore: CacheStore;
  fetch?: typeof fetch;
  /** Epoch ms; tests move it. */
  now?: () => number;
  /** Per-isolate provider state; pass one in to share it between clients. */
  throttling?: ThrottlingCache;
  metadata?: ProviderMetadataCache;
  /** Access tokens kept decrypted in isolate memory (0 turns the memory layer off). */
  memoryEntries?: number;
  /**
   * Serialises the refreshes of each account (default: in this isolate). Several processes sharing one
   * account store pass a lock in that store (Deno KV: a lease), so that one refresh token is never
   * redeemed twice at once.
   */
  accountLocks?: KeyedLock;
  /**
   * Told of every provider call — endpoint, grant, status, milliseconds, correlation id, never a secret —
   * for the app's logs and metrics.
   */
  observer?: ProviderObserver;
  /**
   * Fleet-wide single flight for app-only and on-behalf-of tokens: a miss asks the key's coordinator
   * (on Workers a Durable Object per key) instead of the provider. Hits never use it.
   */
  fleet?: FleetFlights<AuthenticationResult>;
}

export class ConfidentialClientApplication {
  readonly config: ConfidentialClientConfig;
  private readonly ctx: ClientContext;

  constructor(config: ConfidentialClientConfig, deps: ClientDependencies, accountLocks: KeyedLock = new KeyedMutex()) {
    this.config = config;
    this.ctx = { config, deps, flights: new SingleFlight(), accountLocks, assertions: new ValidatedAssertions() };
  }

  /**
   * The same client under another user flow of its B2C tenant (password reset, profile edit), sharing
   * this one's cache and provider state.
   * @throws ClientConfigurationError naming `setting` when the authority is not B2C or the flow name is invalid.
   */
  forUserFlow(policy: string, setting: string): ConfidentialClientApplication {
    return new ConfidentialClientApplication({ ...this.config, authority: authorityForUserFlow(this.config.authority, policy, setting) }, this.ctx.deps, this.ctx.accountLocks);
  }

  /**
   * The client a deployment's settings describe (AUTHORITY, CLIENT_ID, a credential, TOKEN_CACHE_KEY, …).
   * @throws ClientConfigurationError naming the first missing or invalid setting.
   */
  static async fromSettings(settings: Settings, options: ClientOptions): Promise<ConfidentialClientApplication> {
    const { client, sealingKey } = await parseClientSettings(settings);
    return new ConfidentialClientApplication(client, {
      cache: new TokenCache(options.cacheStore, sealingKey, options.memoryEntries === undefined ? {} : { memoryEntries: options.memoryEntries }),
      throttling: options.throttling ?? new ThrottlingCache(),
      metadata: options.metadata ?? new ProviderMetadataCache(),
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      now: options.now ?? (() => Date.now()),
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.fleet ? { fleet: options.fleet } : {}),
    }, options.accountLocks);
  }

  /**
   * An app-only token for `scopes` (MSAL's acquireTokenByClientCredential / acquire_token_for_client).
   * @throws ClientConfigurationError for a multi-tenant authority, CallerError for bad scopes,
   *   ServerError / ThrottlingError / NetworkError from the provider.
   */
  acquireTokenForClient(request: ClientCredentialRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
    return acquireTokenForClient(this.ctx, request, options);
  }

  /**
   * A token for a downstream API as the user whose access token for this API is `userAssertion` (MSAL's
   * acquireTokenOnBehalfOf). The assertion is validated here first (API_AUDIENCES, API_SCOPE, tenant).
   * @throws CallerError `invalid_token` without any provider call; InteractionRequiredError for a step-up.
   */
  acquireTokenOnBehalfOf(request: OnBehalfOfRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
    return acquireTokenOnBehalfOf(this.ctx, request, options);
  }

  /**
   * The incoming access token as this API accepts it (API_AUDIENCES, API_SCOPE, tenant, a user):
   * what acquireTokenOnBehalfOf checks first. Remembered per isolate until it expires.
   * @throws CallerError `invalid_token`
   */
  validateCallerAssertion(userAssertion: string): Promise<CallerAssertion> {
    return validateCallerAssertion(this.ctx, userAssertion);
  }

  /** The flow to keep (single-use) until the provider redirects back: auth URI, state, nonce, PKCE verifier. */
  initiateAuthCodeFlow(request: AuthCodeFlowRequest): Promise<AuthCodeFlow> {
    return initiateAuthCodeFlow(this.ctx, request);
  }

  /** Redeems the code of the provider's answer; the returned record belongs in the account store. */
  acquireTokenByAuthCodeFlow(flow: AuthCodeFlow, authResponse: URLSearchParams, correlationId?: string): Promise<{ result: AuthCodeResult; record: AccountRecord }> {
    return acquireTokenByAuthCodeFlow(this.ctx, flow, authResponse, correlationId);
  }

  /** MSAL's initiate_device_flow: the code and link to show the user; the device code stays with the caller. */
  initiateDeviceFlow(request: DeviceFlowRequest, correlationId?: string): Promise<DeviceCodeFlow> {
    return initiateDeviceFlow(this.ctx, request, correlationId);
  }

  /** One non-blocking poll of a device flow, for callers that drive their own loop (a Durable Object's alarm). */
  pollDeviceFlow(flow: DeviceCodeFlow, correlationId?: string): Promise<DevicePoll> {
    return pollDeviceFlow(this.ctx, flow, correlationId);
  }

  /** MSAL's acquire_token_by_device_flow: polls at `interval` (+5 s on slow_down) until done, denied or expired. */
  acquireTokenByDeviceFlow(flow: DeviceCodeFlow, options: DeviceFlowOptions = {}): Promise<SignInOutcome> {
    return acquireTokenByDeviceFlow(this.ctx, flow, options);
  }

  /** MSAL's acquire_token_by_username_password (discouraged: no MFA, no federated or personal accounts). */
  acquireTokenByUsernamePassword(request: UsernamePasswordRequest): Promise<SignInOutcome> {
    return acquireTokenByUsernamePassword(this.ctx, request);
  }

  /** MSAL's acquire_token_by_refresh_token (migration): the token is redeemed once, and rotated. */
  acquireTokenByRefreshToken(request: RefreshTokenImportRequest): Promise<SignInOutcome> {
    return acquireTokenByRefreshToken(this.ctx, request);
  }

  acquireTokenSilent(store: AccountStore<AccountRecord>, request: SilentRequest, options: CallOptions = {}): Promise<AuthenticationResult> {
    return acquireTokenSilent(this.ctx, store, request, options);
  }

  getAccounts(store: AccountStore<AccountRecord>, filter: { username?: string } = {}): Promise<AccountInfo[]> {
    return getAccounts(store, filter);
  }

  removeAccount(store: AccountStore<AccountRecord>, account: Pick<AccountInfo, 'homeAccountId'>): Promise<void> {
    return removeAccount(this.ctx, store, account);
  }

  /** Where to send the browser to end the provider's session too; null when the provider has no such endpoint. */
  async endSessionUrl(request: { postLogoutRedirectUri?: string; idTokenHint?: string; state?: string }): Promise<string | null> {
    return endSessionUrl(await authorizationServer(this.ctx), { clientId: this.config.clientId, ...request });
  }

  /**
   * Validates a JWT access token presented to an API protected by this authority: `{ audience,
   * requiredScopes?, requiredRoles?, allowAppOnly?, allowedTenants? }` (see AccessTokenRequirements);
   * `allowedTenants` defaults to the deployment's ALLOWED_TENANTS.
   * @throws ClientConfigurationError for unusable requirements, CallerError for a refused token.
   */
  async validateAccessToken(token: string, required: AccessTokenRequirements): Promise<Record<string, unknown>> {
    const { clientId: _notTheAudience, ...checks } = idTokenContext(this.ctx, await authorizationServer(this.ctx));
    const configured = this.config.allowedTenants;
    const allowedTenants = required.allowedTenants ?? (configured === undefined ? undefined : configured === '*' ? ['*'] : [...configured]);
    return validateAccessToken(token, checks, { ...required, ...(allowedTenants ? { allowedTenants } : {}) });
  }

  /** One account's cache in MSAL's unified JSON format. */
  serializeCache(store: AccountStore<AccountRecord>, homeAccountId: string): Promise<string> {
    return serializeCache(this.ctx, store, homeAccountId);
  }

  /** The on-behalf-of token cached for this assertion and scopes, in MSAL's JSON format (msal-node reads it). */
  serializeOnBehalfOfCache(request: { userAssertion: string; scopes: readonly string[] }): Promise<string> {
    return serializeOnBehalfOfCache(this.ctx, request);
  }

  /** Imports the accounts of an MSAL JSON cache that belong to this client (trusted input). */
  deserializeCache(store: AccountStore<AccountRecord>, json: string): Promise<AccountInfo[]> {
    return deserializeCache(this.ctx, store, json);
  }
}
