/**
 * What the handlers need, built once per isolate per configuration from the deployment's settings
 * and a CacheStore. Runtime entries (workers/, deno/) supply the store; nothing here is runtime-specific.
 * Route-specific settings (CALLERS, the sign-in settings) are parsed on first use, so a deployment
 * that serves only one kind of route need not configure the other.
 */
import { ClientConfigurationError, ConfidentialClientApplication, ProviderMetadataCache, normalizeScopes, optionalSetting, requireSetting, type CacheStore, type KeyedLock, type ProviderObserver, type Settings, type AuthenticationResult, type FleetFlights } from '../lib/mod.ts';
import { parseCallers, type Caller } from './callers.ts';
import { providerCallLog } from './request-log.ts';
import { parseWebSettings, type WebSettings } from './web-settings.ts';

export interface Deps {
  client: ConfidentialClientApplication;
  callers(): Caller[];
  web(): Promise<WebSettings>;
  /** OBO_SCOPES: the downstream scopes /token/obo hands out; the first is the demo middle tier's. */
  oboScopes(): readonly string[];
  /** ENABLE_PASSWORD_GRANT=true: /token/password exists (it is discouraged; see the README). */
  passwordGrantEnabled: boolean;
  /** DEMO_API_AUDIENCES: `aud` values the demo API accepts besides its scope's resource (an API's application id). */
  demoApiAudiences(): readonly string[];
  /** B2C's other user flows, when configured (B2C_PASSWORD_RESET_FLOW, B2C_PROFILE_EDIT_FLOW): a client each. */
  userFlowClient(flow: UserFlow): ConfidentialClientApplication | undefined;
}

/** B2C user flows besides sign-in, by the name /auth/login?flow= takes, and the setting naming each. */
export const USER_FLOW_SETTINGS = { password_reset: 'B2C_PASSWORD_RESET_FLOW', profile_edit: 'B2C_PROFILE_EDIT_FLOW' } as const;
export type UserFlow = keyof typeof USER_FLOW_SETTINGS;

export const SETTING_NAMES = [
  'AUTHORITY',
  'AUTHORITY_TYPE',
  'KNOWN_AUTHORITY_HOSTS',
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
  'REDIRECT_URI',
  'SPA_SCOPES',
  'SESSION_KEY',
  'ALLOWED_ORIGINS',
  'POST_LOGOUT_REDIRECT_URI',
  'ALLOWED_TENANTS',
  'API_AUDIENCES',
  'API_SCOPE',
  'OBO_SCOPES',
  'DEVICE_SCOPES',
  'DEVICE_SESSION_TTL',
  'ENABLE_PASSWORD_GRANT',
  'DEMO_API_AUDIENCES',
  'B2C_PASSWORD_RESET_FLOW',
  'B2C_PROFILE_EDIT_FLOW',
] as const;

function pickSettings(source: Settings): Settings {
  const picked: Settings = {};
  for (const name of SETTING_NAMES) if (typeof source[name] === 'string') picked[name] = source[name];
  return picked;
}

/**
 * Discovery documents and key sets, one per isolate for every client in it (the Worker's and each
 * account object's): the provider's metadata does not depend on who asks.
 */
const providerMetadata = new ProviderMetadataCache();

/** What a runtime entry may add to the client it gets. */
export interface DepsOptions {
  /**
   * The client's account locks, where processes share one account store (Deno KV: a lease in it); absent,
   * the client's own in-isolate KeyedMutex (Workers, where each account has its Durable Object).
   */
  accountLocks?: KeyedLock;
  /** Told of the client's provider calls (depsFor: the request log's). */
  observer?: ProviderObserver;
  /** Fleet-wide single flight for app-only and on-behalf-of misses (Workers: workers/token-flights.ts). */
  fleet?: FleetFlights<AuthenticationResult>;
}

const byStore = new WeakMap<object, Map<string, Promise<Deps>>>();

/**
 * Deps for these settings, reused across requests of this isolate so that the memory cache layer,
 * discovery, single-flight and throttling state survive between requests. A failed build is not kept.
 */
export function depsFor(settings: Settings, store: CacheStore, storeIdentity: object, fetchImpl: typeof fetch, options: DepsOptions = {}): Promise<Deps> {
  const fingerprint = SETTING_NAMES.map((name) => String(settings[name] ?? '')).join('\u0000');
  let perStore = byStore.get(storeIdentity);
  if (!perStore) byStore.set(storeIdentity, (perStore = new Map()));
  const existing = perStore.get(fingerprint);
  if (existing) return existing;
  // These deps serve requests: their clients' provider calls go on the requests' log lines.
  const built = createDeps(settings, store, fetchImpl, { observer: providerCallLog, ...options });
  perStore.set(fingerprint, built);
  built.catch(() => perStore.delete(fingerprint));
  return built;
}

/**
 * New deps, not shared: for an owner that keeps its own (a Durable Object keeps one client, so one
 * refresh lock and one memory layer, per object). Only the settings this app knows are read.
 */
export async function createDeps(source: Settings, store: CacheStore, fetchImpl: typeof fetch, options: DepsOptions = {}): Promise<Deps> {
  const settings = pickSettings(source);
  const client = await ConfidentialClientApplication.fromSettings(settings, {
    cacheStore: store,
    fetch: fetchImpl,
    metadata: providerMetadata,
    ...(options.accountLocks ? { accountLocks: options.accountLocks } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.fleet ? { fleet: options.fleet } : {}),
  });
  let callers: Caller[] | undefined;
  let oboScopes: readonly string[] | undefined;
  let web: Promise<WebSettings> | undefined;
  const userFlowClients = new Map<UserFlow, ConfidentialClientApplication>();
  return {
    client,
    callers: () => (callers ??= parseCallers(settings.CALLERS)),
    oboScopes: () => (oboScopes ??= parseScopeList(settings, 'OBO_SCOPES')),
    demoApiAudiences: () => (optionalSetting(settings, 'DEMO_API_AUDIENCES') ?? '').split(/[\s,]+/).filter(Boolean),
    passwordGrantEnabled: String(settings.ENABLE_PASSWORD_GRANT ?? '').trim().toLowerCase() === 'true',
    userFlowClient: (flow) => {
      const policy = optionalSetting(settings, USER_FLOW_SETTINGS[flow]);
      if (!policy) return undefined;
      let built = userFlowClients.get(flow);
      if (!built) userFlowClients.set(flow, (built = client.forUserFlow(policy, USER_FLOW_SETTINGS[flow])));
      return built;
    },
    web: () => {
      web ??= parseWebSettings(settings);
      web.catch(() => (web = undefined));
      return web;
    },
  };
}

/** A required setting of space- or comma-separated scopes, in the order given. */
function parseScopeList(settings: Settings, name: string): readonly string[] {
  const raw = requireSetting(settings, name);
  const scopes = raw.split(/[\s,]+/).filter(Boolean);
  try {
    normalizeScopes(scopes);
    return scopes;
  } catch {
    throw new ClientConfigurationError(name, 'must be space- or comma-separated scopes');
  }
}
