/** The sign-in's security rules (RFC 9700, OIDC Core), each its own test, in workerd against the provider. */
import { beforeEach, describe, expect, test } from 'vitest';
import { deriveSealingKey, open, seal } from '../../lib/mod.ts';
import type { SessionCookie } from '../../functions/sessions.ts';
import { env, idp, provider, sleep } from './harness.ts';
import { Browser, WORKER_ORIGIN, freshSignInState, signInSettings } from './browser-driver.ts';

beforeEach(freshSignInState);

async function craftIdToken(kind: string): Promise<void> {
  const response = await fetch(`${idp.origin}/_control/id-token`, { method: 'POST', body: JSON.stringify({ kind }), headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw new Error(`craft ${kind} refused: ${response.status}`);
}

describe('ID token validation refuses the sign-in', () => {
  const rejected: [string, RegExp][] = [
    ['bad_signature', /signature/],
    ['alg_none', /alg/],
    ['hs256_public_key', /alg/],
    ['unknown_kid', /kid|key/],
    ['wrong_aud', /aud/],
    ['wrong_iss', /iss/],
    ['wrong_nonce', /nonce/],
    ['missing_nonce', /nonce/],
    ['expired', /expired|exp/],
    ['iat_future', /iat/],
  ];
  for (const [kind, reason] of rejected) {
    test(`with an ID token crafted as ${kind}`, async () => {
      const browser = new Browser(await signInSettings());
      const answer = await browser.authenticate(await browser.startSignIn());
      await craftIdToken(kind);
      const response = await browser.complete(answer);
      expect(response.status).toBe(502);
      const page = await response.text();
      expect(page).toContain('invalid_id_token');
      expect(page).toMatch(reason);
      expect(response.headers.getSetCookie().some((c) => /session=[^;]+/.test(c))).toBe(false);
      expect((await browser.get('/auth/me')).status).toBe(401);
    });
  }

  test('but accepts a correctly re-signed ID token (the crafting itself is not what fails)', async () => {
    const browser = new Browser(await signInSettings());
    const answer = await browser.authenticate(await browser.startSignIn());
    await craftIdToken('valid_resigned');
    expect((await browser.complete(answer)).status).toBe(302);
  });
});

describe('flow state', () => {
  test('a replayed callback is refused (state is single-use)', async () => {
    const browser = new Browser(await signInSettings());
    const answer = (await browser.authenticate(await browser.startSignIn())) as { url: string };
    const cookiesBefore = browser.worker.header();
    expect((await browser.complete(answer)).status).toBe(302);
    // Replay with the transaction cookie the browser had before the callback cleared it.
    const replay = new Browser(browser.env);
    for (const part of cookiesBefore.split('; ')) replay.worker.cookies.set(part.split('=')[0]!, part.slice(part.indexOf('=') + 1));
    const response = await replay.complete(answer);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('state_mismatch');
    expect((await provider.counts())['token:authorization_code']).toBe(1);
  });

  test('a forged state is refused without a provider request', async () => {
    const browser = new Browser(await signInSettings());
    await browser.startSignIn();
    const response = await browser.get('/auth/callback?code=abc&state=forgedforgedforgedforged');
    expect(response.status).toBe(400);
    expect((await provider.counts())['token:authorization_code'] ?? 0).toBe(0);
  });

  test('a callback without any state is refused', async () => {
    const response = await new Browser(await signInSettings()).get('/auth/callback?code=abc');
    expect(response.status).toBe(400);
  });

  test('a callback completed in another browser is refused, and the first browser can still finish', async () => {
    const first = new Browser(await signInSettings());
    const answer = await first.authenticate(await first.startSignIn());
    const attacker = new Browser(first.env);
    const stolen = await attacker.complete(answer);
    expect(stolen.status).toBe(400);
    expect((await attacker.get('/auth/me')).status).toBe(401);
    expect((await first.complete(answer)).status).toBe(302);
  });

  test('a replayed authorization code is refused with 400', async () => {
    const browser = new Browser(await signInSettings());
    const used = (await browser.authenticate(await browser.startSignIn())) as { url: string };
    expect((await browser.complete(used)).status).toBe(302);
    const fresh = new URL(await browser.startSignIn());
    const old = new URL(used.url).searchParams;
    const response = await browser.get(
      `/auth/callback?code=${encodeURIComponent(old.get('code')!)}&state=${fresh.searchParams.get('state')}&iss=${encodeURIComponent(old.get('iss')!)}`,
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('invalid_grant');
  });

  test('a response whose iss names another issuer is refused without redeeming the code (RFC 9207)', async () => {
    const browser = new Browser(await signInSettings());
    const answer = (await browser.authenticate(await browser.startSignIn())) as { url: string };
    const url = new URL(answer.url);
    url.searchParams.set('iss', `${idp.authoritySecondary}/v2.0`);
    const response = await browser.complete({ url: url.href });
    expect(response.status).toBe(400);
    expect((await provider.counts())['token:authorization_code'] ?? 0).toBe(0);
  });

  describe('a parameter repeated in the authorization response (RFC 6749 §3.1) is refused before the flow is spent', () => {
    const pollutions: [string, (answer: URL) => void][] = [
      ['code=a&code=b', (url) => url.searchParams.append('code', 'another-code')],
      ['state=S&state=S', (url) => url.searchParams.append('state', url.searchParams.get('state')!)],
      ['iss twice', (url) => url.searchParams.append('iss', url.searchParams.get('iss')!)],
    ];
    for (const [name, pollute] of pollutions) {
      test(name, async () => {
        const browser = new Browser(await signInSettings());
        const answer = (await browser.authenticate(await browser.startSignIn())) as { url: string };
        const polluted = new URL(answer.url);
        pollute(polluted);
        const response = await browser.complete({ url: polluted.href });
        expect(response.status).toBe(400);
        expect(await response.text()).toContain('invalid_request');
        expect((await provider.counts())['token:authorization_code'] ?? 0).toBe(0);
        // The flow and its transaction cookie survive: the genuine answer still completes the sign-in.
        expect((await browser.complete(answer)).status).toBe(302);
      });
    }
  });

  test('an error answer from the provider is shown by name', async () => {
    const browser = new Browser(await signInSettings());
    const state = new URL(await browser.startSignIn()).searchParams.get('state')!;
    const iss = encodeURIComponent(`${idp.authority}/v2.0`);
    const response = await browser.get(`/auth/callback?error=access_denied&error_description=The+user+declined&state=${state}&iss=${iss}`);
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).toContain('access_denied');
    expect(page).toContain('The user declined');
  });

  test('the authorization request uses PKCE S256, a nonce, and the OIDC scopes', async () => {
    const url = new URL(await new Browser(await signInSettings()).startSignIn());
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'offline_access', 'api://downstream/read']));
    expect(url.searchParams.get('redirect_uri')).toBe(`${WORKER_ORIGIN}/auth/callback`);
  });
});

