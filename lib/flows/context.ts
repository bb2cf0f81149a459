/**
 * What every flow shares: the client's configuration, its dependencies (cache, transport, clock,
 * per-isolate provider state) and its in-isolate coordination (single flight, per-account locks).
 */
import type { AccessTokenEntity } from '../cache/entities.ts';
import type { TokenCache } from '../cache/token-cache.ts';
import type { KeyedLock, SingleFlight } from '../concurrency.ts';
import type { ConfidentialClientConfig } from '../config.ts';
import type * as oauth from 'oauth4webapi';
import type { IdTokenContext } from '../oauth/id-token.ts';
import type { ThrottlingCache } from '../oauth/provider-http.ts';
import type { ProviderMetadataCache } from '../oauth/provider-metadata.ts';
import type { TokenEndpoint } from '../oauth/token-endpoint.ts';
import type { ValidatedAssertions } from '../cache/validated-assertions.ts';

export interface ClientDependencies {
  cache: TokenCache;
  /** Requests the provider throttled (Retry-After), per isolate. */
  throttling: ThrottlingCache;
  /** Discovery documents and key sets, per isolate. */
  metadata: ProviderMetadataCache;
  fetch: typeof fetch;
  now: () => number;
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

/** The provider's metadata (discovered once per isolate), as every flow needs it. */
export function authorizationServer(ctx: ClientContext): Promise<oauth.AuthorizationServer> {
  return ctx.deps.metadata.authorizationServer(ctx.config.authority, providerOptions(ctx), ctx.deps.now());
}

export function tokenEndpoint(ctx: ClientContext, as: oauth.AuthorizationServer): TokenEndpoint {
  const { authority, clientId, credential } = ctx.config;
  return { as, authority, clientId, credential, fetch: ctx.deps.fetch };
}

/** What checking a token from this provider needs: its metadata, our client id, the clock, its keys. */
export function idTokenContext(ctx: ClientContext, as: oauth.AuthorizationServer): IdTokenContext {
  return {
    as,
    authority: ctx.config.authority,
    clientId: ctx.config.clientId,
    now: ctx.deps.now(),
    keys: (jwksUri) => ctx.deps.metadata.keySet(jwksUri, providerOptions(ctx)),
  };
}

function providerOptions(ctx: ClientContext): { fetch: typeof fetch; timeoutMs: number } {
  return { fetch: ctx.deps.fetch, timeoutMs: ctx.config.timeoutMs };
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
