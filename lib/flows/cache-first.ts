/**
 * Cache first, for every flow that serves access tokens: a cached token with more than 5 minutes left
 * is served; once the provider's `refresh_in` has passed it is still served and renewed behind the
 * response (`waitUntil`), a renewal failure never surfacing while the token is valid. A miss, a forced
 * refresh or a claims challenge goes to the provider, concurrent callers for the same query sharing one
 * request.
 */
import type { AccessTokenQuery } from '../cache/entities.ts';
import { isUsable, shouldRefresh } from '../cache/freshness.ts';
import { toResult, type AuthenticationResult, type CallOptions, type ClientContext } from './context.ts';

export interface CacheFirstRequest {
  query: AccessTokenQuery;
  /** forceRefresh or a claims challenge: straight to the provider, as in MSAL. */
  bypassCache: boolean;
  /** A claims challenge: part of what makes two provider requests the same one. */
  claims?: string | undefined;
  correlationId: string;
}

export async function cacheFirst(
  ctx: ClientContext,
  request: CacheFirstRequest,
  acquire: () => Promise<AuthenticationResult>,
  options: CallOptions,
): Promise<AuthenticationResult> {
  const { cache, now } = ctx.deps;
  if (!request.bypassCache) {
    const cached = await cache.getAccessToken(request.query, now());
    if (cached && isUsable(cached, now())) {
      if (shouldRefresh(cached, now())) {
        const renewal = ctx.flights.run(flightKey(request), acquire).catch(() => undefined);
        options.waitUntil?.(renewal);
      }
      return toResult(cached, 'cache', request.correlationId);
    }
  }
  return ctx.flights.run(flightKey(request), acquire);
}

/** Concurrent requests for the same token with the same claims share one provider request. */
function flightKey({ query, claims }: CacheFirstRequest): string {
  return [query.homeAccountId, query.realm, query.target, claims ?? ''].join('\n');
}
