/**
 * The device authorization grant (RFC 8628) as MSAL sends it, as two request/process pairs: the device
 * authorization request (decorated scopes, `client_info=1`) and its answer in Entra's shape, then the
 * device code poll at the token endpoint, whose answer is a sign-in's (ID token validated).
 */
import * as oauth from 'oauth4webapi';
import { NetworkError } from '../errors.ts';
import { withOidcScopes } from '../scopes.ts';
import type { Authority } from './authority.ts';
import type { IdTokenContext } from './id-token.ts';
import { client, clientAuthentication, requestOptions, type SendInit, type TokenEndpoint } from './token-endpoint.ts';
import { processUserTokenResponse, type UserTokenResponse } from './user-token-response.ts';

export interface DeviceAuthorizationGrant {
  /** Resource scopes; the OIDC scopes are added as MSAL adds them. */
  scopes: readonly string[];
  claims?: string;
}

/** Entra's device authorization answer (`/oauth2/v2.0/devicecode`); `interval` defaults to 5 s (RFC 8628). */
export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  /** Seconds. */
  expires_in: number;
  /** Seconds between polls. */
  interval: number;
  message?: string;
}

export const DEFAULT_DEVICE_INTERVAL_SECONDS = 5;

/**
 * The provider's device authorization endpoint. Entra's discovery may not advertise it; MSAL derives it
 * from the token endpoint (`…/oauth2/v2.0/token` → `…/oauth2/v2.0/devicecode`), and so do we, for Entra and External ID.
 * @throws NetworkError `invalid_provider_response` for a non-Entra provider that advertises none.
 */
export function deviceAuthorizationEndpoint(as: oauth.AuthorizationServer, authority: Pick<Authority, 'type' | 'url'>): string {
  if (as.device_authorization_endpoint) return as.device_authorization_endpoint;
  if (authority.type === 'entra' || authority.type === 'ciam') {
    return as.token_endpoint?.endsWith('/token') ? `${as.token_endpoint.slice(0, -'/token'.length)}/devicecode` : `${authority.url}/oauth2/v2.0/devicecode`;
  }
  throw new NetworkError('invalid_provider_response', 'The provider has no device_authorization_endpoint');
}

export function deviceAuthorizationRequest(endpoint: TokenEndpoint, grant: DeviceAuthorizationGrant, init: SendInit): Promise<Response> {
  const as = { ...endpoint.as, device_authorization_endpoint: deviceAuthorizationEndpoint(endpoint.as, endpoint.authority) };
  const parameters: Record<string, string> = { scope: withOidcScopes(grant.scopes), client_info: '1' };
  if (grant.claims) parameters.claims = grant.claims;
  return oauth.deviceAuthorizationRequest(as, client(endpoint), clientAuthentication(endpoint), parameters, {
    signal: init.signal,
    headers: init.headers,
    [oauth.customFetch]: endpoint.fetch,
    [oauth.allowInsecureRequests]: endpoint.authority.allowInsecure,
  });
}

/**
 * oauth4webapi's checks (device_code, user_code, verification_uri strings; expires_in a number), plus
 * Entra's v1-style numbers-as-strings and a positive lifetime.
 * @throws NetworkError `invalid_provider_response`
 */
export async function processDeviceAuthorizationResponse(
  endpoint: Pick<TokenEndpoint, 'as' | 'authority' | 'clientId'>,
  response: Response,
  correlationId: string,
): Promise<DeviceAuthorization> {
  const as = { ...endpoint.as, device_authorization_endpoint: deviceAuthorizationEndpoint(endpoint.as, endpoint.authority) };
  let body: oauth.DeviceAuthorizationResponse;
  try {
    body = await oauth.processDeviceAuthorizationResponse(as, client(endpoint), await numbersCoerced(response, ['expires_in', 'interval']));
  } catch (cause) {
    throw new NetworkError('invalid_provider_response', `The device authorization endpoint answered with an invalid response: ${(cause as Error).message}`, correlationId);
  }
  if (!(body.expires_in > 0)) throw new NetworkError('invalid_provider_response', 'The device authorization response has no valid expires_in', correlationId);
  const interval = typeof body.interval === 'number' && body.interval >= 0 ? Math.floor(body.interval) : DEFAULT_DEVICE_INTERVAL_SECONDS;
  const result: DeviceAuthorization = {
    device_code: body.device_code,
    user_code: body.user_code,
    verification_uri: body.verification_uri,
    expires_in: Math.floor(body.expires_in),
    interval,
  };
  if (typeof body.verification_uri_complete === 'string') result.verification_uri_complete = body.verification_uri_complete;
  if (typeof body.message === 'string') result.message = body.message;
  return result;
}

export interface DeviceCodeGrant {
  deviceCode: string;
  /** Resource scopes, sent again with each poll as MSAL does. */
  scopes: readonly string[];
}

/** One poll: the RFC 8628 grant, with MSAL's decorated scopes and `client_info=1`. */
export function deviceCodeRequest(endpoint: TokenEndpoint, grant: DeviceCodeGrant, init: SendInit): Promise<Response> {
  return oauth.deviceCodeGrantRequest(
    endpoint.as,
    client(endpoint),
    clientAuthentication(endpoint),
    grant.deviceCode,
    requestOptions(endpoint, init, { scope: withOidcScopes(grant.scopes), client_info: '1' }),
  );
}

/**
 * A sign-in's answer: the ID token is validated like a refreshed one (this flow has no nonce), and it
 * is required: Entra always returns one for `openid`, and the account is built from it.
 * @throws NetworkError `invalid_provider_response` / `invalid_id_token` (also for an answer without one)
 */
export async function processDeviceCodeResponse(ctx: IdTokenContext, response: Response, correlationId: string): Promise<UserTokenResponse> {
  const tokens = await processUserTokenResponse(ctx, response, correlationId, {
    idToken: 'optional',
    process: (as, oauthClient) => oauth.processDeviceCodeResponse(as, oauthClient, response),
  });
  if (!tokens.idTokenClaims) throw new NetworkError('invalid_id_token', 'The device code answer has no ID token', correlationId);
  return tokens;
}

/** Entra's v1-style endpoints send numbers as strings; both MSALs coerce them. A body that is not JSON is left as it is. */
async function numbersCoerced(response: Response, fields: readonly string[]): Promise<Response> {
  const text = await response.text();
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, { status: response.status, headers });
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    for (const field of fields) {
      const value = record[field];
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) record[field] = Number(value);
    }
  }
  return new Response(JSON.stringify(body), { status: response.status, headers });
}
