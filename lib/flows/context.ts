/** What every flow needs: the client's configuration and its dependencies (cache, transport, clock). */
import type { AccessTokenEntity } from '../cache/entities.ts';
import type { TokenCache } from '../cache/token-cache.ts';
import { resolveAuthority, type Authority } from '../oauth/authority.ts';
import type * as oauth from 'oauth4webapi';
import type { ClientCredential } from '../oauth/client-auth.ts';
import type { ThrottlingCache } from '../oauth/provider-http.ts';

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

export interface ClientContext {
  config: ConfidentialClientConfig;
  deps: ClientDependencies;
}

/** The provider's metadata (discovered once per isolate), as every flow needs it. */
export function authorizationServer(ctx: ClientContext): Promise<oauth.AuthorizationServer> {
  return resolveAuthority(ctx.config.authority, { fetch: ctx.deps.fetch, timeoutMs: ctx.config.timeoutMs }, ctx.deps.now());
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

/** One running promise per key: concurrent callers for the same work share it. */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const promise = work().finally(() => this.running.delete(key));
    this.running.set(key, promise);
    return promise;
  }
}

/**
 * Runs work for one key strictly one after another. A refresh token may be rotated by each use, so two
 * refreshes of one account (even for different scopes) must never overlap.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
