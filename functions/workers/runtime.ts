/**
 * The Workers runtime for the route groups: dependencies and stores from a Worker's bindings, under the
 * binding names and settings of the user's own Worker. `workersRuntime()` with no options is the project's
 * own Worker (wrangler.toml's names; settings are the env's vars and secrets by name).
 *
 *   const runtime = workersRuntime({ bindings: { TOKEN_CACHE: 'AUTH_CACHE' }, settings: (env) => ({ ...env, AUTHORITY: env.ENTRA_AUTHORITY }) });
 *   app.route('/auth', signIn(runtime));
 *
 * The Durable Objects (re-exported by the user's Worker) read the same names and settings: the last
 * runtime configured in the script is the one they use.
 */
import { ClientConfigurationError, KVCacheStore } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { depsFor } from '../deps.ts';
import { analyticsEngineMetrics, type DataPointWriter } from '../metrics.ts';
import type { PendingSignIn } from '../pending-sign-in.ts';
import { requestLog } from '../request-log.ts';
import type { Runtime } from '../route-groups.ts';
import { DurableObjectAccountSessions } from './account-sessions.ts';
import { DurableObjectDeviceFlows } from './device-flows.ts';
import { DurableObjectFlowStore } from './do-flow-store.ts';
import { setObjectEnvironment } from './object-environment.ts';
import { BindingRateLimiter } from './rate-limiter.ts';
import { tokenFlightsFor } from './token-flights.ts';

/** The bindings, by the names wrangler.toml gives them in this project. */
export const BINDING_NAMES = [
  'TOKEN_CACHE',
  'FLOWS',
  'ACCOUNTS',
  'DEVICE_FLOWS',
  'TOKEN_FLIGHTS',
  'SIGN_IN_RATE_LIMIT',
  'CACHE_BYPASS_RATE_LIMIT',
  'PASSWORD_RATE_LIMIT',
  'METRICS',
] as const;
export type BindingName = (typeof BINDING_NAMES)[number];

export interface WorkersRuntimeOptions {
  /** Your binding names, where they differ: `{ TOKEN_CACHE: 'AUTH_CACHE' }`. */
  bindings?: Partial<Record<BindingName, string>>;
  /** The settings (AUTHORITY, CLIENT_ID, …) from your env; default: the env's vars and secrets by name. */
  settings?: (env: Record<string, unknown>) => Record<string, unknown>;
  /** One JSON log line per request (and METRICS data points); default on. */
  requestLog?: boolean;
}

/** What the code reads: the settings, and the bindings under this project's names. */
type View = Record<string, unknown> & {
  TOKEN_CACHE?: KVNamespace;
  FLOWS?: DurableObjectNamespace<import('./flow-object.ts').FlowObject>;
  ACCOUNTS?: DurableObjectNamespace<import('./account-object.ts').AccountObject>;
  DEVICE_FLOWS?: DurableObjectNamespace<import('./device-flow-object.ts').DeviceFlowObject>;
  SIGN_IN_RATE_LIMIT?: RateLimit;
  CACHE_BYPASS_RATE_LIMIT?: RateLimit;
  PASSWORD_RATE_LIMIT?: RateLimit;
  METRICS?: DataPointWriter;
};

export function workersRuntime(options: WorkersRuntimeOptions = {}): Runtime {
  const names = options.bindings ?? {};
  const custom = options.settings !== undefined || Object.keys(names).length > 0;
  // One view per env object (stable for an isolate): the per-isolate caches keyed by it keep working.
  const views = new WeakMap<object, View>();
  const view = (env: Record<string, unknown>): View => {
    if (!custom) return env as View;
    let seen = views.get(env);
    if (!seen) {
      seen = { ...(options.settings ? options.settings(env) : env) } as View;
      for (const name of BINDING_NAMES) if (names[name] !== undefined) (seen as Record<string, unknown>)[name] = env[names[name]!];
      views.set(env, seen);
    }
    return seen;
  };
  setObjectEnvironment(view);
  const stores = new WeakMap<KVNamespace, KVCacheStore>();
  const envOf = (c: { env: unknown }) => view(c.env as Record<string, unknown>);
  const required = <T>(value: T | undefined, name: BindingName, kind: string): T => {
    if (!value) throw new ClientConfigurationError(names[name] ?? name, `${kind} binding is missing`);
    return value;
  };
  return {
    getDeps: (c) => {
      const env = envOf(c);
      const cache = required(env.TOKEN_CACHE, 'TOKEN_CACHE', 'KV');
      let store = stores.get(cache);
      if (!store) stores.set(cache, (store = new KVCacheStore(cache)));
      const fleet = tokenFlightsFor(env as Parameters<typeof tokenFlightsFor>[0]);
      return depsFor(env, store, cache, (input, init) => fetch(input, init), fleet ? { fleet } : {});
    },
    rateLimits: (c) => {
      const env = envOf(c);
      return {
        ...(env.SIGN_IN_RATE_LIMIT ? { signIn: new BindingRateLimiter(env.SIGN_IN_RATE_LIMIT) } : {}),
        ...(env.CACHE_BYPASS_RATE_LIMIT ? { cacheBypass: new BindingRateLimiter(env.CACHE_BYPASS_RATE_LIMIT) } : {}),
        ...(env.PASSWORD_RATE_LIMIT ? { password: new BindingRateLimiter(env.PASSWORD_RATE_LIMIT) } : {}),
      };
    },
    signInStores: (c) => {
      const env = envOf(c);
      return {
        flows: new DurableObjectFlowStore<PendingSignIn>(required(env.FLOWS, 'FLOWS', 'Durable Object')),
        accounts: new DurableObjectAccountSessions(required(env.ACCOUNTS, 'ACCOUNTS', 'Durable Object')),
        deviceFlows: new DurableObjectDeviceFlows(required(env.DEVICE_FLOWS, 'DEVICE_FLOWS', 'Durable Object')),
      };
    },
    ...(options.requestLog === false
      ? {}
      : {
          observe: requestLog<AppEnv>({
            // The optional [[analytics_engine_datasets]] binding METRICS (README "Logs and metrics"); without it, none.
            metrics: (c) => {
              const dataset = envOf(c).METRICS;
              return dataset ? analyticsEngineMetrics(dataset) : undefined;
            },
          }),
        }),
    waitUntil: (c) => {
      try {
        const ctx = c.executionCtx;
        return (promise) => ctx.waitUntil(promise);
      } catch {
        return undefined;
      }
    },
  };
}
