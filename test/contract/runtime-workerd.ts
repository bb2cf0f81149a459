/**
 * The contract suite's deployment inside workerd: the Worker module's fetch with the pool's bindings (real
 * KV, Durable Objects and rate limiters) and the test's settings, each request with an execution context
 * that is waited on (as test/workers/harness.ts `call`). Loaded by target.ts only under vitest.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { inject } from 'vitest';
import worker, { type Env } from '../../functions/workers/index.ts';
import { SIGN_IN_SETTINGS, type App, type ContractIdp, type Runtime, type Settings } from './deployment.ts';

const info = inject('idp');
const idp: ContractIdp = {
  origin: info.origin,
  authority: info.authority,
  authoritySecondary: info.authoritySecondary,
  tenants: info.tenants,
  webApp: info.webApp,
};

/**
 * The base settings are vitest.config.ts's bindings, which the Durable Objects read: a deployment whose
 * Worker had other sign-in settings than its objects would be no deployment at all.
 */
const bindings = env as unknown as Record<string, unknown>;
const baseSettings: Settings = {};
for (const name of ['AUTHORITY', 'CLIENT_ID', 'CLIENT_SECRET', 'TOKEN_CACHE_KEY', 'SESSION_KEY', ...Object.keys(SIGN_IN_SETTINGS)]) {
  const value = bindings[name];
  if (typeof value !== 'string') throw new Error(`vitest.config.ts binds no ${name}: the contract suite needs the sign-in settings there`);
  baseSettings[name] = value;
}
for (const [name, value] of Object.entries({ ...SIGN_IN_SETTINGS, AUTHORITY: idp.authority, CLIENT_ID: idp.webApp.clientId, CLIENT_SECRET: idp.webApp.clientSecret })) {
  if (baseSettings[name] !== value) throw new Error(`vitest.config.ts binds ${name} to another value than the contract suite's base deployment`);
}

async function deployment(settings: Settings): Promise<App> {
  // The bindings (TOKEN_CACHE, FLOWS, ACCOUNTS, DEVICE_FLOWS, the rate limiters) with this deployment's
  // settings: only the sign-in settings of the bindings reach the Durable Objects.
  const workerEnv = { ...bindings, ...settings } as Env;
  for (const name of Object.keys(bindings)) if (typeof bindings[name] === 'string' && !(name in settings)) delete workerEnv[name];
  return {
    settings,
    async fetch(request: Request): Promise<Response> {
      const ctx = createExecutionContext();
      const response = await worker.fetch(request, workerEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
  };
}

export const runtime: Runtime = { name: 'workerd', idp, baseSettings, deployment };
