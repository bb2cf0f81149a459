/** The refresh token grant (RFC 6749 §6) as MSAL sends it: decorated scopes, `client_info=1`, optional claims. */
import * as oauth from 'oauth4webapi';
import type { Authority } from './authority.ts';
import { withOidcScopes } from '../scopes.ts';
import { clientAuthenticationFor, type ClientCredential } from './client-auth.ts';

export interface RefreshRequest {
  as: oauth.AuthorizationServer;
  authority: Authority;
  clientId: string;
  credential: ClientCredential;
  refreshToken: string;
  scopes: readonly string[];
  claims?: string;
  fetch: typeof fetch;
}

export function refreshTokenRequest(request: RefreshRequest, init: { signal: AbortSignal; headers: Headers }): Promise<Response> {
  const additionalParameters: Record<string, string> = {
    scope: withOidcScopes(request.scopes),
    client_info: '1',
  };
  if (request.claims) additionalParameters.claims = request.claims;
  return oauth.refreshTokenGrantRequest(
    request.as,
    { client_id: request.clientId },
    clientAuthenticationFor(request.credential, request.as),
    request.refreshToken,
    {
      signal: init.signal,
      headers: init.headers,
      additionalParameters,
      [oauth.customFetch]: request.fetch,
      [oauth.allowInsecureRequests]: request.authority.allowInsecure,
    },
  );
}
