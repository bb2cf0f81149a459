/**
 * Validating a JWT access token presented to an API (the demo API, and later the on-behalf-of
 * middle tier): signature against the provider's keys, asymmetric alg, issuer, audience, expiry.
 */
import * as jose from 'jose';
import type * as oauth from 'oauth4webapi';
import { CallerError } from '../errors.ts';
import type { Authority } from './authority.ts';
import { CLOCK_SKEW_SECONDS, ID_TOKEN_ALGORITHMS, expectedIssuer, keySetFor } from './id-token.ts';

export interface AccessTokenContext {
  as: oauth.AuthorizationServer;
  authority: Authority;
  audience: string;
  fetch: typeof fetch;
  now: number;
  timeoutMs: number;
}

/** @throws CallerError `invalid_client` (as an invalid bearer token) with the reason. */
export async function validateAccessToken(token: string, ctx: AccessTokenContext): Promise<jose.JWTPayload> {
  try {
    const header = jose.decodeProtectedHeader(token);
    if (typeof header.alg !== 'string' || !ID_TOKEN_ALGORITHMS.includes(header.alg)) throw new Error('alg not allowed');
    const { payload } = await jose.jwtVerify(token, keySetFor(ctx.as.jwks_uri!, ctx.fetch, ctx.timeoutMs), {
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
