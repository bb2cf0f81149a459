/**
 * What the handlers need, built once per isolate per configuration from the deployment's settings
 * and a CacheStore. Runtime entries (workers/, deno/) supply the store; nothing here is runtime-specific.
 */
import {
  ConfidentialClientApplication,
  ThrottlingCache,
  TokenCache,
  parseClientSettings,
  type CacheStore,
  type Settings,
} from '../lib/mod.ts';
import { parseCallers, type Caller } from './callers.ts';

export interface Deps {
  client: ConfidentialClientApplication;
  callers: Caller[];
}

const SETTING_NAMES = [
  'AUTHORITY',
  'AUTHORITY_TYPE',
  'CLIENT_ID',
  'CLIENT_SECRET',
  'CLIENT_SECRET_METHOD',
  'CLIENT_CERTIFICATE',
  'CLIENT_CERTIFICATE_THUMBPRINT',
  'CLIENT_CERTIFICATE_ALGORITHM',
  'TOKEN_CACHE_KEY',
  'CALLERS',
  'PROVIDER_TIMEOUT_MS',
  'PROVIDER_RETRY_DELAY_MS',
] as const;

const byStore = new WeakMap<object, Map<string, Promise<Deps>>>();

/**
 * Deps for these settings, reused across requests of this isolate so that the memory cache layer,
 * discovery, single-flight and throttling state survive between requests. A failed build is not kept.
 */
export function depsFor(settings: Settings, store: CacheStore, storeIdentity: object, fetchImpl: typeof fetch): Promise<Deps> {
  const fingerprint = SETTING_NAMES.map((name) => String(settings[name] ?? '')).join('\u0000');
  let perStore = byStore.get(storeIdentity);
  if (!perStore) byStore.set(storeIdentity, (perStore = new Map()));
  const existing = perStore.get(fingerprint);
  if (existing) return existing;
  const built = buildDeps(settings, store, fetchImpl);
  perStore.set(fingerprint, built);
  built.catch(() => perStore.delete(fingerprint));
  return built;
}

async function buildDeps(settings: Settings, store: CacheStore, fetchImpl: typeof fetch): Promise<Deps> {
  const callers = parseCallers(settings.CALLERS);
  const { client, sealingKey } = await parseClientSettings(settings);
  return {
    callers,
    client: new ConfidentialClientApplication(client, {
      cache: new TokenCache(store, sealingKey),
      throttling: new ThrottlingCache(),
      fetch: fetchImpl,
      now: () => Date.now(),
    }),
  };
}
