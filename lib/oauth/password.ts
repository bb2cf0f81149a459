/**
 * The resource owner password credentials grant (RFC 6749 §4.3) as MSAL sends it
 * (`acquireTokenByUsernamePassword`): `username`, `password`, the scopes decorated with
 * `openid profile offline_access`, `client_info=1`. The answer must carry an ID token, validated like a
 * sign-in's but without a nonce (there was no authorization request to carry one).
 *
 * The password goes into the form body only: never into a URL, a header, an error or a log.
 */
import * as oauth from 'oauth4webapi';
import { NetworkError } from '../errors.ts';
import { withOidcScopes } from '../scopes.ts';
import type { IdTokenContext } from './id-token.ts';
import { client, clientAuthentication, parameters, requestOptions, type SendInit, type TokenEndpoint } from './token-endpoint.ts';
import { processUserTokenResponse, type UserTokenResponse } from './user-token-response.ts';

export const PASSWORD_GRANT = 'password';

export interface PasswordGrant {
  username: string;
  password: string;
  scopes: readonly string[];
  /** A claims challenge (JSON). */
  claims?: string;
}

export function passwordRequest(endpoint: TokenEndpoint, grant: PasswordGrant, init: SendInit): Promise<Response> {
  return oauth.genericTokenEndpointRequest(
    endpoint.as,
    client(endpoint),
    clientAuthentication(endpoint),
    PASSWORD_GRANT,
    // `parameters` would drop an empty password; the grant refuses one before this point.
    { ...parameters({ username: grant.username, scope: withOidcScopes(grant.scopes), client_info: '1', claims: grant.claims }), password: grant.password },
    requestOptions(endpoint, init),
  );
}

/**
 * A sign-in answer: the ID token is required and validated (signature, `iss`, `aud`, `exp`/`iat`, tenant;
 * no nonce).
 * @throws NetworkError `invalid_provider_response` / `invalid_id_token` (also for an answer without one, as for a code)
 */
export async function processPasswordResponse(ctx: IdTokenContext, response: Response, correlationId: string): Promise<UserTokenResponse> {
  const tokens = await processUserTokenResponse(ctx, response, correlationId, {
    idToken: 'optional',
    process: (as, oauthClient) => oauth.processGenericTokenEndpointResponse(as, oauthClient, response),
  });
  if (!tokens.idTokenClaims) {
    throw new NetworkError('invalid_id_token', 'The ID token was rejected: missing', correlationId);
  }
  return tokens;
}
