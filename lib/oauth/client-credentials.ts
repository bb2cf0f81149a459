/**
 * The client credentials grant (RFC 6749 §4.4) as a request/process pair over oauth4webapi. No
 * storage, no retry policy: those belong to the caller (flows) and provider-http.
 */
import * as oauth from 'oauth4webapi';
import { NetworkError } from '../errors.ts';
import type { Authority } from './authority.ts';
import { clientAuthenticationFor, type ClientCredential } from './client-auth.ts';

export interface ClientCredentialsRequest {
  as: oauth.AuthorizationServer;
  authority: Authority;
  clientId: string;
  credential: ClientCredential;
  scopes: readonly string[];
  claims?: string;
  fetch: typeof fetch;
}

export function clientCredentialsRequest(
  request: ClientCredentialsRequest,
  init: { signal: AbortSignal; headers: Headers },
): Promise<Response> {
  const parameters = new URLSearchParams({ scope: request.scopes.join(' ') });
  if (request.claims) parameters.set('claims', request.claims);
  return oauth.clientCredentialsGrantRequest(
    request.as,
    { client_id: request.clientId },
    clientAuthenticationFor(request.credential, request.as),
    parameters,
    {
      signal: init.signal,
      headers: init.headers,
      [oauth.customFetch]: request.fetch,
      [oauth.allowInsecureRequests]: request.authority.allowInsecure,
    },
  );
}

/** A validated token endpoint answer, with Entra's extra fields coerced to numbers. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  ext_expires_in?: number;
  refresh_in?: number;
  scope?: string;
}

/** @throws NetworkError `invalid_provider_response` for a body that is not a valid token response. */
export async function processClientCredentialsResponse(
  request: Pick<ClientCredentialsRequest, 'as' | 'clientId'>,
  response: Response,
  correlationId: string,
): Promise<TokenResponse> {
  let body: oauth.TokenEndpointResponse;
  try {
    body = await oauth.processClientCredentialsResponse(request.as, { client_id: request.clientId }, response);
  } catch (cause) {
    throw new NetworkError('invalid_provider_response', `The token endpoint answered with an invalid token response: ${(cause as Error).message}`, correlationId);
  }
  return normalizeTokenResponse(body, correlationId);
}

export function normalizeTokenResponse(body: oauth.TokenEndpointResponse, correlationId: string): TokenResponse {
  const expiresIn = toSeconds(body.expires_in);
  if (expiresIn === undefined || expiresIn <= 0) {
    throw new NetworkError('invalid_provider_response', 'The token response has no valid expires_in', correlationId);
  }
  const result: TokenResponse = { access_token: body.access_token, token_type: body.token_type, expires_in: expiresIn };
  const ext = toSeconds(body.ext_expires_in);
  const refresh = toSeconds(body.refresh_in);
  if (ext !== undefined) result.ext_expires_in = ext;
  if (refresh !== undefined) result.refresh_in = refresh;
  if (typeof body.scope === 'string') result.scope = body.scope;
  return result;
}

/** Entra's v1-style endpoints send numbers as strings; both MSALs coerce them. */
function toSeconds(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? Math.floor(n) : undefined;
}
