/**
 * RateLimiter over Deno KV: a fixed window of RATE_LIMIT_PERIOD_SECONDS per key, counted in
 * ['rate-limits', name, key, window] with an atomic check-and-set (retried when another request counted
 * in between), and `expireIn` so that old windows leave. The same limits as wrangler.toml's `[[ratelimits]]`.
 */
import { base64url, sha256 } from '../../lib/mod.ts';
import { RATE_LIMIT_PERIOD_SECONDS, type RateLimiter, type RateLimits } from '../rate-limits.ts';
import { whenNotBusy } from './kv-busy.ts';

/** Requests per window, as wrangler.toml's SIGN_IN_RATE_LIMIT, CACHE_BYPASS_RATE_LIMIT and PASSWORD_RATE_LIMIT. */
export const DENO_RATE_LIMITS = { signIn: 60, cacheBypass: 10, password: 5 } as const satisfies Record<keyof RateLimits, number>;

/** Attempts at counting one request before it is refused: only a burst on one key contends this much. */
const MAX_ATTEMPTS = 20;
/** Longer keys (user names, say) are counted by their hash: Deno KV keys are at most 2 KiB. */
const MAX_KEY_LENGTH = 256;

export class DenoKvRateLimiter implements RateLimiter {
  private readonly kv: Deno.Kv;
  private readonly name: string;
  private readonly limit: number;
  private readonly periodMs: number;

  constructor(kv: Deno.Kv, name: string, limit: number, periodSeconds: number = RATE_LIMIT_PERIOD_SECONDS) {
    this.kv = kv;
    this.name = name;
    this.limit = limit;
    this.periodMs = periodSeconds * 1000;
  }

  async allow(key: string): Promise<boolean> {
    const part = key.length > MAX_KEY_LENGTH ? `sha256:${base64url(await sha256(key))}` : key;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = Date.now();
      const window = Math.floor(now / this.periodMs);
      const counter: Deno.KvKey = ['rate-limits', this.name, part, window];
      const entry = await this.kv.get<number>(counter);
      const count = entry.value ?? 0;
      if (count >= this.limit) return false;
      const expireIn = (window + 1) * this.periodMs - now + 1000;
      if ((await whenNotBusy(() => this.kv.atomic().check(entry).set(counter, count + 1, { expireIn }).commit())).ok) return true;
      // Another request counted first: back off a little, at random, so that a burst spreads out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * (attempt + 1)));
    }
    // Refused rather than uncounted: only a burst far beyond any limit keeps losing the race.
    return false;
  }
}

/** The Deno entry's abuse limits, counted in `kv` (shared by every process on it). */
export function denoRateLimits(kv: Deno.Kv): RateLimits {
  return {
    signIn: new DenoKvRateLimiter(kv, 'sign-in', DENO_RATE_LIMITS.signIn),
    cacheBypass: new DenoKvRateLimiter(kv, 'cache-bypass', DENO_RATE_LIMITS.cacheBypass),
    password: new DenoKvRateLimiter(kv, 'password', DENO_RATE_LIMITS.password),
  };
}
