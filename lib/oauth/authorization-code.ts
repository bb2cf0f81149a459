/**
 * The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636 S256 always): building the
 * authorization URL, checking the authorization response (state, RFC 9207 `iss`, provider errors), and
 * the code redemption as a request/process pair. No storage; the flow object carries the state between
 * the steps.
 */
import * as oauth from 'oauth4webapi';
import { CallerError, NetworkError, ServerError } from '../errors.ts';
import { constantTimeEqual, utf8 } from '../encoding.ts';
import { withOidcScopes } from '../scopes.ts';
import type { Authority } from './authority.ts';
import type { IdTokenContext } from './id-token.ts';
import { client, clientAuthentication, requestOptions, type SendInit, type TokenEndpoint } from './token-endpoint.ts';
import { processUserTokenResponse, type UserTokenResponse } from './user-token-response.ts';

export type ResponseMode = 'query' | 'form_post';

/** What must be kept between the redirect to the provider and its answer (MSAL's auth code flow dict). */
export interface AuthCodeFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** Resource scopes the caller asked for (without the OIDC scopes). */
  scopes: string[];
  authUri: string;
  responseMode: ResponseMode;
  /** Epoch ms. */
  createdAt: number;
  claims?: string;
}

export interface AuthorizationUrlRequest {
  as: oauth.AuthorizationServer;
  clientId: string;
  scopes: readonly string[];
  redirectUri: string;
  state: string;
  nonce: string;
  codeChallenge: string;
  responseMode: ResponseMode;
  prompt?: string;
  loginHint?: string;
  domainHint?: string;
  claims?: string;
}

export function authorizationUrl(request: AuthorizationUrlRequest): string {
  if (!request.as.authorization_endpoint) throw new NetworkError('invalid_provider_response', 'The provider has no authorization_endpoint');
  const url = new URL(request.as.authorization_endpoint);
  const params: Record<string, string | undefined> = {
    client_id: request.clientId,
    response_type: 'code',
    redirect_uri: request.redirectUri,
    scope: withOidcScopes(request.scopes),
    state: request.state,
    nonce: request.nonce,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
    response_mode: request.responseMode,
    client_info: '1',
    prompt: request.prompt,
    login_hint: request.loginHint,
    domain_hint: request.domainHint,
    claims: request.claims,
  };
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

/**
 * Checks the authorization response against the flow: state first (a mismatch is a CSRF attempt and
 * nothing is redeemed), then a provider error, then RFC 9207 `iss` when the provider advertises it.
 * @returns the parameters oauth4webapi's code redemption accepts.
 * @throws CallerError `state_mismatch` / `invalid_request`, ServerError for the provider's error answer
 */
export function validateAuthorizationResponse(
  as: oauth.AuthorizationServer,
  authority: Authority,
  clientId: string,
  flow: Pick<AuthCodeFlow, 'state'>,
  params: URLSearchParams,
): URLSearchParams {
  const state = params.get('state');
  if (state === null || !constantTimeEqual(utf8(state), utf8(flow.state))) {
    throw new CallerError('state_mismatch', 'The state in the response does not match the sign-in flow');
  }
  // With a multi-tenant authority the response's `iss` names the user's tenant, not the template.
  let issuer = as.issuer;
  const iss = params.get('iss');
  if (authority.multiTenant && iss !== null) {
    const pattern = new RegExp(`^${escapeRegExp(authority.issuer).replace('\\{tenantid\\}', '[0-9a-f-]{36}')}$`);
    if (!pattern.test(iss)) throw new CallerError('invalid_request', 'The iss in the response is not this authority');
    issuer = iss;
  }
  let validated: URLSearchParams;
  try {
    validated = oauth.validateAuthResponse({ ...as, issuer }, { client_id: clientId }, params, flow.state);
  } catch (cause) {
    if (cause instanceof oauth.AuthorizationResponseError) {
      throw new ServerError(
        {
          error: cause.error,
          error_description: cause.error_description ?? cause.error,
          ...optional('suberror', params.get('suberror')),
          ...optional('correlation_id', params.get('correlation_id')),
        },
        400,
      );
    }
    throw new CallerError('invalid_request', `The authorization response is invalid: ${(cause as Error).message}`);
  }
  // A success without a code is the browser's malformed request, not a provider we failed to reach.
  if (!validated.get('code')) throw new CallerError('invalid_request', 'The authorization response has no code');
  return validated;
}

export interface AuthorizationCodeGrant {
  flow: Pick<AuthCodeFlow, 'redirectUri' | 'codeVerifier' | 'scopes'>;
  /** The authorization response as validateAuthorizationResponse returned it. */
  callbackParameters: URLSearchParams;
}

export function authorizationCodeRequest(endpoint: TokenEndpoint, grant: AuthorizationCodeGrant, init: SendInit): Promise<Response> {
  return oauth.authorizationCodeGrantRequest(
    endpoint.as,
    client(endpoint),
    clientAuthentication(endpoint),
    grant.callbackParameters,
    grant.flow.redirectUri,
    grant.flow.codeVerifier,
    requestOptions(endpoint, init, { scope: withOidcScopes(grant.flow.scopes), client_info: '1' }),
  );
}

/**
 * The ID token is required and must carry the flow's nonce: tokens from an answer that fails this are
 * never used (RFC 9700 §4.5.3.2).
 * @throws NetworkError `invalid_provider_response` / `invalid_id_token`
 */
export function processAuthorizationCodeResponse(ctx: IdTokenContext, response: Response, nonce: string, correlationId: string): Promise<UserTokenResponse> {
  return processUserTokenResponse(ctx, response, correlationId, {
    idToken: { nonce },
    process: (as, oauthClient) => oauth.processAuthorizationCodeResponse(as, oauthClient, response, { expectedNonce: nonce, requireIdToken: true }),
  });
}

function optional(name: string, value: string | null): Record<string, string> {
  return value === null ? {} : { [name]: value };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
