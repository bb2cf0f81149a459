/**
 * The client of a Durable Object, built from the object's own env on first use and kept for its life:
 * its locks and memory layer are then the object's. Settings are never taken from a caller: whoever can
 * reach the object cannot make it act as another client. A failed build (a missing setting) is not kept.
 */
import { KVCacheStore, type ConfidentialClientApplication } from '../../lib/mod.ts';
import { createDeps } from '../deps.ts';
import { objectEnvironment } from './object-environment.ts';

/** The Worker's own bindings and settings: an object acts as the same client as the Worker. */
export interface ObjectBindings {
  TOKEN_CACHE: KVNamespace;
  [setting: string]: unknown;
}

export class ObjectClient {
  private readonly env: ObjectBindings;
  private client: Promise<ConfidentialClientApplication> | undefined;

  constructor(env: ObjectBindings) {
    // Under the names and settings the Worker's runtime was configured with (workersRuntime).
    this.env = objectEnvironment(env) as ObjectBindings;
  }

  get(): Promise<ConfidentialClientApplication> {
    if (!this.client) {
      const built = createDeps(this.env, new KVCacheStore(this.env.TOKEN_CACHE), (input, init) => fetch(input, init)).then((deps) => deps.client);
      built.catch(() => {
        if (this.client === built) this.client = undefined;
      });
      this.client = built;
    }
    return this.client;
  }
}
