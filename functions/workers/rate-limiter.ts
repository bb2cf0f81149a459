/** RateLimiter over Cloudflare's rate limiting binding (`[[ratelimits]]` in wrangler.toml). */
import type { RateLimiter } from '../rate-limits.ts';

export class BindingRateLimiter implements RateLimiter {
  private readonly binding: RateLimit;
  constructor(binding: RateLimit) {
    this.binding = binding;
  }

  async allow(key: string): Promise<boolean> {
    return (await this.binding.limit({ key })).success;
  }
}
