/**
 * App tokens minted per customer tenant: a multi-tenant app (AUTHORITY …/common) names the tenant on each
 * /token/client request, within the tenants its caller's CALLERS entry lists; each tenant's token is
 * that tenant's, cached under its own realm.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import type { Env } from '../../functions/workers/index.ts';
import { sha256, utf8 } from '../../lib/mod.ts';
import { appTokenStorageKey, call, env, idp, jwtPayload, provider, settings } from './harness.ts';

const KEY = 'tenants-caller-key-0123456789abcdef';
const SCOPES = ['api://downstream/.default'];

async function multiTenantApp(tenants: string[] | undefined = [idp.tenants.primary, idp.tenants.secondary]): Promise<Env> {
  const keySha256 = [...(await sha256(utf8(KEY)))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const entry = { key_sha256: keySha256, scopes: SCOPES, ...(tenants ? { tenants } : {}) };
  return settings({ AUTHORITY: `${idp.origin}/common`, CALLERS: JSON.stringify({ [`saas-${crypto.randomUUID().slice(0, 8)}`]: entry }) });
}

function appToken(worker: Env, body: Record<string, unknown>): Promise<Response> {
  return call(worker, '/token/client', { key: KEY, json: { scopes: SCOPES, ...body } });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

beforeEach(async () => {
  await provider.reset();
});

describe('POST /token/client with a tenant', () => {
  test("mints in the named tenant: the token is that tenant's", async () => {
    const worker = await multiTenantApp();
    for (const tenant of [idp.tenants.primary, idp.tenants.secondary]) {
      const response = await appToken(worker, { tenant });
      expect(response.status).toBe(200);
      expect(jwtPayload(((await response.json()) as { access_token: string }).access_token).tid).toBe(tenant);
    }
    expect(await provider.clientCredentialsCalls()).toBe(2);
  });

  test("tenants never share a token: each is cached under its own realm", async () => {
    const worker = await multiTenantApp();
    await appToken(worker, { tenant: idp.tenants.primary });
    await appToken(worker, { tenant: idp.tenants.secondary });
    const again = (await (await appToken(worker, { tenant: idp.tenants.secondary })).json()) as { access_token: string; token_source: string };
    expect(again.token_source).toBe('cache');
    expect(jwtPayload(again.access_token).tid).toBe(idp.tenants.secondary);
    expect(await provider.clientCredentialsCalls()).toBe(2);
    for (const tenant of [idp.tenants.primary, idp.tenants.secondary]) {
      expect(await env.TOKEN_CACHE.get(await appTokenStorageKey('api://downstream/.default', idp.webApp.clientId, tenant))).not.toBeNull();
    }
  });

  test('a tenant the caller may not mint in is 403, before the provider is asked', async () => {
    const worker = await multiTenantApp([idp.tenants.primary]);
    const response = await appToken(worker, { tenant: idp.tenants.secondary });
    expect(response.status).toBe(403);
    expect(await errorOf(response)).toBe('forbidden');
    expect(await provider.clientCredentialsCalls()).toBe(0);
  });

  test('`*` lets a caller mint in any tenant', async () => {
    const worker = await multiTenantApp(['*']);
    expect((await appToken(worker, { tenant: idp.tenants.secondary })).status).toBe(200);
  });

  test('a multi-tenant app whose caller lists tenants must name one: 400', async () => {
    const response = await appToken(await multiTenantApp(), {});
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toBe('invalid_request');
  });

  test('a tenant that is not a tenant id or domain, or is a multi-tenant alias, is 400', async () => {
    const worker = await multiTenantApp(['*']);
    for (const tenant of ['common', 'organizations', 'not a tenant', '../x', 42, '', 'x'.repeat(300)]) {
      const response = await appToken(worker, { tenant });
      expect(response.status, String(tenant)).toBe(400);
      expect(await errorOf(response)).toBe('invalid_request');
    }
    expect(await provider.clientCredentialsCalls()).toBe(0);
  });

  test("a single-tenant app accepts its own tenant and refuses another", async () => {
    const keySha256 = [...(await sha256(utf8(KEY)))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const worker = await settings({ CALLERS: JSON.stringify({ [`one-${crypto.randomUUID().slice(0, 8)}`]: { key_sha256: keySha256, scopes: SCOPES, tenants: ['*'] } }) });
    expect((await appToken(worker, { tenant: idp.tenants.primary })).status).toBe(200);
    const other = await appToken(worker, { tenant: idp.tenants.secondary });
    expect(other.status).toBe(400);
    expect(await errorOf(other)).toBe('invalid_request');
  });
});
