/** When a cached access token may be served and when it should be renewed. Pure; `now` is passed in. */
import type { AccessTokenEntity } from './entities.ts';

/** MSAL's DEFAULT_TOKEN_RENEWAL_OFFSET_SEC: a token with under 5 minutes left is treated as expired. */
export const EXPIRY_SKEW_SECONDS = 300;

export function isUsable(entity: AccessTokenEntity, nowMs: number): boolean {
  const now = nowMs / 1000;
  // A cache written "in the future" means the clock moved back; MSAL distrusts such entries too.
  return Number(entity.expires_on) - EXPIRY_SKEW_SECONDS > now && Number(entity.cached_at) <= now + EXPIRY_SKEW_SECONDS;
}

/** True once the provider's `refresh_in` hint has passed: serve the token, renew it in the background. */
export function shouldRefresh(entity: AccessTokenEntity, nowMs: number): boolean {
  return entity.refresh_on !== undefined && Number(entity.refresh_on) <= nowMs / 1000;
}

/** How long the store should keep the entry: until the token itself is dead. */
export function storeTtlSeconds(entity: AccessTokenEntity, nowMs: number): number {
  return Math.max(1, Number(entity.expires_on) - Math.floor(nowMs / 1000));
}
