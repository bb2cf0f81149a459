/**
 * The Cloudflare Worker: KV token cache (TOKEN_CACHE); Durable Objects for sign-in flows (FLOWS), accounts
 * (ACCOUNTS), device code flows (DEVICE_FLOWS) and the fleet's token flights (TOKEN_FLIGHTS).
 */
import { ClientConfigurationError, KVCacheStore } from '../../lib/mod.ts';
import { createApp } from '../app.ts';
import { depsFor } from '../deps.ts';
import { analyticsEngineMetrics, type DataPointWriter } from '../metrics.ts';
import { requestLog } from '../request-log.ts';
import type { PendingSignIn } from '../pending-sign-in.ts';
import { DurableObjectAccountSessions } from './account-sessions.ts';
import { DurableObjectDeviceFlows } from './device-flows.ts';
import { DurableObjectFlowStore } from './do-flow-store.ts';
import { BindingRateLimiter } from './rate-limiter.ts';
import { tokenFlightsFor } from './token-flights.ts';

export { FlowObject } from './flow-object.ts';
export { AccountObject } from './account-object.ts';
export { DeviceFlowObject } from './device-flow-object.ts';
export { TokenFlightObject } from './token-flight-object.ts';

/**
 * The Worker's env: the bindings of wrangler.toml as `wrangler types` generates them (`Cloudflare.Env` in
 * worker-configuration.d.ts; `npm run types` after changing a binding, a test fails while it is stale), and
 * the settings, [vars] and secrets, read by name (README "Configuration"). A deployment without the
 * `[[ratelimits]]` bindings runs without those limits.
 */
export interface Env extends Cloudflare.Env {
  [setting: string]: unknown;
}

const stores = new WeakMap<KVNamespace, KVCacheStore>();

const app = createApp({
  getDeps: (c) => {
    const env = c.env as Env;
    if (!env.TOKEN_CACHE) throw new ClientConfigurationError('TOKEN_CACHE', 'KV binding is missing');
    let store = stores.get(env.TOKEN_CACHE);
    if (!store) stores.set(env.TOKEN_CACHE, (store = new KVCacheStore(env.TOKEN_CACHE)));
    const fleet = tokenFlightsFor(env);
    return depsFor(env, store, env.TOKEN_CACHE, (input, init) => fetch(input, init), fleet ? { fleet } : {});
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
  observe: requestLog({
    // The optional [[analytics_engine_datasets]] binding METRICS (README "Logs and metrics"); without it, none.
    metrics: (c) => {
      const dataset = (c.env as Env).METRICS as DataPointWriter | undefined;
      return dataset ? analyticsEngineMetrics(dataset) : undefined;
    },
  }),
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
