/**
 * Migration from another MSAL deployment (MSAL's acquireTokenByRefreshToken): a refresh token obtained
 * elsewhere is redeemed once, here, so that it is checked and rotated, and the sign-in ends like every
 * other (sign-in-result.ts): the answer's ID token validated (required: it names the account), the tenant
 * allow-list checked, the Account built, the access token cached, and the account record returned with
 * the rotated refresh token (the imported one when the provider did not rotate it).
 *
 * Never retried (a lost answer may have rotated the token). The provider's `invalid_grant` (an expired,
 * revoked or already used token) is an InteractionRequiredError, as for silent acquisition: the user
 * must sign in. The refresh token is not put into the throttling key nor echoed in any error.
 */
import { homeAccountIdOf, parseClientInfo, type AccountRecord } from '../account.ts';
import { CallerError, NetworkError } from '../errors.ts';
import { processRefreshTokenResponse, refreshTokenRequest } from '../oauth/refresh.ts';
import { resourceScopes } from '../scopes.ts';
import type { ClientContext } from './context.ts';
import { redeemSignIn, type SignInResult } from './sign-in-result.ts';

export interface RefreshTokenImportRequest {
  refreshToken: string;
  scopes: readonly string[];
  /**
   * The account the token is expected to be for (an MSAL cache entry's home account id): an answer for
   * another account is refused before anything of it is cached.
   */
  homeAccountId?: string;
  correlationId?: string;
}

const MAX_REFRESH_TOKEN_LENGTH = 16 * 1024;

/**
 * @throws CallerError `invalid_request` (refresh token or scopes missing or malformed), `access_denied`
 *   (a tenant not allowed: nothing stored), `invalid_grant` (answered for another account than
 *   `homeAccountId`: nothing stored); InteractionRequiredError `invalid_grant` for a token the
 *   provider refuses; NetworkError `invalid_id_token` (also for an answer without an ID token);
 *   ServerError, ThrottlingError; ClientConfigurationError ALLOWED_TENANTS.
 */
export async function acquireTokenByRefreshToken(
  ctx: ClientContext,
  request: RefreshTokenImportRequest,
): Promise<{ result: SignInResult; record: AccountRecord }> {
  const { refreshToken } = request;
  if (typeof refreshToken !== 'string' || refreshToken.trim() === '' || refreshToken.length > MAX_REFRESH_TOKEN_LENGTH || /[\s\x00-\x1f\x7f]/.test(refreshToken)) {
    throw new CallerError('invalid_request', 'refresh_token is required: a non-empty string of at most 16 KiB without whitespace');
  }
  const scopes = resourceScopes(request.scopes);
  if (scopes.length === 0) throw new CallerError('invalid_request', 'scopes must name at least one resource scope');
  return redeemSignIn(
    ctx,
    {
      grant: 'refresh_token',
      // Never the same request twice (and never the token itself as a key).
      identity: [crypto.randomUUID()],
      scopes,
      send: (endpoint, init) => refreshTokenRequest(endpoint, { refreshToken, scopes }, init),
      process: async (response, checks, id) => {
        const tokens = await processRefreshTokenResponse(checks, response, id);
        if (!tokens.idTokenClaims) throw new NetworkError('invalid_id_token', 'The ID token was rejected: missing (an imported refresh token must be answered with one)', id);
        const expected = request.homeAccountId;
        if (expected !== undefined && homeAccountIdOf(parseClientInfo(tokens.client_info), tokens.idTokenClaims).toLowerCase() !== expected.toLowerCase()) {
          throw new CallerError('invalid_grant', 'The refresh token was answered for another account than the one it was filed under');
        }
        return { ...tokens, refresh_token: tokens.refresh_token ?? refreshToken };
      },
    },
    request.correlationId ?? crypto.randomUUID(),
  );
}
