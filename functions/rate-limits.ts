/**
 * Abuse limits for what anyone (or any one caller) can make us do: start and complete sign-ins (each
 * creates durable state), bypass the token cache (each reaches the provider, and for a user rotates
 * the refresh token), and try passwords (each is a guess at a user's password). A limiter is a port with one adapter per runtime (Workers: the rate limiting
 * binding); where a deployment has none, that limit is not enforced.
 */
import type { Context } from 'hono';
import { CallerError } from '../lib/mod.ts';

/** The window the limits are counted over (Cloudflare's rate limiting binding: 10 or 60 s). */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

export interface RateLimiter {
  /** Counts one request for `key`; false once the key is over its limit in the current window. */
  allow(key: string): Promise<boolean>;
}

export interface RateLimits {
  /**
   * /auth/login and /auth/callback and /device/start per client IP; /token/password and /accounts/import
   * per caller (default 60 a minute).
   */
  signIn?: RateLimiter;
  /**
   * /token/password per user name, whoever the caller (default 5 a minute, successes included): each
   * attempt is a guess at that user's password, so a guesser is slowed per victim however many callers
   * it spreads over, while a script that signs a user in now and then never meets the limit.
   */
  password?: RateLimiter;
  /** Requests with `claims` or `force_refresh`: per caller on /token/client, per account on /auth/token (default 10 a minute). */
  cacheBypass?: RateLimiter;
}

/** @throws CallerError `rate_limited` (429 with Retry-After) once `key` is over the limit. */
export async function enforceRateLimit(limiter: RateLimiter | undefined, key: string, what: string): Promise<void> {
  if (limiter && !(await limiter.allow(key))) {
    throw new CallerError('rate_limited', `Too many ${what}; try again in ${RATE_LIMIT_PERIOD_SECONDS} seconds`);
  }
}

/**
 * The rate-limit key of the client: Cloudflare's `CF-Connecting-IP` ('unknown' without it, one shared
 * bucket), an IPv6 address by its /64, since a single host usually holds a whole /64 to rotate through.
 */
export function clientAddressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  if (!address.includes(':') || address.includes('.')) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tailGroups];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * The rate-limit key of the client of this request. On Workers, Cloudflare's `CF-Connecting-IP`; where the
 * runtime knows the peer itself (Deno: `app.fetch(request, { clientAddress })`), that, and a client's own
 * header is never believed.
 */
export function clientAddressOf(c: Context): string {
  const env = c.env as { clientAddress?: string | null } | undefined;
  if (env && typeof env === 'object' && 'clientAddress' in env) return clientAddressKey(env.clientAddress ?? undefined);
  return clientAddressKey(c.req.header('cf-connecting-ip'));
}
