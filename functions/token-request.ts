/**
 * The parameters of a token request, one rule set for every token-minting endpoint (/token/client,
 * /auth/token): `scopes` (required), `claims` (a claims challenge, a JSON string), `force_refresh`, and
 * for app tokens `tenant`.
 */
import { CallerError, normalizeScopes } from '../lib/mod.ts';
import type { BodyParameters } from './request-body.ts';

export interface TokenRequest {
  scopes: string[];
  /** A claims challenge: bypasses the cache, as in MSAL. */
  claims?: string;
  /** Skip the cache lookup. */
  forceRefresh: boolean;
  /** The tenant to mint an app token in (a multi-tenant authority's customer tenant). */
  tenant?: string;
}

/** A claims challenge names a few claims; anything larger is not one (and would ride along to the provider). */
export const MAX_CLAIMS_BYTES = 4 * 1024;

/**
 * @throws CallerError `invalid_request` for missing or malformed scopes, or a claims value that is not a
 *   JSON object of at most 4 KiB in a string.
 */
export function parseTokenRequest(body: BodyParameters): TokenRequest {
  const scopes = normalizeScopes(body.scopes);
  const claims = body.claims;
  if (claims !== undefined) assertClaimsChallenge(claims);
  // JSON callers send a boolean, form callers can only send text.
  const forceRefresh = body.force_refresh === true || body.force_refresh === 'true';
  const tenant = body.tenant;
  if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '' || tenant.length > 256)) throw new CallerError('invalid_request', 'tenant must be a tenant id or domain name');
  return { scopes, forceRefresh, ...(claims ? { claims } : {}), ...(tenant !== undefined ? { tenant: tenant as string } : {}) };
}

/** @throws CallerError `invalid_request` unless `claims` is a JSON object of at most 4 KiB in a string. */
export function assertClaimsChallenge(claims: unknown): asserts claims is string {
  if (typeof claims !== 'string') throw new CallerError('invalid_request', 'claims must be a JSON string');
  if (new TextEncoder().encode(claims).byteLength > MAX_CLAIMS_BYTES) {
    throw new CallerError('invalid_request', `claims must be at most ${MAX_CLAIMS_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(claims);
  } catch {
    throw new CallerError('invalid_request', 'claims must be a JSON object');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CallerError('invalid_request', 'claims must be a JSON object');
}
