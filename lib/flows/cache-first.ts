/**
 * Cache first, for every flow that serves access tokens: a cached token with more than 5 minutes left
 * is served; once the provider's `refresh_in` has passed it is still served and renewed behind the
 * response (`waitUntil`), a renewal failure never surfacing while the token is valid. A miss, a forced
 * refresh or a claims challenge goes to the provider, concurrent callers for the same query sharing one
 * request. A token in fleet-wide use (`fleet`) is also renewed behind the response from its fleet renewal
 * point (fleet.ts), so that its coordinator hears from every isolate that still serves it.
 */
import type { AccessTokenEntity, AccessTokenQuery } from '../cache/entities.ts';
import { isUsable, shouldRefresh } from '../cache/freshness.ts';
import { toResult, type AuthenticationResult, type CallOptions, type ClientContext } from './context.ts';
import type { Acquire } from './fleet-acquire.ts';
import { fleetRenewalAt } from './fleet.ts';

export interface CacheFirstRequest {
  query: AccessTokenQuery;
  /** forceRefresh or a claims challenge: straight to the provider, as in MSAL. */
  bypassCache: boolean;
  /** A claims challenge: part of what makes two provider requests the same one. */
  claims?: string | undefined;
  correlationId: string;
  /** The token goes through the client's fleet (fleet-acquire.ts): renewed from its fleet renewal point. */
  fleet?: boolean;
}

export async function cacheFirst(
  ctx: ClientContext,
  request: CacheFirstRequest,
  acquire: Acquire,
  options: CallOptions,
): Promise<AuthenticationResult> {
  const { cache, now } = ctx.deps;
  if (!request.bypassCache) {
    const cached = await cache.getAccessToken(request.query, now());
    if (cached && isUsable(cached, now())) {
      if (shouldRefresh(cached, now()) || (request.fleet === true && fleetRenewalDue(cached, now()))) {
        const renewal = ctx.flights.run(flightKey(request), () => acquire({ renewal: true })).catch(() => undefined);
        options.waitUntil?.(renewal);
      }
      return toResult(cached, 'cache', request.correlationId);
    }
  }
  return ctx.flights.run(flightKey(request), () => acquire());
}

function fleetRenewalDue(entity: AccessTokenEntity, nowMs: number): boolean {
  const times = { cachedAt: Number(entity.cached_at), expiresOn: Number(entity.expires_on), refreshOn: entity.refresh_on === undefined ? undefined : Number(entity.refresh_on) };
  return fleetRenewalAt(times) <= nowMs / 1000;
}

/** Concurrent requests for the same token with the same claims share one provider request. */
function flightKey({ query, claims }: CacheFirstRequest): string {
  return [query.homeAccountId, query.realm, query.target, claims ?? ''].join('\n');
}
