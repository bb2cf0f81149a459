/**
 * Validating a JWT access token presented to an API (the demo API, and later the on-behalf-of
 * middle tier): signature against the provider's keys, asymmetric alg, issuer, a non-empty audience,
 * `exp` required and `nbf` honoured, the tenant, a required scope or role, and user tokens only unless
 * the API accepts app-only ones (Entra's "Secure applications and APIs by validating claims").
 */
import * as jose from 'jose';
import { CallerError, ClientConfigurationError } from '../errors.ts';
import { CLOCK_SKEW_SECONDS, ID_TOKEN_ALGORITHMS, expectedIssuer, type IdTokenContext } from './id-token.ts';
import { tenantIdOf } from './authority.ts';

export interface AccessTokenContext extends Omit<IdTokenContext, 'clientId'> {}

/** What an API requires of the tokens it accepts. */
export interface AccessTokenRequirements {
  /** The API's identifier(s), one of which the token's `aud` must carry; an empty one is a configuration error. */
  audience: string | readonly string[];
  /** Delegated permissions: every one must be in `scp` (space-separated). */
  requiredScopes?: readonly string[];
  /** Application permissions: every one must be in `roles`. When both lists are given, either suffices. */
  requiredRoles?: readonly string[];
  /** App-only tokens (no signed-in user) are refused unless this is true. */
  allowAppOnly?: boolean;
  /**
   * Tenant ids (`tid`) accepted, or `['*']` for any. Required for a multi-tenant authority; for a
   * single-tenant one the authority's tenant is always required and this list, if given, also applies.
   */
  allowedTenants?: readonly string[];
}

const MAX_ACCESS_TOKEN_BYTES = 16 * 1024;

/**
 * @returns the verified claims.
 * @throws ClientConfigurationError for requirements an API must not run with (empty audience, no
 *   scope or role, a multi-tenant authority without allowed tenants), before the token is looked at;
 *   CallerError `invalid_client` (401) for a token that is not valid here, `forbidden` (403) for a
 *   valid token that lacks the scope/role, the tenant, or a user.
 */
export async function validateAccessToken(token: string, ctx: AccessTokenContext, required: AccessTokenRequirements): Promise<jose.JWTPayload> {
  checkRequirements(ctx, required);
  const claims = await verifyToken(token, ctx, required.audience);
  checkTenant(claims, ctx, required);
  checkCaller(claims, required);
  return claims;
}

function checkRequirements(ctx: AccessTokenContext, required: AccessTokenRequirements): void {
  const audiences = typeof required.audience === 'string' ? [required.audience] : required.audience;
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a.trim() === '')) {
    throw new ClientConfigurationError('the access-token audience', 'is empty: a token for any API would do');
  }
  if (!required.requiredScopes?.length && !required.requiredRoles?.length) {
    throw new ClientConfigurationError('the access-token requirements', 'name no required scope or role');
  }
  if (ctx.authority.multiTenant && !required.allowedTenants?.length) {
    throw new ClientConfigurationError('the allowed tenants', 'are required with a multi-tenant authority');
  }
}

function invalid(reason: string): CallerError {
  return new CallerError('invalid_client', `The access token is not valid for this API (${reason})`);
}

function forbidden(reason: string): CallerError {
  return new CallerError('forbidden', `The access token is not allowed here: ${reason}`);
}

/**
 * The issuer of the provider's access tokens: the ID tokens' issuer, except where discovery names another
 * (AD FS signs access tokens as `access_token_issuer`, `http://<host>/adfs/services/trust`).
 */
function accessTokenIssuer(ctx: AccessTokenContext, unverified: jose.JWTPayload): string {
  const announced = (ctx.as as { access_token_issuer?: unknown }).access_token_issuer;
  if (ctx.authority.type === 'adfs' && typeof announced === 'string' && announced !== '') return announced;
  return expectedIssuer(ctx, unverified);
}

async function verifyToken(token: string, ctx: AccessTokenContext, audience: string | readonly string[]): Promise<jose.JWTPayload> {
  if (token.length > MAX_ACCESS_TOKEN_BYTES) throw invalid('too large');
  let issuer: string;
  try {
    const header = jose.decodeProtectedHeader(token);
    // Checked before any key lookup, so a forged alg cannot make us fetch keys.
    if (typeof header.alg !== 'string' || !ID_TOKEN_ALGORITHMS.includes(header.alg)) throw invalid('alg not allowed');
    issuer = accessTokenIssuer(ctx, jose.decodeJwt(token));
  } catch (cause) {
    throw cause instanceof CallerError ? cause : invalid('malformed');
  }
  if (!ctx.as.jwks_uri) throw invalid('the provider publishes no jwks_uri');
  try {
    const { payload } = await jose.jwtVerify(token, ctx.keys(ctx.as.jwks_uri), {
      algorithms: ID_TOKEN_ALGORITHMS,
      issuer,
      audience: typeof audience === 'string' ? audience : [...audience],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(ctx.now),
      // jose checks `exp` and `nbf` when present; a token without `exp` would never expire.
      requiredClaims: ['iss', 'aud', 'exp'],
    });
    return payload;
  } catch (cause) {
    throw invalid(cause instanceof jose.errors.JOSEError ? cause.code : 'malformed');
  }
}

/**
 * The tenant the token was issued in: for a single-tenant authority its own (the GUID of the
 * authority, or of the issuer when the authority names a domain), always; the allow-list on top.
 */
function checkTenant(claims: jose.JWTPayload, ctx: AccessTokenContext, required: AccessTokenRequirements): void {
  const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : undefined;
  const home = homeTenant(ctx);
  if (home !== undefined && tid !== home) throw invalid('tid is not the authority tenant');
  const allowed = required.allowedTenants;
  if (!allowed?.length || allowed.includes('*')) return;
  if (tid === undefined || !allowed.some((t) => t.toLowerCase() === tid)) throw forbidden('its tenant is not allowed');
}

function homeTenant(ctx: AccessTokenContext): string | undefined {
  // B2C access tokens carry no tid; the issuer check already ties them to the tenant.
  return ctx.authority.type === 'entra' || ctx.authority.type === 'ciam' ? tenantIdOf(ctx.authority, ctx.as) : undefined;
}

/**
 * Who is calling with which permissions. A delegated (user) token always carries `scp`; an app-only
 * token has none, and Entra marks it `idtyp: app` when asked to. `oid`/`sub` are not compared: other
 * providers (and ours in tests) give users `sub` = `oid`.
 */
function checkCaller(claims: jose.JWTPayload, required: AccessTokenRequirements): void {
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
  const appOnly = claims.idtyp === 'app' || scopes.length === 0;
  if (appOnly && !required.allowAppOnly) throw forbidden('an app-only token cannot be used where a user is required');
  const hasScopes = !!required.requiredScopes?.length && required.requiredScopes.every((s) => scopes.includes(s));
  const hasRoles = !!required.requiredRoles?.length && required.requiredRoles.every((r) => roles.includes(r));
  if (!hasScopes && !hasRoles) throw forbidden('a required scope or role is missing');
}
