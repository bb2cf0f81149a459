/**
 * Processing a token response that carries user tokens (authorization code, refresh token; device code
 * and password will follow): validateIdToken checks the ID token's signature and claims, then
 * oauth4webapi checks the response shape. Entra's extra fields (`client_info`, `foci`,
 * `ext_expires_in`, `refresh_in`) are kept.
 */
import * as oauth from 'oauth4webapi';
import { NetworkError } from '../errors.ts';
import { expectedIssuer, validateIdToken, type IdTokenContext } from './id-token.ts';
import { client, normalizeTokenResponse, type TokenResponse } from './token-endpoint.ts';

export interface UserTokenResponse extends TokenResponse {
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
  foci?: string;
  /** Verified ID token claims, when the response had an ID token. */
  idTokenClaims?: Record<string, unknown>;
}

export interface UserTokenProcessing {
  /** `required` with the flow's nonce for a sign-in; `optional` (validated when present) for a refresh. */
  idToken: { nonce: string } | 'optional';
  /** oauth4webapi's processing of this grant's answer, against the issuer the ID token must carry. */
  process(as: oauth.AuthorizationServer, client: oauth.Client): Promise<oauth.TokenEndpointResponse>;
}

/** @throws NetworkError `invalid_provider_response` / `invalid_id_token` */
export async function processUserTokenResponse(
  ctx: IdTokenContext,
  response: Response,
  correlationId: string,
  grant: UserTokenProcessing,
): Promise<UserTokenResponse> {
  // The issuer an ID token must carry depends on its own `tid` for Entra's multi-tenant authorities,
  // so it is worked out from the (not yet verified) body first; the signature check follows.
  // The ID token is validated first (signature, alg, claims, nonce), so that every defect in it is
  // reported as such, whichever check would have caught it.
  let issuer = ctx.as.issuer;
  let idTokenClaims: Record<string, unknown> | undefined;
  const peek = (await response.clone().json().catch(() => null)) as { id_token?: unknown } | null;
  if (peek?.id_token !== undefined || grant.idToken !== 'optional') {
    try {
      idTokenClaims = await validateIdToken(peek?.id_token, ctx, grant.idToken === 'optional' ? undefined : grant.idToken.nonce);
      issuer = expectedIssuer(ctx, idTokenClaims);
    } catch (cause) {
      if (cause instanceof NetworkError) cause.correlationId = correlationId;
      throw cause;
    }
  }
  let body: oauth.TokenEndpointResponse;
  try {
    body = await grant.process({ ...ctx.as, issuer }, client(ctx));
  } catch (cause) {
    throw new NetworkError(
      isClaimsProblem(cause) ? 'invalid_id_token' : 'invalid_provider_response',
      `${isClaimsProblem(cause) ? 'The ID token was rejected' : 'The token endpoint answered with an invalid token response'}: ${(cause as Error).message}`,
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

function isClaimsProblem(cause: unknown): boolean {
  const code = (cause as { code?: string }).code;
  return code === oauth.JWT_CLAIM_COMPARISON || code === oauth.JWT_TIMESTAMP_CHECK || (code === oauth.INVALID_RESPONSE && /id_token|nonce/i.test((cause as Error).message));
}
