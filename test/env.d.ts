import type { FlowObject } from '../functions/workers/flow-object.ts';
import type { IdpInfo } from './global-setup.ts';

declare global {
  namespace Cloudflare {
    interface Env {
      TOKEN_CACHE: KVNamespace;
      FLOWS: DurableObjectNamespace<FlowObject>;
    }
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    idp: IdpInfo;
  }
}
