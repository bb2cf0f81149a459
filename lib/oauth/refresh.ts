/**
 * The refresh token grant (RFC 6749 §6) as MSAL sends it — decorated scopes, `client_info=1`, optional
 * claims — and its answer, whose ID token (when there is one) is validated like a sign-in's.
 */
import * as oauth from 'oauth4webapi';
import { withOidcScopes } from '../scopes.ts';
import type { IdTokenContext } from './id-token.ts';
import { client, clientAuthentication, parameters, requestOptions, type SendInit, type TokenEndpoint } from './token-endpoint.ts';
import { processUserTokenResponse, type UserTokenResponse } from './user-token-response.ts';

export interface RefreshTokenGrant {
  refreshToken: string;
  scopes: readonly string[];
  claims?: string;
}

export function refreshTokenRequest(endpoint: TokenEndpoint, grant: RefreshTokenGrant, init: SendInit): Promise<Response> {
  return oauth.refreshTokenGrantRequest(
    endpoint.as,
    client(endpoint),
    clientAuthentication(endpoint),
    grant.refreshToken,
    requestOptions(endpoint, init, parameters({ scope: withOidcScopes(grant.scopes), client_info: '1', claims: grant.claims })),
  );
}

/** @throws NetworkError `invalid_provider_response` / `invalid_id_token` */
export function processRefreshTokenResponse(ctx: IdTokenContext, response: Response, correlationId: string): Promise<UserTokenResponse> {
  return processUserTokenResponse(ctx, response, correlationId, {
    idToken: 'optional',
    process: (as, oauthClient) => oauth.processRefreshTokenResponse(as, oauthClient, response),
  });
}
