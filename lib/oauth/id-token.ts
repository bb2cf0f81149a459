/**
 * ID token validation (OIDC Core §3.1.3.7) with jose: signature against the provider's JWKS (an
 * unknown `kid` refetches the keys at most once a minute, see ProviderMetadataCache), an asymmetric-only `alg` allow-list, `iss`
 * (Entra's `{tenantid}` template resolved with the token's own `tid`), `aud`, `azp`, `nonce`, `tid`
 * against a single tenant, B2C's user flow (`tfp`/`acr`), and `exp`/`iat` with 5 minutes of skew. The
 * clock comes from `now`.
 */
import * as jose from 'jose';
import type * as oauth from 'oauth4webapi';
import { NetworkError } from '../errors.ts';
import { tenantIdOf, type Authority } from './authority.ts';
import type { KeySet } from './provider-metadata.ts';

/** Never `none`, never HMAC: a public key must not double as a shared secret. */
export const ID_TOKEN_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'RS384', 'PS384', 'ES384', 'RS512', 'PS512', 'ES512', 'EdDSA'];
export const CLOCK_SKEW_SECONDS = 300;
const MAX_ID_TOKEN_BYTES = 16 * 1024;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What checking a token issued by the provider needs: its metadata, our client id, the clock and its keys. */
export interface IdTokenContext {
  as: oauth.AuthorizationServer;
  authority: Authority;
  clientId: string;
  /** Epoch ms. */
  now: number;
  /** The provider's signing keys at `jwks_uri` (ProviderMetadataCache.keySet). */
  keys: (jwksUri: string) => KeySet;
}

function invalid(reason: string): NetworkError {
  return new NetworkError('invalid_id_token', `The ID token was rejected: ${reason}`);
}

/** The issuer this token must carry: for a multi-tenant Entra authority, the template with the token's `tid`. */
export function expectedIssuer(ctx: Pick<IdTokenContext, 'as' | 'authority'>, unverifiedClaims: jose.JWTPayload): string {
  if (!ctx.authority.multiTenant) return ctx.as.issuer;
  const tid = unverifiedClaims.tid;
  if (typeof tid !== 'string' || !GUID.test(tid)) throw invalid('tid is missing or not a tenant id');
  return ctx.authority.issuer.replace('{tenantid}', tid);
}

/**
 * @param expectedNonce the flow's nonce; `undefined` skips the check (refresh responses carry none).
 * @returns the verified claims.
 * @throws NetworkError `invalid_id_token`
 */
export async function validateIdToken(idToken: unknown, ctx: IdTokenContext, expectedNonce: string | undefined): Promise<jose.JWTPayload> {
  if (typeof idToken !== 'string' || idToken.length > MAX_ID_TOKEN_BYTES) throw invalid('missing or too large');
  let header: jose.ProtectedHeaderParameters;
  let unverified: jose.JWTPayload;
  try {
    header = jose.decodeProtectedHeader(idToken);
    unverified = jose.decodeJwt(idToken);
  } catch {
    throw invalid('not a JWT');
  }
  // Checked before any key lookup, so a forged alg cannot make us fetch keys.
  if (typeof header.alg !== 'string' || !ID_TOKEN_ALGORITHMS.includes(header.alg)) throw invalid(`alg ${String(header.alg)} is not allowed`);
  if (!ctx.as.jwks_uri) throw invalid('the provider publishes no jwks_uri');
  const issuer = expectedIssuer(ctx, unverified);
  // A token without `kid` is verified only when exactly one provider key fits it (OIDF
  // rp-id_token-kid-absent-single-jwks). With several, jose refuses (JWKSMultipleMatchingKeys) and we
  // keep that: trying every key would let any published key stand in for the one that was meant, and
  // it costs no refetch (only an unknown kid refetches).
  let claims: jose.JWTPayload;
  try {
    ({ payload: claims } = await jose.jwtVerify(idToken, ctx.keys(ctx.as.jwks_uri), {
      algorithms: ID_TOKEN_ALGORITHMS,
      issuer,
      audience: ctx.clientId,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(ctx.now),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    }));
  } catch (cause) {
    throw invalid(describeJoseError(cause));
  }
  const nowSeconds = ctx.now / 1000;
  if (claims.iat! > nowSeconds + CLOCK_SKEW_SECONDS) throw invalid('iat is in the future');
  if ((Array.isArray(claims.aud) && claims.aud.length > 1) || claims.azp !== undefined) {
    if (claims.azp !== ctx.clientId) throw invalid('azp is not this client');
  }
  // A single-tenant authority's tenant (configured, or learned from the issuer of one named by domain).
  const tenantId = tenantIdOf(ctx.authority, ctx.as);
  if (tenantId !== undefined && claims.tid !== undefined && String(claims.tid).toLowerCase() !== tenantId) throw invalid('tid is not the configured tenant');
  // B2C: the token must come from the configured user flow, not another one of the same tenant.
  if (ctx.authority.type === 'b2c') {
    const policy = claims.tfp ?? claims.acr;
    if (typeof policy !== 'string' || policy.toLowerCase() !== ctx.authority.policy!.toLowerCase()) throw invalid('tfp is not the configured user flow');
  }
  if (expectedNonce !== undefined && claims.nonce !== expectedNonce) {
    throw invalid(claims.nonce === undefined ? 'nonce is missing' : 'nonce does not match the flow');
  }
  return claims;
}

function describeJoseError(cause: unknown): string {
  if (cause instanceof jose.errors.JWTExpired) return 'expired';
  if (cause instanceof jose.errors.JWTClaimValidationFailed) return `${cause.claim} ${cause.reason === 'check_failed' ? 'does not match' : cause.reason}`;
  if (cause instanceof jose.errors.JWKSNoMatchingKey) return 'no provider key matches its kid';
  if (cause instanceof jose.errors.JWKSMultipleMatchingKeys) return 'it has no kid and several provider keys could have signed it';
  if (cause instanceof jose.errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (cause instanceof jose.errors.JOSEAlgNotAllowed) return 'alg is not allowed';
  if (cause instanceof jose.errors.JWKSTimeout) return 'the provider keys could not be fetched in time';
  if (cause instanceof jose.errors.JOSEError) return cause.code;
  return 'validation failed';
}
