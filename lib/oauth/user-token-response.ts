/**
 * Processing a token response that carries user tokens (authorization code, refresh token): oauth4webapi
 * checks the response shape and the ID token's claims, validateIdToken checks its signature and the
 * rest. Entra's extra fields (`client_info`, `foci`, `ext_expires_in`, `refresh_in`) are kept.
 */
import * as oauth from 'oauth4webapi';
import { NetworkError } from '../errors.ts';
import { normalizeTokenResponse, type TokenResponse } from './client-credentials.ts';
import { CLOCK_SKEW_SECONDS, expectedIssuer, validateIdToken, type IdTokenContext } from './id-token.ts';

export interface UserTokenResponse extends TokenResponse {
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
  foci?: string;
  /** Verified ID token claims, when the response had an ID token. */
  idTokenClaims?: Record<string, unknown>;
}

export type UserGrant = 'authorization_code' | 'refresh_token';

/**
 * @param expectedNonce the flow's nonce for a code redemption; undefined for a refresh.
 * @throws NetworkError `invalid_provider_response` / `invalid_id_token`
 */
export async function processUserTokenResponse(
  grant: UserGrant,
  response: Response,
  ctx: IdTokenContext,
  expectedNonce: string | undefined,
  correlationId: string,
): Promise<UserTokenResponse> {
  // The issuer an ID token must carry depends on its own `tid` for Entra's multi-tenant authorities,
  // so it is worked out from the (not yet verified) body first; the signature check follows.
  // The ID token is validated first (signature, alg, claims, nonce), so that every defect in it is
  // reported as such, whichever check would have caught it.
  let issuer = ctx.as.issuer;
  let idTokenClaims: Record<string, unknown> | undefined;
  const peek = (await response.clone().json().catch(() => null)) as { id_token?: unknown } | null;
  if (peek?.id_token !== undefined || grant === 'authorization_code') {
    try {
      idTokenClaims = await validateIdToken(peek?.id_token, ctx, expectedNonce);
      issuer = expectedIssuer(ctx, idTokenClaims);
    } catch (cause) {
      if (cause instanceof NetworkError) cause.correlationId = correlationId;
      throw cause;
    }
  }
  const as = { ...ctx.as, issuer };
  const client: oauth.Client = { client_id: ctx.clientId, [oauth.clockTolerance]: CLOCK_SKEW_SECONDS };
  let body: oauth.TokenEndpointResponse;
  try {
    body =
      grant === 'authorization_code'
        ? await oauth.processAuthorizationCodeResponse(as, client, response, {
            expectedNonce: expectedNonce ?? oauth.expectNoNonce,
            requireIdToken: true,
          })
        : await oauth.processRefreshTokenResponse(as, client, response);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const claimsProblem = code === oauth.JWT_CLAIM_COMPARISON || code === oauth.JWT_TIMESTAMP_CHECK || code === oauth.INVALID_RESPONSE && /id_token|nonce/i.test((cause as Error).message);
    throw new NetworkError(
      claimsProblem ? 'invalid_id_token' : 'invalid_provider_response',
      `${claimsProblem ? 'The ID token was rejected' : 'The token endpoint answered with an invalid token response'}: ${(cause as Error).message}`,
      correlationId,
    );
  }
  const result: UserTokenResponse = normalizeTokenResponse(body, correlationId);
  for (const field of ['refresh_token', 'id_token', 'client_info', 'foci'] as const) {
    if (typeof body[field] === 'string') result[field] = body[field] as string;
  }
  if (idTokenClaims) result.idTokenClaims = idTokenClaims;
  return result;
}
