/**
 * The token endpoint as every grant talks to it: the oauth4webapi client, client authentication and
 * request options built in one place, and the answer normalised into one TokenResponse. Each grant
 * (client-credentials.ts, authorization-code.ts, refresh.ts, …) is a request/process pair on top.
 */
import * as oauth from 'oauth4webapi';
import { NetworkError } from '../errors.ts';
import type { Authority } from './authority.ts';
import { clientAuthenticationFor, type ClientCredential } from './client-auth.ts';
import { CLOCK_SKEW_SECONDS } from './id-token.ts';

/** Who is asking which provider: everything a grant request needs besides its own parameters. */
export interface TokenEndpoint {
  as: oauth.AuthorizationServer;
  authority: Authority;
  clientId: string;
  credential: ClientCredential;
  fetch: typeof fetch;
}

/** What provider-http hands each attempt: its timeout signal and the correlation headers. */
export interface SendInit {
  signal: AbortSignal;
  headers: Headers;
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

export function client(endpoint: Pick<TokenEndpoint, 'clientId'>): oauth.Client {
  return { client_id: endpoint.clientId, [oauth.clockTolerance]: CLOCK_SKEW_SECONDS };
}

export function clientAuthentication(endpoint: TokenEndpoint): oauth.ClientAuth {
  return clientAuthenticationFor(endpoint.credential, endpoint.as);
}

/** oauth4webapi's options for one attempt: our fetch, the timeout, loopback http only where allowed. */
export function requestOptions(
  endpoint: TokenEndpoint,
  init: SendInit,
  additionalParameters?: Record<string, string>,
): oauth.TokenEndpointRequestOptions {
  return {
    signal: init.signal,
    headers: init.headers,
    ...(additionalParameters ? { additionalParameters } : {}),
    [oauth.customFetch]: endpoint.fetch,
    [oauth.allowInsecureRequests]: endpoint.authority.allowInsecure,
  };
}

/** Drops parameters that are not set, so that an absent option never goes out as an empty one. */
export function parameters(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

/**
 * Runs oauth4webapi's processing of a successful answer.
 * @throws NetworkError `invalid_provider_response` for a body that is not a valid token response.
 */
export async function processTokenResponse(
  process: () => Promise<oauth.TokenEndpointResponse>,
  correlationId: string,
): Promise<TokenResponse> {
  let body: oauth.TokenEndpointResponse;
  try {
    body = await process();
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
