/**
 * Settings of the browser sign-in (backend-for-frontend) routes, parsed once: where the provider sends
 * the user back, which scopes the SPA may obtain, which origins may call, and the cookie policy.
 */
import { ClientConfigurationError, deriveSealingKey, normalizeScopes, optionalSetting, requireSetting, type Settings } from '../lib/mod.ts';
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
}

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

  let spaScopes: string[];
  try {
    const raw = optionalSetting(settings, 'SPA_SCOPES') ?? '';
    spaScopes = raw === '' ? [] : normalizeScopes(raw.split(/[\s,]+/).filter(Boolean));
  } catch {
    throw new ClientConfigurationError('SPA_SCOPES', 'must be space- or comma-separated scopes');
  }

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
  };
}
