/**
 * The deployment under test, one for every contract test whichever runtime runs them: the Worker inside
 * workerd (vitest + @cloudflare/vitest-plugin) or the Deno handler (`deno test`). The tests see only this:
 *
 * - `app(overrides?)`: the deployment with the base settings (deployment.ts's sign-in settings, the
 *   provider's authority and client, a token cache key and a session key fixed for the run, and fresh
 *   `CALLERS`), plus a test's overrides of the Worker-side settings (CALLERS, DEVICE_SCOPES,
 *   ENABLE_PASSWORD_GRANT, DEVICE_SESSION_TTL, OBO_SCOPES, API_SCOPE, AUTHORITY for app tokens, …;
 *   `undefined` removes one). On workerd the Durable Objects read their settings from vitest.config.ts's
 *   bindings, whatever a test hands the Worker: the base settings are those bindings, and a test that signs
 *   a user in overrides no sign-in setting (AUTHORITY, CLIENT_*, TOKEN_CACHE_KEY, SESSION_KEY, REDIRECT_URI,
 *   SPA_SCOPES). Every `app()` of a run shares one store (workerd: the pool's KV and Durable Objects; Deno:
 *   one Deno KV), as one deployment's processes do.
 * - `provider`: the local identity provider's test controls (`/_control/*` over HTTP).
 * - `idp`: where the provider is, its tenants and the web app's client.
 *
 * Each runtime's module is loaded only on that runtime (the specifier is computed, so neither Deno's
 * type-check nor vite follows the other's): Deno never sees cloudflare:test, workerd never sees Deno.
 *
 *   workerd: npx vitest run -c test/contract/vitest.config.ts [files]   (or the project's config, which includes test/contract)
 *   Deno:    node test/contract/run-deno.mjs [files]                     (starts the provider, sets IDP_INFO)
 */

import { randomKey, type App, type ContractIdp, type Overrides, type Runtime, type Settings } from './deployment.ts';

export { APP_ORIGIN, SIGN_IN_SETTINGS, randomKey } from './deployment.ts';
export type { App, ContractIdp, Overrides, Settings } from './deployment.ts';

const isDeno = (globalThis as { Deno?: unknown }).Deno !== undefined;
// Computed, so that neither runtime's module graph holds the other's module.
const runtimeModule = isDeno ? './runtime-deno.ts' : './runtime-workerd.ts';
const loaded = (await import(/* @vite-ignore */ runtimeModule)) as { runtime: Runtime };

export const runtime: Runtime = loaded.runtime;
export const idp: ContractIdp = runtime.idp;

/** The callers of the base deployment: `orders` may get api://downstream/.default, `reports` api://other/.default. */
export const callers = {
  orders: { key: 'orders-caller-key-0123456789abcdef', scopes: ['api://downstream/.default'] },
  reports: { key: 'reports-caller-key-0123456789abcde', scopes: ['api://other/.default'] },
} as const;

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * CALLERS naming `callers` with ids of their own: per-caller state that outlives a request (the
 * cache-bypass and sign-in rate limits) starts empty for every deployment.
 */
async function baseCallers(): Promise<string> {
  const run = crypto.randomUUID().slice(0, 8);
  const entries = await Promise.all(
    Object.entries(callers).map(async ([id, c]) => [`${id}-${run}`, { key_sha256: await sha256Hex(c.key), scopes: c.scopes }] as const),
  );
  return JSON.stringify(Object.fromEntries(entries));
}

/** The deployment with the base settings and these overrides (`undefined` removes a setting). */
export async function app(overrides: Overrides = {}): Promise<App> {
  const settings: Settings = { ...runtime.baseSettings, CALLERS: await baseCallers() };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete settings[name];
    else settings[name] = value;
  }
  return runtime.deployment(settings);
}

/**
 * A token cache key of its own, for a deployment whose app tokens no other test has cached (its cache is
 * cold). Only for tests that sign no user in: the account stores keep the base deployment's key.
 */
export function ownTokenCache(): Overrides {
  return { TOKEN_CACHE_KEY: randomKey() };
}

export interface Fault {
  endpoint: string;
  kind: string;
  times?: number;
  retryAfter?: number;
  delayMs?: number;
}

async function control(path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${idp.origin}/_control/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const json = (await response.json()) as unknown;
  if (!response.ok) throw new Error(`the provider refused /_control/${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** The local provider's test controls. */
export const provider = {
  /** Counters, faults, token lifetimes and the device code interval back to their defaults. */
  async reset(): Promise<void> {
    await control('reset', {});
  },
  /** Requests by endpoint since the last reset, e.g. `token:client_credentials`, `token:refresh_token`, `devicecode`. */
  async counts(): Promise<Record<string, number>> {
    return (await control('counts')) as Record<string, number>;
  },
  async count(endpoint: string): Promise<number> {
    return (await this.counts())[endpoint] ?? 0;
  },
  /** The next matching request(s) fail this way (test/idp/faults.mjs). */
  async fault(fault: Fault): Promise<void> {
    await control('fault', fault);
  },
  async tokenLifetime(lifetime: { accessTokenTtl?: number; refreshIn?: number }): Promise<void> {
    await control('token-lifetime', lifetime);
  },
  /** The polling interval the provider's device authorization endpoint answers (seconds). */
  async deviceInterval(seconds: number): Promise<void> {
    await control('device-interval', { interval: seconds });
  },
};
