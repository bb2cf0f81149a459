/** The token cache at rest in Workers KV: encrypted, bound to its key, expiring with the token. */
import { beforeEach, describe, expect, test } from 'vitest';
import { appTokenStorageKey, clientToken, env, provider, settings } from './harness.ts';

beforeEach(() => provider.reset());

/** Same sealing key, different fingerprint: a fresh isolate-level memory layer over the same KV. */
function freshIsolateView(base: Awaited<ReturnType<typeof settings>>) {
  return { ...base, PROVIDER_TIMEOUT_MS: String(9000 + Math.floor(Math.random() * 1000)) } as typeof base;
}

describe('KV entries', () => {
  test('are encrypted: neither the token nor the scope appears in the key or value', async () => {
    const settingsA = await settings();
    const { access_token } = (await (await clientToken(settingsA)).json()) as { access_token: string };
    const key = await appTokenStorageKey('api://downstream/.default');
    expect(key).toMatch(/^at1:[A-Za-z0-9_-]{43}$/);
    const stored = await env.TOKEN_CACHE.get(key);
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain(access_token.slice(0, 20));
    expect(stored).not.toContain('downstream');
  });

  test('are read back by another isolate view without a provider request', async () => {
    const settingsA = await settings();
    await clientToken(settingsA);
    const response = await clientToken(freshIsolateView(settingsA));
    expect(((await response.json()) as { token_source: string }).token_source).toBe('cache');
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });

  test('expire with the token (expirationTtl set from expires_on)', async () => {
    await clientToken(await settings());
    const key = await appTokenStorageKey('api://downstream/.default');
    const listed = await env.TOKEN_CACHE.list({ prefix: key });
    const expiration = listed.keys[0]?.expiration;
    expect(expiration).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(expiration).toBeLessThanOrEqual(Date.now() / 1000 + 3601);
  });

  test('a tampered value reads as a miss and is replaced from the provider', async () => {
    const settingsA = await settings();
    const original = (await (await clientToken(settingsA)).json()) as { access_token: string };
    const key = await appTokenStorageKey('api://downstream/.default');
    const stored = (await env.TOKEN_CACHE.get(key))!;
    const flipped = stored.slice(0, -5) + (stored.at(-5) === 'A' ? 'B' : 'A') + stored.slice(-4);
    await env.TOKEN_CACHE.put(key, flipped);
    const response = (await (await clientToken(freshIsolateView(settingsA))).json()) as { access_token: string; token_source: string };
    expect(response.token_source).toBe('identity_provider');
    expect(response.access_token).not.toBe(original.access_token);
    expect(await provider.clientCredentialsCalls()).toBe(2);
  });

  test('a value moved under another key reads as a miss, never as the other entry', async () => {
    const callersSetting = JSON.stringify({
      both: {
        key_sha256: [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('both-key-0123456789abcdef0123')))]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(''),
        scopes: ['api://downstream/.default', 'api://other/.default'],
      },
    });
    const settingsA = await settings({ CALLERS: callersSetting });
    const key = 'both-key-0123456789abcdef0123';
    const downstream = (await (await clientToken(settingsA, ['api://downstream/.default'], { key })).json()) as { access_token: string };
    await clientToken(settingsA, ['api://other/.default'], { key });
    const downstreamKey = await appTokenStorageKey('api://downstream/.default');
    const otherKey = await appTokenStorageKey('api://other/.default');
    await env.TOKEN_CACHE.put(otherKey, (await env.TOKEN_CACHE.get(downstreamKey))!);
    const other = (await (await clientToken(freshIsolateView(settingsA), ['api://other/.default'], { key })).json()) as {
      access_token: string;
      token_source: string;
    };
    expect(other.token_source).toBe('identity_provider');
    expect(other.access_token).not.toBe(downstream.access_token);
    expect(await provider.clientCredentialsCalls()).toBe(3);
  });

  test('written under another TOKEN_CACHE_KEY are not readable', async () => {
    await clientToken(await settings());
    const response = (await (await clientToken(await settings())).json()) as { token_source: string };
    expect(response.token_source).toBe('identity_provider');
    expect(await provider.clientCredentialsCalls()).toBe(2);
  });
});
