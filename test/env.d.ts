import type { AccountObject } from '../functions/workers/account-object.ts';
import type { FlowObject } from '../functions/workers/flow-object.ts';
import type { IdpInfo } from './global-setup.ts';

declare global {
  namespace Cloudflare {
    interface Env {
      TOKEN_CACHE: KVNamespace;
      FLOWS: DurableObjectNamespace<FlowObject>;
      ACCOUNTS: DurableObjectNamespace<AccountObject>;
    }
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    idp: IdpInfo;
  }
}
