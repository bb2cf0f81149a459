/**
 * Callers of the token-minting endpoints: who they are (a bearer key, stored only as its SHA-256), which
 * grants each may use and which scopes each may obtain. Parsed once from CALLERS.
 */
import { CallerError, ClientConfigurationError, constantTimeEqual, fromHex, sha256Sync } from '../lib/mod.ts';
import { allowedScopes } from './allowed-scopes.ts';

/**
 * What a caller may do: app tokens (`client_credentials`, the default), sign users in with their
 * password (`password`, /token/password), bring users' refresh tokens or MSAL caches (`account_import`).
 */
export const CALLER_GRANTS = ['client_credentials', 'password', 'account_import'] as const;
export type CallerGrant = (typeof CALLER_GRANTS)[number];

export interface Caller {
  id: string;
  keySha256: Uint8Array;
  /** Allowed scopes, lower-cased (see allowed-scopes.ts). */
  scopes: ReadonlySet<string>;
  grants: ReadonlySet<CallerGrant>;
  /** Tenants (ids or domains, lower-cased) it may mint app tokens in, with a multi-tenant authority; `*` any. */
  tenants: ReadonlySet<string>;
}

const MAX_KEY_LENGTH = 512;

/**
 * CALLERS: `{"<caller id>": {"key_sha256": "<hex SHA-256 of the caller's key>", "scopes": ["api://x/.default"],
 * "grants": ["client_credentials"], "tenants": ["<tenant id or domain>"]}}` (`grants` optional, default
 * `["client_credentials"]`; `tenants` optional: the customer tenants it may mint app tokens in, `*` any).
 * @throws ClientConfigurationError naming CALLERS.
 */
export function parseCallers(raw: unknown): Caller[] {
  if (typeof raw !== 'string' || raw.trim() === '') throw new ClientConfigurationError('CALLERS', 'is missing');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ClientConfigurationError('CALLERS', 'is not valid JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ClientConfigurationError('CALLERS', 'must be a JSON object of caller id → { key_sha256, scopes }');
  }
  const callers = Object.entries(json as Record<string, unknown>).map(([id, value]) => {
    const entry = value as { key_sha256?: unknown; scopes?: unknown; grants?: unknown; tenants?: unknown } | null;
    const keySha256 = typeof entry?.key_sha256 === 'string' ? fromHex(entry.key_sha256) : null;
    if (!keySha256 || keySha256.length !== 32) {
      throw new ClientConfigurationError('CALLERS', `entry "${id}" needs key_sha256: 64 hex digits`);
    }
    if (!Array.isArray(entry!.scopes) || !entry!.scopes.every((s) => typeof s === 'string' && s.length > 0)) {
      throw new ClientConfigurationError('CALLERS', `entry "${id}" needs scopes: an array of strings`);
    }
    const grants = entry!.grants ?? ['client_credentials'];
    if (!Array.isArray(grants) || !grants.every((g) => (CALLER_GRANTS as readonly unknown[]).includes(g))) {
      throw new ClientConfigurationError('CALLERS', `entry "${id}" has grants other than ${CALLER_GRANTS.join(', ')}`);
    }
    const tenants = entry!.tenants ?? [];
    if (!Array.isArray(tenants) || !tenants.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new ClientConfigurationError('CALLERS', `entry "${id}" has tenants that are not a list of tenant ids or domains`);
    }
    return {
      id,
      keySha256,
      scopes: allowedScopes(entry!.scopes as string[]),
      grants: new Set(grants as CallerGrant[]),
      tenants: new Set((tenants as string[]).map((t) => t.toLowerCase())),
    };
  });
  if (callers.length === 0) throw new ClientConfigurationError('CALLERS', 'names no caller');
  return callers;
}

/**
 * Finds the caller whose key hashes to the presented key's hash. Every caller is compared, in
 * constant time over fixed-length digests, so timing reveals neither which caller nor how much matched.
 * The presented key is hashed on every request and kept nowhere: the hash is synchronous JavaScript
 * (about a microsecond for a key of up to 512 characters), not WebCrypto, whose digest costs Deno an
 * async op per call, a quarter of a cache hit's time. No cache of authenticated keys: one would hold
 * callers' keys in isolate memory, and a lookup by the key itself is not constant-time.
 * @throws CallerError `invalid_client`
 */
export async function authenticateCaller(callers: readonly Caller[], authorization: string | undefined): Promise<Caller> {
  const match = /^Bearer ([\x21-\x7E]+)$/i.exec(authorization ?? '');
  if (!match || match[1]!.length > MAX_KEY_LENGTH) {
    throw new CallerError('invalid_client', 'Caller authentication required: Authorization: Bearer <caller key>');
  }
  const presented = sha256Sync(match[1]!);
  let found: Caller | undefined;
  for (const caller of callers) {
    if (constantTimeEqual(presented, caller.keySha256) && !found) found = caller;
  }
  if (!found) throw new CallerError('invalid_client', 'Unknown caller key');
  return found;
}

/** @throws CallerError `forbidden` unless the caller's CALLERS entry lists `grant`. */
export function assertCallerMay(caller: Caller, grant: CallerGrant): void {
  if (!caller.grants.has(grant)) throw new CallerError('forbidden', `This caller may not use the ${grant} grant`);
}

/** @throws CallerError `forbidden` unless the caller's CALLERS entry lists `tenant` (or `*`). */
export function assertCallerMayUseTenant(caller: Caller, tenant: string): void {
  if (!caller.tenants.has('*') && !caller.tenants.has(tenant.toLowerCase())) throw new CallerError('forbidden', 'This caller may not mint tokens in that tenant');
}
