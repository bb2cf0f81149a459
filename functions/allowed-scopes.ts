/**
 * Scope allow-lists: which scopes a token-minting endpoint may hand to whoever asks (a caller of
 * /token/client, the SPA on /auth/token). Checked before the cache, so a cached token is never served
 * to someone who may not have it.
 */
import { CallerError } from '../lib/mod.ts';

/** An allow-list, lower-cased: scope comparison is case-insensitive, as Entra's. */
export function allowedScopes(scopes: Iterable<string>): ReadonlySet<string> {
  return new Set([...scopes].map((scope) => scope.toLowerCase()));
}

/**
 * @param allowed from `allowedScopes`.
 * @param who names the requester in the message, e.g. "This caller".
 * @throws CallerError `invalid_scope` naming only the scopes that were asked for and refused.
 */
export function assertScopesAllowed(allowed: ReadonlySet<string>, scopes: readonly string[], who: string): void {
  const denied = scopes.filter((scope) => !allowed.has(scope.toLowerCase()));
  if (denied.length > 0) throw new CallerError('invalid_scope', `${who} may not request ${denied.length === 1 ? 'scope' : 'scopes'} ${denied.join(' ')}`);
}
