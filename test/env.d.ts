import type { IdpInfo } from './global-setup.ts';

declare global {
  namespace Cloudflare {
    // The bindings (TOKEN_CACHE, the Durable Objects, the rate limiters, [vars]) come from
    // wrangler.toml through worker-configuration.d.ts (`npm run types`); the pool adds these.
    interface Env {
      // The sign-in settings, bindings from vitest.config.ts (the Durable Objects read these).
      AUTHORITY: string;
      CLIENT_ID: string;
      CLIENT_SECRET: string;
      TOKEN_CACHE_KEY: string;
      SESSION_KEY: string;
      REDIRECT_URI: string;
      SPA_SCOPES: string;
      ALLOWED_ORIGINS: string;
      POST_LOGOUT_REDIRECT_URI: string;
      PROVIDER_RETRY_DELAY_MS: string;
    }
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    idp: IdpInfo;
    /** The fuzz suite's settings from the environment (vitest.config.ts). */
    fuzz: { FUZZ_SEED: string | undefined; FUZZ_COUNT: string | undefined; FUZZ_VERBOSE: string | undefined };
  }
}
