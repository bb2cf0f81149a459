/**
 * The signed-in browser's session: POST /auth/token (silent tokens for the SPA, CSRF-checked, within
 * SPA_SCOPES) and POST /auth/logout (Origin-checked; ends every session of the account).
 */
import { APP_ORIGIN, app, idp, provider } from './target.ts';
import { Browser, bob } from './browser.ts';
import { assert, assertEquals, assertError, assertMatch, atStartOfRateLimitWindow, json, jwtPayload, send, test } from './suite.ts';

interface TokenAnswer {
  access_token: string;
  token_source: string;
  scope: string;
}

async function signedIn(): Promise<Browser> {
  const browser = new Browser(await app());
  assertEquals((await browser.signIn()).status, 302);
  return browser;
}

test('POST /auth/token gives the SPA an access token for its scopes, from the cache filled at sign-in', async () => {
  const browser = await signedIn();
  const response = await browser.token();
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('cache-control'), 'no-store');
  const body = await json<TokenAnswer>(response);
  assertEquals(body.token_source, 'cache');
  assertEquals(jwtPayload(body.access_token).aud, 'api://downstream');
  assertEquals(await provider.count('token:refresh_token'), 0);
});

test('the token from POST /auth/token is accepted by the demo API (GET /api/demo)', async () => {
  const browser = await signedIn();
  const { access_token: token } = await json<TokenAnswer>(await browser.token());
  const api = await send(browser.app, '/api/demo', { method: 'GET', bearer: token });
  assertEquals(api.status, 200);
  assertEquals((await json<{ aud: string }>(api)).aud, 'api://downstream');
});

test('POST /auth/token without the X-Requested-With header is 403 (CSRF)', async () => {
  const browser = await signedIn();
  const response = await browser.post('/auth/token', { json: { scopes: ['api://downstream/read'] }, headers: { origin: APP_ORIGIN } });
  assertEquals(response.status, 403);
});

test('POST /auth/token without an Origin, or from a foreign, opaque or look-alike Origin, is 403 (CSRF)', async () => {
  const browser = await signedIn();
  for (const origin of [undefined, 'https://evil.example', 'null', `${APP_ORIGIN}.evil.example`]) {
    const response = await browser.post('/auth/token', { json: { scopes: ['api://downstream/read'] }, headers: { 'x-requested-with': 'fetch', ...(origin ? { origin } : {}) } });
    assertEquals(response.status, 403, `Origin ${origin}`);
  }
});

test('POST /auth/token for scopes outside SPA_SCOPES is 403 invalid_scope', async () => {
  const browser = await signedIn();
  await assertError(await browser.token(['api://downstream/write']), 403, 'invalid_scope');
});

test('POST /auth/token without a session is 401 interaction_required', async () => {
  await assertError(await new Browser(await app()).token(), 401, 'interaction_required');
});

test('POST /auth/token: the 11th cache-bypassing request (force_refresh) for one account within a minute is 429; cached tokens still flow', async () => {
  const browser = new Browser(await app());
  await browser.signIn(bob);
  await atStartOfRateLimitWindow(10_000);
  for (let i = 0; i < 10; i++) assertEquals((await browser.token(undefined, { force_refresh: true })).status, 200, `bypass #${i + 1}`);
  const limited = await browser.token(undefined, { force_refresh: true });
  await assertError(limited, 429, 'rate_limited');
  assertEquals(limited.headers.get('retry-after'), '60');
  assertEquals(await provider.count('token:refresh_token'), 10);
  assertEquals((await browser.token()).status, 200);
});

test('POST /auth/logout without an Origin, or from a foreign, opaque or look-alike Origin, is 403 and the session stays', async () => {
  const browser = await signedIn();
  for (const origin of [undefined, 'https://evil.example', 'null', `${APP_ORIGIN}.evil.example`]) {
    const response = await browser.post('/auth/logout', { headers: origin ? { origin } : {} });
    assertEquals(response.status, 403, `Origin ${origin}`);
    assertEquals(response.headers.get('location'), null);
  }
  assertEquals((await browser.get('/auth/me')).status, 200);
});

test("POST /auth/logout from our own Origin ends the session and sends the browser to the provider's end_session_endpoint", async () => {
  const browser = await signedIn();
  const response = await browser.post('/auth/logout', { headers: { origin: APP_ORIGIN } });
  assertEquals(response.status, 302);
  const location = new URL(response.headers.get('location')!);
  assertEquals(`${location.origin}${location.pathname}`, `${idp.authority}/oauth2/v2.0/logout`);
  assertEquals(location.searchParams.get('post_logout_redirect_uri'), `${APP_ORIGIN}/`);
  assert(location.searchParams.get('id_token_hint'), 'an id_token_hint');
  assertMatch(location.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{22,}$/);
  assert(response.headers.getSetCookie().some((c) => c.startsWith('__Host-session=') && /max-age=0/i.test(c)), 'the session cookie is cleared');
  assertEquals((await browser.get('/auth/me')).status, 401);
});

test('after POST /auth/logout a copy of the old session cookie works nowhere (the session ended, not only the cookie)', async () => {
  const browser = await signedIn();
  const copy = new Browser(browser.app);
  copy.cookies.load(browser.cookies.header());
  assertEquals((await browser.post('/auth/logout', { headers: { origin: APP_ORIGIN } })).status, 302);
  assertEquals((await copy.get('/auth/me')).status, 401);
  await assertError(await copy.token(), 401, 'interaction_required');
});

test("POST /auth/logout ends every session of the account: another browser's session of the same user ends too", async () => {
  const deployment = await app();
  const [first, second] = [new Browser(deployment), new Browser(deployment)];
  await first.signIn();
  await second.signIn();
  assertEquals((await first.post('/auth/logout', { headers: { origin: APP_ORIGIN } })).status, 302);
  assertEquals((await second.get('/auth/me')).status, 401);
});