describe('returnTo', () => {
  const attempts = ['//evil.example', 'https://evil.example/', '/\\evil.example', '\\\\evil.example', '/%2F%2Fevil.example', '/%5Cevil.example', 'javascript:alert(1)', '/\t/evil.example', 'evil.example'];
  for (const returnTo of attempts) {
    test(`refuses ${JSON.stringify(returnTo)} with 400`, async () => {
      const response = await new Browser(await signInSettings()).get(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    });
  }

  test('accepts a path with a query', async () => {
    const response = await new Browser(await signInSettings()).get(`/auth/login?returnTo=${encodeURIComponent('/orders?id=7')}`);
    expect(response.status).toBe(302);
  });
});

describe('session', () => {
  test('a tampered session cookie is no session', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const value = browser.worker.cookies.get('__Host-session')!;
    browser.worker.cookies.set('__Host-session', value.slice(0, -3) + (value.endsWith('AAA') ? 'BBB' : 'AAA'));
    expect((await browser.get('/auth/me')).status).toBe(401);
    expect((await browser.token()).status).toBe(401);
  });

  test('every sign-in gets a new session id (compared decrypted, not as sealed cookies)', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const first = await openSessionCookie(browser);
    await browser.signIn();
    const second = await openSessionCookie(browser);
    expect(second.hid).toBe(first.hid);
    expect(second.sid).toMatch(/^[0-9a-f-]{32,}$/);
    expect(second.sid).not.toBe(first.sid);
  });

  test('a session cookie over 4 KiB is ignored, even one sealed with our key', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const session = await openSessionCookie(browser);
    const oversize = await seal(await sessionKey(), '__Host-session', JSON.stringify({ ...session, padding: 'x'.repeat(4096) }));
    expect(oversize.length).toBeGreaterThan(4096);
    browser.worker.cookies.set('__Host-session', oversize);
    expect((await browser.get('/auth/me')).status).toBe(401);
    expect((await browser.token()).status).toBe(401);
  });

  test('oversize cookies of any name are never a 500 or a 431', async () => {
    const settings = await signInSettings();
    const browser = new Browser(settings);
    const state = new URL(await browser.startSignIn()).searchParams.get('state')!;
    browser.worker.cookies.set('__Host-session', `v1.${'A'.repeat(8000)}`);
    browser.worker.cookies.set(`__Host-txn-${state.slice(0, 16)}`, `v1.${'B'.repeat(8000)}`);
    for (let i = 0; i < 8; i++) browser.worker.cookies.set(`junk${i}`, 'C'.repeat(4000));
    const answers = {
      me: (await browser.get('/auth/me')).status,
      token: (await browser.token()).status,
      callback: (await browser.get(`/auth/callback?code=x&state=${state}`)).status,
      login: (await browser.get('/auth/login?returnTo=/')).status,
      logout: (await browser.post('/auth/logout', { headers: { origin: WORKER_ORIGIN } })).status,
    };
    expect(answers).toEqual({ me: 401, token: 401, callback: 400, login: 302, logout: 302 });
  });
});

