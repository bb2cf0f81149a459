/**
 * On-behalf-of in workerd against the local provider's jwt-bearer grant: POST /token/obo and the demo
 * middle tier GET /api/profile. The incoming user token is validated before any cache read or exchange.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { call, callers, idp, jwtPayload, provider, settings } from './harness.ts';
import { Browser, alice, bob, freshSignInState, signInSettings, type User } from './browser-driver.ts';

const API_SCOPE = 'api://web-app/access_as_user';
const DOWNSTREAM = 'api://downstream/read';
/** This app as a middle tier: its users' tokens for api://web-app, exchanged for the downstream API. */
const OBO_SETTINGS = { SPA_SCOPES: `${DOWNSTREAM} ${API_SCOPE}`, API_SCOPE: 'access_as_user', OBO_SCOPES: DOWNSTREAM };

beforeEach(freshSignInState);

type Env = Awaited<ReturnType<typeof signInSettings>>;

/**
 * The Worker's settings for one test. Its own TOKEN_CACHE_KEY gives the test its own middle-tier cache
 * (sealed entries of other tests are unreadable, the memory layer is another client's), and makes the
 * account object refresh, so each test's user token is a fresh one.
 */
async function oboEnv(overrides: Record<string, string | undefined> = {}): Promise<Env> {
  return signInSettings({ ...OBO_SETTINGS, TOKEN_CACHE_KEY: crypto.randomUUID() + crypto.randomUUID(), ...overrides });
}

/** A user's access token for this app's API, as the SPA gets it from /auth/token. */
async function userTokenForThisApi(env: Env, user: User = alice): Promise<string> {
  const browser = new Browser(env);
  expect((await browser.signIn(user)).status).toBe(302);
  const response = await browser.token([API_SCOPE]);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function obo(env: Env, assertion: string, body: Record<string, unknown> = { scopes: [DOWNSTREAM] }) {
  return call(env, '/token/obo', { key: null, headers: { authorization: `Bearer ${assertion}` }, json: body });
}

async function exchanges(): Promise<number> {
  return (await provider.counts())['token:jwt-bearer'] ?? 0;
}

async function expectInvalidToken(response: Response): Promise<void> {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  expect(((await response.json()) as { error: string }).error).toBe('invalid_token');
  expect(await exchanges()).toBe(0);
}

describe('POST /token/obo', () => {
  test("exchanges the user's token for a downstream token of the same user", async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    const response = await obo(env, assertion);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_source: string; scope: string };
    expect(body.token_source).toBe('identity_provider');
    const downstream = jwtPayload(body.access_token);
    const caller = jwtPayload(assertion);
    expect(downstream).toMatchObject({ aud: 'api://downstream', sub: caller.sub, oid: caller.oid, azp: idp.webApp.clientId });
    expect(await exchanges()).toBe(1);
  });

  test('the same assertion again is served from the cache without a provider call', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    const first = (await (await obo(env, assertion)).json()) as { access_token: string };
    const second = (await (await obo(env, assertion)).json()) as { access_token: string; token_source: string };
    expect(second).toMatchObject({ access_token: first.access_token, token_source: 'cache' });
    expect(await exchanges()).toBe(1);
  });

  test("two users get two tokens, neither served the other's, also with the cache already filled", async () => {
    const env = await oboEnv();
    const aliceAssertion = await userTokenForThisApi(env, alice);
    const aliceToken = ((await (await obo(env, aliceAssertion)).json()) as { access_token: string }).access_token;
    const bobAssertion = await userTokenForThisApi(env, bob);
    const bobBody = (await (await obo(env, bobAssertion)).json()) as { access_token: string; token_source: string };
    expect(bobBody.token_source).toBe('identity_provider');
    expect(bobBody.access_token).not.toBe(aliceToken);
    expect(jwtPayload(bobBody.access_token).oid).toBe(jwtPayload(bobAssertion).oid);
    expect(jwtPayload(aliceToken).oid).toBe(jwtPayload(aliceAssertion).oid);
    const aliceAgain = (await (await obo(env, aliceAssertion)).json()) as { access_token: string; token_source: string };
    expect(aliceAgain).toMatchObject({ access_token: aliceToken, token_source: 'cache' });
  });

  test('50 concurrent requests with one assertion make one exchange', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => call(env, '/token/obo', { key: null, headers: { authorization: `Bearer ${assertion}` }, json: { scopes: [DOWNSTREAM] } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(await exchanges()).toBe(1);
  });

  test('scopes outside OBO_SCOPES are 403 invalid_scope, without a provider call', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    const response = await obo(env, assertion, { scopes: ['api://downstream/write'] });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_scope');
    expect(await exchanges()).toBe(0);
  });
});

