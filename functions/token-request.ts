/**
 * The parameters of a token request, one rule set for every token-minting endpoint (/token/client,
 * /auth/token): `scopes` (required), `claims` (a claims challenge, a JSON string), `force_refresh`.
 */
import { CallerError, normalizeScopes } from '../lib/mod.ts';
import type { BodyParameters } from './request-body.ts';

export interface TokenRequest {
  scopes: string[];
  /** A claims challenge: bypasses the cache, as in MSAL. */
  claims?: string;
  /** Skip the cache lookup. */
  forceRefresh: boolean;
}

/** @throws CallerError `invalid_request` for missing or malformed scopes or a claims value that is not a string. */
export function parseTokenRequest(body: BodyParameters): TokenRequest {
  const scopes = normalizeScopes(body.scopes);
  const claims = body.claims;
  if (claims !== undefined && typeof claims !== 'string') throw new CallerError('invalid_request', 'claims must be a JSON string');
  // JSON callers send a boolean, form callers can only send text.
  const forceRefresh = body.force_refresh === true || body.force_refresh === 'true';
  return { scopes, forceRefresh, ...(claims ? { claims } : {}) };
}
