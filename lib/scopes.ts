/**
 * Scope normalisation (RFC 6749 §3.3): the single place that turns caller input into the scope list
 * that allow-lists and cache keys use, so both always agree.
 */
import { CallerError } from './errors.ts';

const MAX_SCOPES = 50;
const MAX_SCOPE_LENGTH = 512;
// RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E (printable ASCII without space, '"' and '\').
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Accepts an array of scope strings or one space-delimited string. Rejects empty, duplicate,
 * over-long or non-printable scopes instead of silently repairing them.
 * Malformed input is `invalid_request` (400); `invalid_scope` is kept for scopes a caller may not have.
 * @throws CallerError `invalid_request`
 */
export function normalizeScopes(input: unknown): string[] {
  let scopes: unknown[];
  if (typeof input === 'string') scopes = input.split(' ');
  else if (Array.isArray(input)) scopes = input;
  else if (input === undefined || input === null) throw new CallerError('invalid_request', 'scopes is required');
  else throw new CallerError('invalid_request', 'scopes must be an array of strings or a space-delimited string');

  if (scopes.length === 0 || (scopes.length === 1 && scopes[0] === '')) {
    throw new CallerError('invalid_request', 'scopes must not be empty');
  }
  if (scopes.length > MAX_SCOPES) throw new CallerError('invalid_request', `at most ${MAX_SCOPES} scopes are allowed`);
  const seen = new Set<string>();
  for (const scope of scopes) {
    if (typeof scope !== 'string') throw new CallerError('invalid_request', 'each scope must be a string');
    if (scope.length === 0 || scope.length > MAX_SCOPE_LENGTH || !SCOPE_TOKEN.test(scope)) {
      throw new CallerError('invalid_request', 'a scope is empty, too long or contains characters not allowed in a scope');
    }
    const folded = scope.toLowerCase();
    if (seen.has(folded)) throw new CallerError('invalid_request', 'duplicate scope');
    seen.add(folded);
  }
  return (scopes as string[]).slice().sort();
}

/** MSAL's `target`: scopes joined by a space, in a stable order. */
export function scopesToTarget(scopes: readonly string[]): string {
  return scopes.slice().sort().join(' ');
}

/** MSAL adds these to every interactive and refresh request: sign-in, a profile and a refresh token. */
export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'offline_access'];

/** The scope parameter MSAL sends: the resource scopes plus the OIDC scopes, each once. */
export function withOidcScopes(scopes: readonly string[]): string {
  return [...new Set([...scopes, ...OIDC_SCOPES])].join(' ');
}

/** The resource scopes of a list: the OIDC scopes, which no access token is for, left out. */
export function withoutOidcScopes(scopes: readonly string[]): string[] {
  return scopes.filter((s) => s !== '' && !OIDC_SCOPES.includes(s.toLowerCase()));
}

/** A request's resource scopes, normalised; the OIDC scopes MSAL adds itself are dropped, not doubled. */
export function resourceScopes(input: readonly string[]): string[] {
  return input.length === 0 ? [] : withoutOidcScopes(normalizeScopes([...input]));
}