describe('/auth/logout', () => {
  const refusedOrigins: [string, Record<string, string>][] = [
    ['without an Origin', {}],
    ['from a foreign Origin', { origin: 'https://evil.example' }],
    ['from an opaque Origin (null)', { origin: 'null' }],
    ['from a look-alike Origin', { origin: `${WORKER_ORIGIN}.evil.example` }],
  ];
  for (const [name, headers] of refusedOrigins) {
    test(`${name} is refused (403) and the session stays`, async () => {
      const browser = new Browser(await signInSettings());
      await browser.signIn();
      const response = await browser.post('/auth/logout', { headers });
      expect(response.status).toBe(403);
      expect(response.headers.get('location')).toBeNull();
      expect((await browser.get('/auth/me')).status).toBe(200);
    });
  }

  test('from our own Origin ends the session', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    expect((await browser.post('/auth/logout', { headers: { origin: WORKER_ORIGIN } })).status).toBe(302);
    expect((await browser.get('/auth/me')).status).toBe(401);
  });
});

/**
 * A signed-in browser whose cached access token is already inside MSAL's 5-minute renewal window
 * (302 s lifetime, 2.5 s later), so the next /auth/token must redeem the refresh token.
 */
async function signedInWithExpiringToken(): Promise<Browser> {
  await provider.tokenLifetime({ accessTokenTtl: 302 });
  const browser = new Browser(await signInSettings());
  await browser.signIn();
  await sleep(2500);
  return browser;
}

describe('/auth/token', () => {
  test('without the X-Requested-With header is 403', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const response = await browser.post('/auth/token', { json: { scopes: ['api://downstream/read'] }, headers: { origin: WORKER_ORIGIN } });
    expect(response.status).toBe(403);
  });

  test('from a foreign origin is 403', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const response = await browser.post('/auth/token', { json: { scopes: ['api://downstream/read'] }, headers: { origin: 'https://evil.example', 'x-requested-with': 'fetch' } });
    expect(response.status).toBe(403);
  });

  test('without an Origin is 403', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const response = await browser.post('/auth/token', { json: { scopes: ['api://downstream/read'] }, headers: { 'x-requested-with': 'fetch' } });
    expect(response.status).toBe(403);
  });

  test('for scopes outside SPA_SCOPES is 403 invalid_scope', async () => {
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const response = await browser.token(['api://downstream/write']);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_scope');
  });

  test('without a session is 401 interaction_required', async () => {
    const response = await new Browser(await signInSettings()).token();
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('interaction_required');
  });

  test('20 concurrent calls with an expired access token make exactly one refresh, and all succeed', async () => {
    const browser = await signedInWithExpiringToken();
    const responses = await Promise.all(Array.from({ length: 20 }, () => browser.token()));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const tokens = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as { access_token: string }).access_token)));
    expect(tokens.size).toBe(1);
    expect((await provider.counts())['token:refresh_token']).toBe(1);
  });

  test('serves the cached token and refreshes in the background once refresh_on has passed', async () => {
    // refresh_on has whole-second resolution: 2 s keeps the first call clear of it.
    await provider.tokenLifetime({ accessTokenTtl: 3600, refreshIn: 2 });
    const browser = new Browser(await signInSettings());
    await browser.signIn();
    const first = (await (await browser.token()).json()) as { access_token: string };
    await sleep(2500);
    const during = (await (await browser.token()).json()) as { access_token: string; token_source: string };
    expect(during).toMatchObject({ access_token: first.access_token, token_source: 'cache' });
    await sleep(300);
    expect((await provider.counts())['token:refresh_token']).toBe(1);
  });

  test('a Conditional Access challenge on refresh is 401 interaction_required with suberror and claims', async () => {
    const browser = await signedInWithExpiringToken();
    await provider.fault({ endpoint: 'token:refresh_token', kind: 'interaction_required' });
    const response = await browser.token();
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: 'interaction_required',
      suberror: 'basic_action',
      claims: '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}',
      error_codes: [50076],
    });
  });

  test("a refused refresh token is 401 interaction_required, keeping the provider's error", async () => {
    const browser = await signedInWithExpiringToken();
    await provider.fault({ endpoint: 'token:refresh_token', kind: 'invalid_grant' });
    const response = await browser.token();
    expect(response.status).toBe(401);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('interaction_required');
    expect(body.error_description).toMatch(/^invalid_grant: /);
    expect(body.error_codes).toEqual([700082]);
  });
});

async function sessionKey(): Promise<CryptoKey> {
  return deriveSealingKey(env.SESSION_KEY as string, 'SESSION_KEY', 'session-cookies/v1');
}

/** The browser's session cookie, decrypted as the Worker reads it. */
async function openSessionCookie(browser: Browser): Promise<SessionCookie> {
  const text = await open(await sessionKey(), '__Host-session', browser.worker.cookies.get('__Host-session')!);
  if (text === null) throw new Error('the session cookie does not open');
  return JSON.parse(text) as SessionCookie;
}
