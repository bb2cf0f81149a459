/**
 * Validating a JWT access token presented to an API (the demo API, and later the on-behalf-of
 * middle tier): signature against the provider's keys, asymmetric alg, issuer, audience, expiry.
 */
import * as jose from 'jose';
import { CallerError } from '../errors.ts';
import { CLOCK_SKEW_SECONDS, ID_TOKEN_ALGORITHMS, expectedIssuer, type IdTokenContext } from './id-token.ts';

export interface AccessTokenContext extends Omit<IdTokenContext, 'clientId'> {
  audience: string;
}

/** @throws CallerError `invalid_client` (as an invalid bearer token) with the reason. */
export async function validateAccessToken(token: string, ctx: AccessTokenContext): Promise<jose.JWTPayload> {
  try {
    const header = jose.decodeProtectedHeader(token);
    if (typeof header.alg !== 'string' || !ID_TOKEN_ALGORITHMS.includes(header.alg)) throw new Error('alg not allowed');
    if (!ctx.as.jwks_uri) throw new Error('the provider publishes no jwks_uri');
    const { payload } = await jose.jwtVerify(token, ctx.keys(ctx.as.jwks_uri), {
      algorithms: ID_TOKEN_ALGORITHMS,
      issuer: expectedIssuer(ctx, jose.decodeJwt(token)),
      audience: ctx.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(ctx.now),
    });
    return payload;
  } catch (cause) {
    throw new CallerError('invalid_client', `The access token is not valid for this API (${cause instanceof jose.errors.JOSEError ? cause.code : 'malformed'})`);
  }
}
