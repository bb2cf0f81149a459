/**
 * What every flow shares: the client's configuration, its dependencies (cache, transport, clock,
 * per-isolate provider state) and its in-isolate coordination (single flight, per-account locks).
 */
import type { AccessTokenEntity } from '../cache/entities.ts';
import type { TokenCache } from '../cache/token-cache.ts';
import type { KeyedLock, SingleFlight } from '../concurrency.ts';
import type { ConfidentialClientConfig } from '../config.ts';
import type * as oauth from 'oauth4webapi';
import { observedFetch, type CallDescription, type ProviderObserver } from '../observation.ts';
import type { IdTokenContext } from '../oauth/id-token.ts';
import type { ThrottlingCache } from '../oauth/provider-http.ts';
import type { ProviderMetadataCache } from '../oauth/provider-metadata.ts';
import type { TokenEndpoint } from '../oauth/token-endpoint.ts';
import type { ValidatedAssertions } from '../cache/validated-assertions.ts';
import type { FleetFlights } from './fleet.ts';

export interface ClientDependencies {
  cache: TokenCache;
  /** Requests the provider throttled (Retry-After), per isolate. */
  throttling: ThrottlingCache;
  /** Discovery documents and key sets, per isolate. */
  metadata: ProviderMetadataCache;
  fetch: typeof fetch;
  now: () => number;
  /** Told of every provider call (logs, metrics); absent, the client's fetch is used as it is. */
  observer?: ProviderObserver;
  /** App-only and on-behalf-of misses go through one coordinator per key for the whole fleet (fleet.ts). */
  fleet?: FleetFlights<AuthenticationResult>;
}

export interface ClientContext {
  config: ConfidentialClientConfig;
  deps: ClientDependencies;
  /** Concurrent provider requests for the same token share one. */
  flights: SingleFlight<AuthenticationResult>;
  /** A refresh token may be rotated by each use: one redemption per account at a time. */
  accountLocks: KeyedLock;
  /** On-behalf-of: incoming tokens already validated, until they expire. */
  assertions: ValidatedAssertions;
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

/**
 * The provider's metadata (discovered once per isolate), as every flow needs it. `correlationId`: the
 * request a discovery made now is reported for.
 */
export function authorizationServer(ctx: ClientContext, correlationId?: string): Promise<oauth.AuthorizationServer> {
  return ctx.deps.metadata.authorizationServer(ctx.config.authority, providerOptions(ctx, { endpoint: 'discovery', ...(correlationId ? { correlationId } : {}) }), ctx.deps.now());
}

/** The token endpoint as grants talk to it; `grant` names the calls made through it to the observer. */
export function tokenEndpoint(ctx: ClientContext, as: oauth.AuthorizationServer, grant?: string): TokenEndpoint {
  const { authority, clientId, credential } = ctx.config;
  const description: CallDescription = { endpoint: 'token', ...(grant ? { grant } : {}), ...(as.device_authorization_endpoint ? { deviceAuthorizationEndpoint: as.device_authorization_endpoint } : {}) };
  return { as, authority, clientId, credential, fetch: observed(ctx, description) };
}

/** What checking a token from this provider needs: its metadata, our client id, the clock, its keys. */
export function idTokenContext(ctx: ClientContext, as: oauth.AuthorizationServer): IdTokenContext {
  return {
    as,
    authority: ctx.config.authority,
    clientId: ctx.config.clientId,
    now: ctx.deps.now(),
    // A key set outlives the request that first fetched it: its refetches belong to no request.
    keys: (jwksUri) => ctx.deps.metadata.keySet(jwksUri, providerOptions(ctx, { endpoint: 'keys' })),
  };
}

function providerOptions(ctx: ClientContext, description: CallDescription): { fetch: typeof fetch; timeoutMs: number } {
  return { fetch: observed(ctx, description), timeoutMs: ctx.config.timeoutMs };
}

/** The client's fetch, reporting its calls when the client has an observer. */
function observed(ctx: ClientContext, description: CallDescription): typeof fetch {
  const { fetch, observer } = ctx.deps;
  return observer ? observedFetch(fetch, observer, description) : fetch;
}

export function toResult(entity: AccessTokenEntity, tokenSource: AuthenticationResult['tokenSource'], correlationId: string): AuthenticationResult {
  const result: AuthenticationResult = {
    accessToken: entity.secret,
    tokenType: entity.token_type,
    expiresOn: Number(entity.expires_on),
    extExpiresOn: Number(entity.extended_expires_on),
    scopes: entity.target === '' ? [] : entity.target.split(' '),
    tokenSource,
    correlationId,
  };
  if (entity.refresh_on !== undefined) result.refreshOn = Number(entity.refresh_on);
  return result;
}
