/**
 * The on-behalf-of grant as Entra defines it (RFC 7523 jwt-bearer with `requested_token_use=on_behalf_of`):
 * a middle-tier API exchanges the user's access token for a token to a downstream API, as that user.
 * Only the resource scopes are sent: no refresh token is asked for, the assertion is what authorises.
 */
import * as oauth from 'oauth4webapi';
import { client, clientAuthentication, parameters, processTokenResponse, requestOptions, type SendInit, type TokenEndpoint, type TokenResponse } from './token-endpoint.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface OnBehalfOfGrant {
  /** The user's access token for this API, as it arrived. */
  assertion: string;
  scopes: readonly string[];
  /** A claims challenge (JSON) from an earlier step-up. */
  claims?: string;
}

export function onBehalfOfRequest(endpoint: TokenEndpoint, grant: OnBehalfOfGrant, init: SendInit): Promise<Response> {
  return oauth.genericTokenEndpointRequest(
    endpoint.as,
    client(endpoint),
    clientAuthentication(endpoint),
    JWT_BEARER_GRANT,
    parameters({ assertion: grant.assertion, requested_token_use: 'on_behalf_of', scope: grant.scopes.join(' '), claims: grant.claims }),
    requestOptions(endpoint, init),
  );
}

/** @throws NetworkError `invalid_provider_response` for a body that is not a valid token response. */
export function processOnBehalfOfResponse(endpoint: Pick<TokenEndpoint, 'as' | 'clientId'>, response: Response, correlationId: string): Promise<TokenResponse> {
  return processTokenResponse(() => oauth.processGenericTokenEndpointResponse(endpoint.as, client(endpoint), response), correlationId);
}
