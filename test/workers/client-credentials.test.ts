/** POST /token/client against the local identity provider, in workerd with real KV. */
import { beforeEach, describe, expect, test } from 'vitest';
import { callers, certificateSettings, clientToken, idp, jwtPayload, provider, settings, sleep } from './harness.ts';

beforeEach(() => provider.reset());

describe('a secret client', () => {
  test('gets an app token for the resource from the provider (client_secret_basic)', async () => {
    const response = await clientToken(await settings());
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'api://downstream/.default', token_source: 'identity_provider' });
    expect(body.expires_in).toBeGreaterThan(3000);
    expect(body.expires_on).toBeGreaterThan(Date.now() / 1000);
    const claims = jwtPayload(body.access_token as string);
    expect(claims).toMatchObject({ aud: 'api://downstream', tid: idp.tenants.primary, azp: idp.webApp.clientId });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });

  test('gets an app token with client_secret_post', async () => {
    const response = await clientToken(await settings({ CLIENT_SECRET_METHOD: 'post' }));
    expect(response.status).toBe(200);
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });
});

describe('a certificate client (private_key_jwt)', () => {
  for (const algorithm of ['PS256', 'RS256'] as const) {
    test(`gets tokens with ${algorithm} assertions, a fresh assertion per request`, async () => {
      const env = await settings(certificateSettings(algorithm));
      const first = await clientToken(env);
      expect(first.status).toBe(200);
      // forceRefresh makes a second provider request; a replayed jti would be refused by the provider.
      const second = await clientToken(env, ['api://downstream/.default'], { json: { scopes: ['api://downstream/.default'], force_refresh: true } });
      expect(second.status).toBe(200);
      expect(((await second.json()) as { token_source: string }).token_source).toBe('identity_provider');
      expect(jwtPayload(((await first.json()) as { access_token: string }).access_token).azp).toBe(idp.webAppCert.clientId);
      expect(await provider.clientCredentialsCalls()).toBe(2);
    });
  }
});

describe('the token cache', () => {
  test('serves a second request from the cache without a provider request', async () => {
    const env = await settings();
    const first = (await (await clientToken(env)).json()) as { access_token: string };
    const second = (await (await clientToken(env)).json()) as { access_token: string; token_source: string };
    expect(second.token_source).toBe('cache');
    expect(second.access_token).toBe(first.access_token);
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });

  test('answers 100 concurrent cold requests with one provider request', async () => {
    const env = await settings();
    const responses = await Promise.all(Array.from({ length: 100 }, () => clientToken(env)));
    const tokens = await Promise.all(responses.map(async (r) => ((await r.json()) as { access_token: string }).access_token));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(tokens).size).toBe(1);
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });

  test('fetches a new token once the cached one is within 5 minutes of expiry', async () => {
    await provider.tokenLifetime({ accessTokenTtl: 302 });
    const env = await settings();
    const first = (await (await clientToken(env)).json()) as { access_token: string };
    const cached = (await (await clientToken(env)).json()) as { token_source: string };
    expect(cached.token_source).toBe('cache');
    await sleep(2500);
    const renewed = (await (await clientToken(env)).json()) as { access_token: string; token_source: string };
    expect(renewed.token_source).toBe('identity_provider');
    expect(renewed.access_token).not.toBe(first.access_token);
    expect(await provider.clientCredentialsCalls()).toBe(2);
  });

  test('after refresh_in, serves the cached token and renews it in the background', async () => {
    await provider.tokenLifetime({ accessTokenTtl: 3600, refreshIn: 2 });
    const env = await settings();
    const first = (await (await clientToken(env)).json()) as { access_token: string };
    await sleep(2500);
    const during = (await (await clientToken(env)).json()) as { access_token: string; token_source: string };
    expect(during).toMatchObject({ access_token: first.access_token, token_source: 'cache' });
    expect(await provider.clientCredentialsCalls()).toBe(2);
    const after = (await (await clientToken(env)).json()) as { access_token: string; token_source: string };
    expect(after.token_source).toBe('cache');
    expect(after.access_token).not.toBe(first.access_token);
  });

  test('keeps serving the cached token when the background renewal fails', async () => {
    await provider.tokenLifetime({ accessTokenTtl: 3600, refreshIn: 2 });
    const env = await settings();
    const first = (await (await clientToken(env)).json()) as { access_token: string };
    await sleep(2500);
    await provider.fault({ endpoint: 'token', kind: '500', times: 2 });
    const response = await clientToken(env);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { access_token: string }).access_token).toBe(first.access_token);
  });

  test('keeps tokens of two tenants apart', async () => {
    const primary = (await (await clientToken(await settings())).json()) as { access_token: string };
    const secondary = (await (await clientToken(await settings({ AUTHORITY: idp.authoritySecondary }))).json()) as { access_token: string };
    expect(jwtPayload(primary.access_token).tid).toBe(idp.tenants.primary);
    expect(jwtPayload(secondary.access_token).tid).toBe(idp.tenants.secondary);
    expect(await provider.clientCredentialsCalls()).toBe(2);
  });

  test("never gives a caller a cached token for a scope outside its allow-list", async () => {
    const env = await settings();
    expect((await clientToken(env)).status).toBe(200);
    const denied = await clientToken(env, ['api://downstream/.default'], { key: callers.reports.key });
    expect(denied.status).toBe(403);
    const body = (await denied.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_scope');
    expect(JSON.stringify(body)).not.toContain('eyJ');
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });
});
