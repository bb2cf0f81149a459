/**
 * Settings of the browser sign-in (backend-for-frontend) routes, parsed once: where the provider sends
 * the user back, which scopes the SPA may obtain, which origins may call, and the cookie policy.
 */
import { ClientConfigurationError, deriveSealingKey, integerSetting, normalizeScopes, optionalSetting, requireSetting, type Settings } from '../lib/mod.ts';
import { allowedScopes } from './allowed-scopes.ts';

export interface WebSettings {
  redirectUri: URL;
  spaScopes: string[];
  /** SPA_SCOPES as the allow-list of /auth/token. */
  spaScopeAllowList: ReadonlySet<string>;
  allowedOrigins: Set<string>;
  postLogoutRedirectUri: string | undefined;
  sessionKey: CryptoKey;
  /** `__Host-` names and `Secure` everywhere except plain-http localhost development. */
  secureCookies: boolean;
  /** DEVICE_SCOPES as the allow-list of /device/start (empty: the device flow is not offered). */
  deviceScopeAllowList: ReadonlySet<string>;
  /** DEVICE_SESSION_TTL: how long a session key (a device's, a script's) lives, in seconds. */
  deviceSessionTtlSeconds: number;
}

/** A device signs in once and stays signed in for a season, as Entra's refresh tokens allow (90 days). */
export const DEFAULT_DEVICE_SESSION_TTL_SECONDS = 90 * 24 * 60 * 60;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export async function parseWebSettings(settings: Settings): Promise<WebSettings> {
  let redirectUri: URL;
  try {
    redirectUri = new URL(requireSetting(settings, 'REDIRECT_URI'));
  } catch (error) {
    if (error instanceof ClientConfigurationError) throw error;
    throw new ClientConfigurationError('REDIRECT_URI', 'is not an absolute URL');
  }
  const local = redirectUri.protocol === 'http:' && LOCAL_HOSTS.has(redirectUri.hostname);
  if (redirectUri.protocol !== 'https:' && !local) throw new ClientConfigurationError('REDIRECT_URI', 'must use https (http only for localhost)');
  if (redirectUri.search || redirectUri.hash) throw new ClientConfigurationError('REDIRECT_URI', 'must not have a query or fragment');

  const spaScopes = scopeListSetting(settings, 'SPA_SCOPES');
  const deviceScopes = scopeListSetting(settings, 'DEVICE_SCOPES');

  const origins = (optionalSetting(settings, 'ALLOWED_ORIGINS') ?? redirectUri.origin).split(/[\s,]+/).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) throw new ClientConfigurationError('ALLOWED_ORIGINS', 'must list origins such as https://app.example.com');
  }

  const postLogout = optionalSetting(settings, 'POST_LOGOUT_REDIRECT_URI');
  if (postLogout !== undefined) {
    try {
      new URL(postLogout);
    } catch {
      throw new ClientConfigurationError('POST_LOGOUT_REDIRECT_URI', 'is not an absolute URL');
    }
  }

  return {
    redirectUri,
    spaScopes,
    spaScopeAllowList: allowedScopes(spaScopes),
    allowedOrigins: new Set(origins),
    postLogoutRedirectUri: postLogout,
    sessionKey: await deriveSealingKey(requireSetting(settings, 'SESSION_KEY'), 'SESSION_KEY', 'session-cookies/v1'),
    secureCookies: !local,
    deviceScopeAllowList: allowedScopes(deviceScopes),
    deviceSessionTtlSeconds: integerSetting(settings, 'DEVICE_SESSION_TTL', DEFAULT_DEVICE_SESSION_TTL_SECONDS, 60, 400 * 24 * 60 * 60),
  };
}

/** An optional setting of space- or comma-separated scopes; absent is none. */
function scopeListSetting(settings: Settings, name: string): string[] {
  const raw = optionalSetting(settings, name) ?? '';
  try {
    return raw === '' ? [] : normalizeScopes(raw.split(/[\s,]+/).filter(Boolean));
  } catch {
    throw new ClientConfigurationError(name, 'must be space- or comma-separated scopes');
  }
}
