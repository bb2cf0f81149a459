import type { AccountObject } from '../functions/workers/account-object.ts';
import type { DeviceFlowObject } from '../functions/workers/device-flow-object.ts';
import type { FlowObject } from '../functions/workers/flow-object.ts';
import type { IdpInfo } from './global-setup.ts';

declare global {
  namespace Cloudflare {
    interface Env {
      TOKEN_CACHE: KVNamespace;
      FLOWS: DurableObjectNamespace<FlowObject>;
      ACCOUNTS: DurableObjectNamespace<AccountObject>;
      DEVICE_FLOWS: DurableObjectNamespace<DeviceFlowObject>;
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
