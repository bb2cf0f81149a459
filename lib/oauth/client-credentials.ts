/** The client credentials grant (RFC 6749 §4.4): an app-only token for `scopes`, as a request/process pair. */
import * as oauth from 'oauth4webapi';
import { client, clientAuthentication, parameters, processTokenResponse, requestOptions, type SendInit, type TokenEndpoint, type TokenResponse } from './token-endpoint.ts';

export interface ClientCredentialsGrant {
  scopes: readonly string[];
  /** A claims challenge (JSON). */
  claims?: string;
}

export function clientCredentialsRequest(endpoint: TokenEndpoint, grant: ClientCredentialsGrant, init: SendInit): Promise<Response> {
  return oauth.clientCredentialsGrantRequest(
    endpoint.as,
    client(endpoint),
    clientAuthentication(endpoint),
    parameters({ scope: grant.scopes.join(' '), claims: grant.claims }),
    requestOptions(endpoint, init),
  );
}

/** @throws NetworkError `invalid_provider_response` for a body that is not a valid token response. */
export function processClientCredentialsResponse(
  endpoint: Pick<TokenEndpoint, 'as' | 'clientId'>,
  response: Response,
  correlationId: string,
): Promise<TokenResponse> {
  return processTokenResponse(() => oauth.processClientCredentialsResponse(endpoint.as, client(endpoint), response), correlationId);
}
