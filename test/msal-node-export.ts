/**
 * Real msal-node cache exports for the Workers tests of POST /accounts/import (they run in workerd, where
 * msal-node cannot): in global setup (Node), msal-node signs users in at the local provider and
 * `serialize()`s its cache. Two ways: Alice and Bob with their passwords at the primary Entra tenant
 * (`msalNodeExport`), and Alice through msal-node's auth code flow (PKCE) at any authority the provider
 * serves, Entra by domain, B2C, AD FS, plain OIDC (`msalNodeAuthCodeExport`), with the msal-node
 * configuration test/idp/smoke-msal-authorities.mjs uses per kind.
 *
 * msal-node refuses an authority that is not https, and the provider the Worker uses is plain http (workerd
 * would not trust a self-signed certificate). So msal-node is given the https form of the provider's
 * address and a network module that sends its requests to the http one, writing the http origin in the
 * discovery answers back as https; the authorize URL it builds is sent to the http origin too. The tokens
 * are untouched: the export holds what the provider issued, filed under the same environment (host and
 * port) as the Worker's own entries.
 */
import {
  ConfidentialClientApplication,
  CryptoProvider,
  LogLevel,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
  type ProtocolMode,
} from '@azure/msal-node';
// @ts-expect-error plain JS module without types
import { loginHeadless } from './idp/headless-login.mjs';

export interface MsalNodeExportOptions {
  /** The provider's http origin, e.g. http://127.0.0.1:PORT. */
  origin: string;
  tenant: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  users: readonly { username: string; password: string }[];
}

/** msal-node's `serialize()` after a password sign-in of each user, one cache holding them all. */
export async function msalNodeExport(options: MsalNodeExportOptions): Promise<string> {
  const cca = msalNodeClient({ ...options, authority: `${options.origin}/${options.tenant}/` });
  for (const user of options.users) {
    await cca.acquireTokenByUsernamePassword({ username: user.username, password: user.password, scopes: options.scopes });
  }
  return cca.getTokenCache().serialize();
}

export interface MsalNodeAuthCodeExportOptions {
  /** The provider's http origin, e.g. http://127.0.0.1:PORT. */
  origin: string;
  /** The authority as the provider serves it (http), e.g. `${origin}/adfs/`; msal-node is given its https form. */
  authority: string;
  /** msal-node's protocol mode: `OIDC` for a plain OpenID provider (default AAD). */
  protocolMode?: 'AAD' | 'OIDC';
  clientId: string;
  clientSecret: string;
  /** Registered at the provider for the client; the flow stops at it (no one listens there). */
  redirectUri: string;
  scopes: string[];
  user: { username: string; password: string };
}

/**
 * msal-node's `serialize()` after one user signed in through its auth code flow (PKCE): getAuthCodeUrl,
 * the provider's login and consent pages filled in headlessly, acquireTokenByCode.
 */
export async function msalNodeAuthCodeExport(options: MsalNodeAuthCodeExportOptions): Promise<string> {
  const cca = msalNodeClient(options);
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const { scopes, redirectUri } = options;
  const authorizeUrl = toProvider(options.origin, await cca.getAuthCodeUrl({ scopes, redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256' }));
  const callback = new URL(await loginHeadless({ origin: options.origin }, { authorizeUrl, username: options.user.username, password: options.user.password }));
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no authorization code: ${callback.search}`);
  await cca.acquireTokenByCode({ code, scopes, redirectUri, codeVerifier: verifier });
  return cca.getTokenCache().serialize();
}

/** The https form of the provider's origin, which msal-node is given. */
function secureOriginOf(origin: string): string {
  return origin.replace(/^http:/, 'https:');
}

/** A URL msal-node built on the https form, sent to the provider's http origin. */
function toProvider(origin: string, url: string): string {
  const secureOrigin = secureOriginOf(origin);
  return url.startsWith(secureOrigin) ? origin + url.slice(secureOrigin.length) : url;
}

/** A confidential client of msal-node at the https form of `authority`, talking to the http provider. */
function msalNodeClient(options: { origin: string; authority: string; protocolMode?: 'AAD' | 'OIDC'; clientId: string; clientSecret: string }): ConfidentialClientApplication {
  const { origin } = options;
  const secureOrigin = secureOriginOf(origin);
  const send = async <T>(url: string, method: 'GET' | 'POST', request?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const response = await fetch(toProvider(origin, url), { method, headers: request?.headers ?? {}, ...(method === 'POST' ? { body: request?.body ?? '' } : {}) });
    const text = (await response.text()).split(origin).join(secureOrigin);
    return { headers: Object.fromEntries(response.headers), body: JSON.parse(text) as T, status: response.status };
  };
  const networkClient: INetworkModule = {
    sendGetRequestAsync: (url, request) => send(url, 'GET', request),
    sendPostRequestAsync: (url, request) => send(url, 'POST', request),
  };
  return new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      authority: secureOriginOf(options.authority),
      knownAuthorities: [new URL(origin).host],
    },
    system: {
      networkClient,
      ...(options.protocolMode ? { protocolMode: options.protocolMode as ProtocolMode } : {}),
      loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => {} },
    },
  });
}