describe('POST /token/obo refuses the incoming token with 401 invalid_token and no provider call', () => {
  test('without a bearer token', async () => {
    await expectInvalidToken(await call(await oboEnv(), '/token/obo', { key: null, json: { scopes: [DOWNSTREAM] } }));
  });

  test('for another audience (a token for the downstream API itself)', async () => {
    const env = await oboEnv();
    const browser = new Browser(env);
    await browser.signIn();
    const foreign = ((await (await browser.token([DOWNSTREAM])).json()) as { access_token: string }).access_token;
    await provider.reset();
    await expectInvalidToken(await obo(env, foreign));
  });

  test('wrongly signed', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    const [h, p, s] = assertion.split('.');
    const flipped = `${h}.${p}.${s!.slice(0, 10)}${s![10] === 'A' ? 'B' : 'A'}${s!.slice(11)}`;
    await expectInvalidToken(await obo(env, flipped));
  });

  test('with an unknown kid', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    const [, p] = assertion.split('.');
    const key = (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign'])) as CryptoKeyPair;
    const header = btoa(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'unknown-kid' })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, new TextEncoder().encode(`${header}.${p}`)));
    const forged = `${header}.${p}.${btoa(String.fromCharCode(...signature)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}`;
    await expectInvalidToken(await obo(env, forged));
  });

  test("issued by another tenant than this API's", async () => {
    const assertion = await userTokenForThisApi(await oboEnv());
    await provider.reset();
    // The same valid token, presented to this API deployed in the other tenant.
    await expectInvalidToken(await obo(await oboEnv({ AUTHORITY: idp.authoritySecondary }), assertion));
  });

  test('app-only (a client credentials token for this API)', async () => {
    const appEnv = await settings();
    const appCallers = JSON.parse(appEnv.CALLERS as string) as Record<string, { key_sha256: string; scopes: string[] }>;
    for (const entry of Object.values(appCallers)) entry.scopes = ['api://web-app/.default'];
    const appToken = ((await (await call({ ...appEnv, CALLERS: JSON.stringify(appCallers) }, '/token/client', { key: callers.orders.key, json: { scopes: ['api://web-app/.default'] } })).json()) as { access_token: string }).access_token;
    expect(jwtPayload(appToken).aud).toBe('api://web-app');
    await provider.reset();
    await expectInvalidToken(await obo(await oboEnv(), appToken));
  });

  test('without API_SCOPE in scp', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    await provider.reset();
    await expectInvalidToken(await obo(await oboEnv({ API_SCOPE: 'admin_as_user' }), assertion));
  });

  test('over 16 KiB', async () => {
    await expectInvalidToken(await obo(await oboEnv(), `${'a'.repeat(17 * 1024)}.b.c`));
  });
});

describe('a Conditional Access step-up', () => {
  test('is 401 with WWW-Authenticate insufficient_claims carrying the challenge, and the JSON error', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    await provider.fault({ endpoint: 'token:jwt-bearer', kind: 'step_up' });
    const response = await obo(env, assertion);
    expect(response.status).toBe(401);
    const challenge = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';
    expect(response.headers.get('www-authenticate')).toContain(`error="insufficient_claims", claims="${btoa(challenge)}"`);
    expect(await response.json()).toMatchObject({ error: 'interaction_required', suberror: 'basic_action', claims: challenge, error_codes: [50076] });
  });
});

describe('provider failures', () => {
  test('a 429 is passed on with Retry-After and nothing is cached', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    await provider.fault({ endpoint: 'token:jwt-bearer', kind: '429', retryAfter: 7 });
    const response = await obo(env, assertion);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
  });

  test('a 5xx is retried once, then 502; nothing cached', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    await provider.fault({ endpoint: 'token:jwt-bearer', kind: '500', times: 2 });
    expect((await obo(env, assertion)).status).toBe(502);
    expect(await exchanges()).toBe(2);
    const after = (await (await obo(env, assertion)).json()) as { token_source: string };
    expect(after.token_source).toBe('identity_provider');
  });

  test('a provider slower than PROVIDER_TIMEOUT_MS is 504', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    await provider.fault({ endpoint: 'token:jwt-bearer', kind: 'slow', delayMs: 1500 });
    expect((await obo({ ...env, PROVIDER_TIMEOUT_MS: '500' }, assertion)).status).toBe(504);
  });
});

describe('GET /api/profile (the demo middle tier)', () => {
  test('answers who called and what the downstream API saw, as that user', async () => {
    const env = await oboEnv();
    const assertion = await userTokenForThisApi(env);
    const response = await call(env, '/api/profile', { method: 'GET', key: null, headers: { authorization: `Bearer ${assertion}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { caller: { oid: string }; downstream: { status: number; body: { aud: string; oid: string } } };
    expect(body.caller.oid).toBe(jwtPayload(assertion).oid);
    expect(body.downstream).toMatchObject({ status: 200, body: { aud: 'api://downstream', oid: jwtPayload(assertion).oid } });
  });

  test('refuses an invalid token with 401 invalid_token and no provider call', async () => {
    await expectInvalidToken(await call(await oboEnv(), '/api/profile', { method: 'GET', key: null, headers: { authorization: 'Bearer not.a.token' } }));
  });
});

describe('/auth/login with a claims challenge', () => {
  test('passes a JSON object to the authorize request', async () => {
    const claims = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';
    const location = new URL(await new Browser(await oboEnv()).startSignIn(`returnTo=/&claims=${encodeURIComponent(claims)}`));
    expect(location.searchParams.get('claims')).toBe(claims);
  });

  test('refuses anything but a JSON object of at most 4 KiB', async () => {
    for (const claims of ['[1]', 'not json', JSON.stringify({ x: 'y'.repeat(4200) })]) {
      const response = await new Browser(await oboEnv()).get(`/auth/login?returnTo=/&claims=${encodeURIComponent(claims)}`);
      expect(response.status).toBe(400);
    }
  });
});
