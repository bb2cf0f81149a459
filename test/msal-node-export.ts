/**
 * A real msal-node cache export for the Workers tests of POST /accounts/import (they run in workerd, where
 * msal-node cannot): in global setup (Node), msal-node signs Alice and Bob in at the local provider with
 * their passwords and `serialize()`s its cache.
 *
 * msal-node refuses an authority that is not https, and the provider the Worker uses is plain http (workerd
 * would not trust a self-signed certificate). So msal-node is given the https form of the provider's
 * address and a network module that sends its requests to the http one, writing the http origin in the
 * discovery answers back as https. The tokens are untouched: the export holds what the provider issued,
 * filed under the same environment (host and port) as the Worker's own entries.
 */
import { ConfidentialClientApplication, LogLevel, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';

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
  const secureOrigin = options.origin.replace(/^http:/, 'https:');
  const toProvider = (url: string) => (url.startsWith(secureOrigin) ? options.origin + url.slice(secureOrigin.length) : url);
  const send = async <T>(url: string, method: 'GET' | 'POST', request?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const response = await fetch(toProvider(url), { method, headers: request?.headers ?? {}, ...(method === 'POST' ? { body: request?.body ?? '' } : {}) });
    const text = (await response.text()).split(options.origin).join(secureOrigin);
    return { headers: Object.fromEntries(response.headers), body: JSON.parse(text) as T, status: response.status };
  };
  const networkClient: INetworkModule = {
    sendGetRequestAsync: (url, request) => send(url, 'GET', request),
    sendPostRequestAsync: (url, request) => send(url, 'POST', request),
  };
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      authority: `${secureOrigin}/${options.tenant}/`,
      knownAuthorities: [new URL(options.origin).host],
    },
    system: { networkClient, loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => {} } },
  });
  for (const user of options.users) {
    await cca.acquireTokenByUsernamePassword({ username: user.username, password: user.password, scopes: options.scopes });
  }
  return cca.getTokenCache().serialize();
}
