/**
 * Which tenants' users may sign in. With a multi-tenant authority (`common`, `organizations`) any
 * tenant in the world can, so the deployment must say which it means: `ALLOWED_TENANTS` lists tenant
 * ids, or is `*` to allow any tenant explicitly.
 */
import { CallerError, ClientConfigurationError } from './errors.ts';
import type { Authority } from './oauth/authority.ts';

export type TenantAllowList = '*' | ReadonlySet<string>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** @throws ClientConfigurationError naming ALLOWED_TENANTS for anything but `*` or tenant ids. */
export function parseAllowedTenants(raw: string | undefined): TenantAllowList | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === '*') return '*';
  const tenants = raw.split(/[\s,]+/).filter(Boolean);
  if (tenants.length === 0 || !tenants.every((t) => GUID.test(t))) {
    throw new ClientConfigurationError('ALLOWED_TENANTS', 'must be * or tenant ids (GUIDs), comma- or space-separated');
  }
  return new Set(tenants.map((t) => t.toLowerCase()));
}

/**
 * The allow-list a sign-in runs under. A single-tenant authority needs none: its ID tokens must carry
 * its own tenant (id-token.ts).
 * @throws ClientConfigurationError when the authority is multi-tenant and no allow-list is set.
 */
export function signInTenants(authority: Authority, allowed: TenantAllowList | undefined): TenantAllowList | undefined {
  if (authority.multiTenant && allowed === undefined) {
    throw new ClientConfigurationError('ALLOWED_TENANTS', `is required with the multi-tenant authority "${authority.tenant}" (tenant ids, or * for any tenant)`);
  }
  return allowed;
}

/** @throws CallerError `access_denied` for a user of a tenant that may not sign in. */
export function assertTenantAllowed(allowed: TenantAllowList | undefined, tid: unknown): void {
  if (allowed === undefined || allowed === '*') return;
  if (typeof tid !== 'string' || !allowed.has(tid.toLowerCase())) {
    throw new CallerError('access_denied', 'Users of this tenant may not sign in to this application');
  }
}
