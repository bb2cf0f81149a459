/**
 * The Cloudflare Worker: KV token cache (TOKEN_CACHE); Durable Objects for sign-in flows (FLOWS), accounts
 * (ACCOUNTS) and device code flows (DEVICE_FLOWS).
 */
import { ClientConfigurationError, KVCacheStore } from '../../lib/mod.ts';
import { createApp } from '../app.ts';
import { depsFor } from '../deps.ts';
import type { PendingSignIn } from '../pending-sign-in.ts';
import type { AccountObject } from './account-object.ts';
import { DurableObjectAccountSessions } from './account-sessions.ts';
import type { DeviceFlowObject } from './device-flow-object.ts';
import { DurableObjectDeviceFlows } from './device-flows.ts';
import { DurableObjectFlowStore } from './do-flow-store.ts';
import type { FlowObject } from './flow-object.ts';
import { BindingRateLimiter } from './rate-limiter.ts';

export { FlowObject } from './flow-object.ts';
export { AccountObject } from './account-object.ts';
export { DeviceFlowObject } from './device-flow-object.ts';

export interface Env {
  TOKEN_CACHE: KVNamespace;
  FLOWS: DurableObjectNamespace<FlowObject>;
  ACCOUNTS: DurableObjectNamespace<AccountObject>;
  DEVICE_FLOWS: DurableObjectNamespace<DeviceFlowObject>;
  /** `[[ratelimits]]` bindings; a deployment without them runs without those limits. */
  SIGN_IN_RATE_LIMIT?: RateLimit;
  CACHE_BYPASS_RATE_LIMIT?: RateLimit;
  PASSWORD_RATE_LIMIT?: RateLimit;
  [setting: string]: unknown;
}

const stores = new WeakMap<KVNamespace, KVCacheStore>();

const app = createApp({
  getDeps: (c) => {
    const env = c.env as Env;
    if (!env.TOKEN_CACHE) throw new ClientConfigurationError('TOKEN_CACHE', 'KV binding is missing');
    let store = stores.get(env.TOKEN_CACHE);
    if (!store) stores.set(env.TOKEN_CACHE, (store = new KVCacheStore(env.TOKEN_CACHE)));
    return depsFor(env, store, env.TOKEN_CACHE, (input, init) => fetch(input, init));
  },
  rateLimits: (c) => {
    const env = c.env as Env;
    return {
      ...(env.SIGN_IN_RATE_LIMIT ? { signIn: new BindingRateLimiter(env.SIGN_IN_RATE_LIMIT) } : {}),
      ...(env.CACHE_BYPASS_RATE_LIMIT ? { cacheBypass: new BindingRateLimiter(env.CACHE_BYPASS_RATE_LIMIT) } : {}),
      ...(env.PASSWORD_RATE_LIMIT ? { password: new BindingRateLimiter(env.PASSWORD_RATE_LIMIT) } : {}),
    };
  },
  signInStores: (c) => {
    const env = c.env as Env;
    if (!env.FLOWS) throw new ClientConfigurationError('FLOWS', 'Durable Object binding is missing');
    if (!env.ACCOUNTS) throw new ClientConfigurationError('ACCOUNTS', 'Durable Object binding is missing');
    if (!env.DEVICE_FLOWS) throw new ClientConfigurationError('DEVICE_FLOWS', 'Durable Object binding is missing');
    return {
      flows: new DurableObjectFlowStore<PendingSignIn>(env.FLOWS),
      accounts: new DurableObjectAccountSessions(env.ACCOUNTS),
      deviceFlows: new DurableObjectDeviceFlows(env.DEVICE_FLOWS),
    };
  },
  waitUntil: (c) => {
    try {
      const ctx = c.executionCtx;
      return (promise) => ctx.waitUntil(promise);
    } catch {
      return undefined;
    }
  },
});

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
