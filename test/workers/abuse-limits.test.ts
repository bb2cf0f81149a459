/**
 * Requests that bypass the token cache (`claims`, `force_refresh`) reach the provider every time, and
 * for a user rotate the refresh token: at most 10 a minute per caller on /token/client and per account
 * on /auth/token (the CACHE_BYPASS_RATE_LIMIT binding in wrangler.toml), then 429 with Retry-After.
 * A claims challenge is a JSON object of at most 4 KiB.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { atStartOfRateLimitWindow, call, callers, provider, settings } from './harness.ts';
import { Browser, bob, freshSignInState, signInSettings } from './browser-driver.ts';

const SCOPES = ['api://downstream/.default'];
const LIMIT = 10;

beforeEach(async () => {
  await freshSignInState();
  // Each burst here takes a second or two: it must not straddle two counting windows.
  await atStartOfRateLimitWindow(10_000);
});

function bypassing(env: Awaited<ReturnType<typeof settings>>, key: string = callers.orders.key, extra: Record<string, unknown> = { force_refresh: true }) {
  return call(env, '/token/client', { key, json: { scopes: SCOPES, ...extra } });
}

describe('/token/client', () => {
  test(`the ${LIMIT + 1}th cache-bypassing request of one caller within a minute is 429 with Retry-After`, async () => {
    const env = await settings();
    for (let i = 0; i < LIMIT; i++) expect((await bypassing(env)).status).toBe(200);
    const limited = await bypassing(env);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    expect(await provider.clientCredentialsCalls()).toBe(LIMIT);
  });

  test('claims count as cache-bypassing too', async () => {
    const env = await settings();
    const claims = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });
    for (let i = 0; i < LIMIT; i++) expect((await bypassing(env, callers.orders.key, { claims })).status).toBe(200);
    expect((await bypassing(env, callers.orders.key, { claims })).status).toBe(429);
  });

  test("a limited caller still gets cached tokens, and other callers' bypasses are not limited", async () => {
    const env = await settings();
    for (let i = 0; i <= LIMIT; i++) await bypassing(env);
    expect((await call(env, '/token/client', { json: { scopes: SCOPES } })).status).toBe(200);
    const other = await call(env, '/token/client', { key: callers.reports.key, json: { scopes: ['api://other/.default'], force_refresh: true } });
    expect(other.status).toBe(200);
  });
});

describe('claims', () => {
  const rejected: [string, unknown][] = [
    ['not JSON', '{"access_token":'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"claims"'],
    ['JSON null', 'null'],
    ['over 4 KiB', JSON.stringify({ access_token: { xms_cc: { values: ['x'.repeat(4100)] } } })],
  ];
  for (const [what, claims] of rejected) {
    test(`${what} is 400 invalid_request and never reaches the provider`, async () => {
      const response = await call(await settings(), '/token/client', { json: { scopes: SCOPES, claims } });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
      expect(await provider.clientCredentialsCalls()).toBe(0);
    });
  }

  test('a JSON object of at most 4 KiB is sent to the provider', async () => {
    const claims = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });
    const response = await call(await settings(), '/token/client', { json: { scopes: SCOPES, claims } });
    expect(response.status).toBe(200);
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });
});

describe('/auth/token', () => {
  test(`the ${LIMIT + 1}th cache-bypassing request for one account within a minute is 429; cached tokens still flow`, async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn(bob);
    const forced = () => browser.post('/auth/token', { json: { scopes: ['api://downstream/read'], force_refresh: true }, headers: { origin: 'https://worker.test', 'x-requested-with': 'fetch' } });
    for (let i = 0; i < LIMIT; i++) expect((await forced()).status).toBe(200);
    const limited = await forced();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect((await provider.counts())['token:refresh_token']).toBe(LIMIT);
    expect((await browser.token()).status).toBe(200);
  });
});
