/**
 * The miss path of app-only and on-behalf-of tokens through the client's FleetFlights, when it has one:
 * the coordinator's answer is kept in this isolate's memory layer (the coordinator has already written it
 * to the store), and whatever the coordinator cannot serve goes to the provider from here. No I/O of its
 * own besides the port and the cache; the clock is the client's.
 */
import { accessTokenKey, type AccessTokenEntity, type AccessTokenQuery } from '../cache/entities.ts';
import { storageKeyFor } from '../cache/token-cache.ts';
import type { AuthenticationResult, ClientContext } from './context.ts';
import type { FleetTokenRequest } from './fleet.ts';

/** What cacheFirst calls on a miss, or with `renewal` behind a response once the token's renewal point has passed. */
export type Acquire = (how?: { renewal?: boolean }) => Promise<AuthenticationResult>;

type Distribute<T> = T extends unknown ? Omit<T, 'correlationId' | 'renewal'> : never;
/** The request as the flow knows it; the correlation id and the renewal flag are added per call. */
export type FleetTokenDescription = Distribute<FleetTokenRequest>;

/**
 * `local` wrapped so that it goes through the client's fleet; undefined when the client has none.
 * @param local this isolate's own provider request (the flow's redeem), for the fleet's fallback.
 */
export function fleetAcquire(
  ctx: ClientContext,
  query: AccessTokenQuery,
  request: FleetTokenDescription,
  correlationId: string,
  local: () => Promise<AuthenticationResult>,
): Acquire | undefined {
  const fleet = ctx.deps.fleet;
  if (!fleet) return undefined;
  return async (how = {}) => {
    let fromHere = false;
    const key = await storageKeyFor(accessTokenKey(query));
    const result = await fleet.acquire(key, { ...request, correlationId, ...(how.renewal ? { renewal: true } : {}) }, () => {
      fromHere = true;
      return local();
    });
    // A local request cached its own entity (redeem); the coordinator's answer is kept in memory only.
    if (!fromHere) await ctx.deps.cache.rememberAccessToken(entityOf(query, result, ctx.deps.now()));
    return result;
  };
}

/** The AccessToken entity of a token the coordinator handed over; its cached_at is when it arrived here. */
function entityOf(query: AccessTokenQuery, result: AuthenticationResult, nowMs: number): AccessTokenEntity {
  const entity: AccessTokenEntity = {
    home_account_id: query.homeAccountId,
    environment: query.environment,
    credential_type: 'AccessToken',
    client_id: query.clientId,
    realm: query.realm,
    target: query.target,
    secret: result.accessToken,
    cached_at: String(Math.floor(nowMs / 1000)),
    expires_on: String(result.expiresOn),
    extended_expires_on: String(result.extExpiresOn),
    token_type: result.tokenType,
  };
  if (result.refreshOn !== undefined) entity.refresh_on = String(result.refreshOn);
  if (query.userAssertionHash !== undefined) entity.userAssertionHash = query.userAssertionHash;
  return entity;
}
