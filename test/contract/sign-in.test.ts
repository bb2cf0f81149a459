/**
 * Browser sign-in (backend-for-frontend): GET /auth/login starts the authorization code flow with PKCE,
 * /auth/callback completes it once, in the browser that started it, and sets the session cookie.
 */
import { APP_ORIGIN, app, idp, provider } from './target.ts';
import { Browser, alice, type ProviderAnswer } from './browser.ts';
import { assert, assertEquals, assertMatch, assertStringIncludes, atStartOfRateLimitWindow, json, test } from './suite.ts';

const codeRedemptions = () => provider.count('token:authorization_code');

function setCookie(response: Response, prefix: string): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith(prefix));
}

function answerUrl(answer: ProviderAnswer): URL {
  if (!('url' in answer)) throw new Error('expected the provider to answer by redirect (query mode)');
  return new URL(answer.url);
}

test('GET /auth/login redirects to the provider with PKCE S256, a state, a nonce, the exact redirect_uri and the OIDC scopes', async () => {
  const response = await new Browser(await app()).get('/auth/login?returnTo=/');
  assertEquals(response.status, 302);
  const location = new URL(response.headers.get('location')!);
  assertEquals(`${location.origin}${location.pathname}`, `${idp.authority}/oauth2/v2.0/authorize`);
  const query = location.searchParams;
  assertEquals(query.get('response_type'), 'code');
  assertEquals(query.get('client_id'), idp.webApp.clientId);
  assertEquals(query.get('redirect_uri'), `${APP_ORIGIN}/auth/callback`);
  assertEquals(query.get('code_challenge_method'), 'S256');
  assertMatch(query.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assertMatch(query.get('state') ?? '', /^[A-Za-z0-9_-]{22,}$/);
  assertMatch(query.get('nonce') ?? '', /^[A-Za-z0-9_-]{22,}$/);
  const scopes = (query.get('scope') ?? '').split(' ');
  for (const scope of ['openid', 'profile', 'offline_access', 'api://downstream/read']) assert(scopes.includes(scope), `scope ${scope} in ${scopes.join(' ')}`);
});

test('GET /auth/login gives every sign-in its own state, nonce and PKCE challenge', async () => {
  const browser = new Browser(await app());
  const [first, second] = [await browser.startSignIn(), await browser.startSignIn()];
  for (const name of ['state', 'nonce', 'code_challenge']) assert(first.searchParams.get(name) !== second.searchParams.get(name), `a new ${name}`);
});

test('GET /auth/login binds the flow to the browser with a __Host- transaction cookie: sealed, HttpOnly, Secure, Path=/, SameSite=Lax', async () => {
  const response = await new Browser(await app()).get('/auth/login?returnTo=/');
  const cookie = setCookie(response, '__Host-txn-');
  assert(cookie, `a __Host-txn- cookie among ${response.headers.getSetCookie().join(' | ')}`);
  const state = new URL(response.headers.get('location')!).searchParams.get('state')!;
  assert(!cookie.includes(state), 'the cookie value does not carry the state in clear');
  for (const attribute of [/; Path=\//i, /; HttpOnly/i, /; Secure/i, /; SameSite=Lax/i]) assertMatch(cookie, attribute);
  assert(!/; Domain=/i.test(cookie), 'no Domain on a __Host- cookie');
});

test('GET /auth/login with response_mode=form_post sets its transaction cookie SameSite=None, and the POST callback signs in', async () => {
  const browser = new Browser(await app());
  const login = await browser.get('/auth/login?returnTo=/&response_mode=form_post');
  assertMatch(setCookie(login, '__Host-txn-') ?? '', /; SameSite=None/i);
  const answer = await browser.authenticate(new URL(login.headers.get('location')!));
  assert('form' in answer, 'the provider posts the answer');
  assertEquals((await browser.complete(answer)).status, 302);
  assertEquals((await browser.get('/auth/me')).status, 200);
});

test('GET /auth/login refuses a returnTo that is not a path on this origin (no open redirect): 400, no Location', async () => {
  const deployment = await app();
  const attempts = ['//evil.example', 'https://evil.example/', '/\\evil.example', '\\\\evil.example', '/%2F%2Fevil.example', '/%5Cevil.example', 'javascript:alert(1)', '/\t/evil.example', 'evil.example'];
  for (const returnTo of attempts) {
    const response = await new Browser(deployment).get(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
    assertEquals(response.status, 400, JSON.stringify(returnTo));
    assertEquals(response.headers.get('location'), null, JSON.stringify(returnTo));
  }
});

test('GET /auth/callback signs the user in: a new __Host-session cookie (HttpOnly, Secure, Path=/, SameSite=Lax), then 302 to returnTo', async () => {
  const browser = new Browser(await app());
  const response = await browser.signIn(alice, `returnTo=${encodeURIComponent('/after?x=1')}`);
  assertEquals(response.status, 302);
  assertEquals(response.headers.get('location'), '/after?x=1');
  assertEquals(response.headers.get('referrer-policy'), 'no-referrer');
  const cookie = setCookie(response, '__Host-session=');
  assert(cookie, 'a __Host-session cookie');
  for (const attribute of [/; Path=\//i, /; HttpOnly/i, /; Secure/i, /; SameSite=Lax/i]) assertMatch(cookie, attribute);
  assert(!cookie.includes(alice.username), 'the cookie is sealed');
  assertEquals(await codeRedemptions(), 1);
});

test('GET /auth/callback: state is single-use — the same answer again, even with the transaction cookie, is 400 and the code is not redeemed again', async () => {
  const browser = new Browser(await app());
  const answer = await browser.authenticate(await browser.startSignIn());
  const cookiesBefore = browser.cookies.header();
  assertEquals((await browser.complete(answer)).status, 302);
  const replay = new Browser(browser.app);
  replay.cookies.load(cookiesBefore);
  const response = await replay.complete(answer);
  assertEquals(response.status, 400);
  assertStringIncludes(await response.text(), 'state_mismatch');
  assertEquals(await codeRedemptions(), 1);
});

test('GET /auth/callback with a forged state is 400, without a provider request', async () => {
  const browser = new Browser(await app());
  await browser.startSignIn();
  const response = await browser.get('/auth/callback?code=abc&state=forgedforgedforgedforged');
  assertEquals(response.status, 400);
  assertEquals((await browser.get('/auth/me')).status, 401);
  assertEquals(await codeRedemptions(), 0);
});

test('GET /auth/callback without a state is 400', async () => {
  assertEquals((await new Browser(await app()).get('/auth/callback?code=abc')).status, 400);
});

test('GET /auth/callback completed in another browser (state mismatch: not its transaction) is refused, and the first browser still completes', async () => {
  const first = new Browser(await app());
  const answer = await first.authenticate(await first.startSignIn());
  const attacker = new Browser(first.app);
  assertEquals((await attacker.complete(answer)).status, 400);
  assertEquals((await attacker.get('/auth/me')).status, 401);
  assertEquals((await first.complete(answer)).status, 302);
});

test('GET /auth/callback with a replayed authorization code is 400 invalid_grant', async () => {
  const browser = new Browser(await app());
  const used = answerUrl(await browser.authenticate(await browser.startSignIn()));
  assertEquals((await browser.complete({ url: used.href })).status, 302);
  const fresh = await browser.startSignIn();
  const response = await browser.get(
    `/auth/callback?code=${encodeURIComponent(used.searchParams.get('code')!)}&state=${fresh.searchParams.get('state')}&iss=${encodeURIComponent(used.searchParams.get('iss')!)}`,
  );
  assertEquals(response.status, 400);
  assertStringIncludes(await response.text(), 'invalid_grant');
});

test('GET /auth/callback whose iss names another issuer is refused without redeeming the code (RFC 9207)', async () => {
  const browser = new Browser(await app());
  const url = answerUrl(await browser.authenticate(await browser.startSignIn()));
  url.searchParams.set('iss', `${idp.authoritySecondary}/v2.0`);
  assertEquals((await browser.complete({ url: url.href })).status, 400);
  assertEquals(await codeRedemptions(), 0);
});

test('GET /auth/callback with a parameter repeated (code, state or iss twice) is 400 invalid_request before the flow is spent', async () => {
  const browser = new Browser(await app());
  const answer = answerUrl(await browser.authenticate(await browser.startSignIn()));
  for (const name of ['code', 'state', 'iss']) {
    const polluted = new URL(answer);
    polluted.searchParams.append(name, name === 'code' ? 'another-code' : answer.searchParams.get(name)!);
    const response = await browser.complete({ url: polluted.href });
    assertEquals(response.status, 400, `${name} twice`);
    assertStringIncludes(await response.text(), 'invalid_request');
  }
  assertEquals(await codeRedemptions(), 0);
  assertEquals((await browser.complete({ url: answer.href })).status, 302, 'the genuine answer still completes');
});

test("GET /auth/callback shows the provider's error answer by name on a 400 page", async () => {
  const browser = new Browser(await app());
  const state = (await browser.startSignIn()).searchParams.get('state')!;
  const response = await browser.get(`/auth/callback?error=access_denied&error_description=The+user+declined&state=${state}&iss=${encodeURIComponent(`${idp.authority}/v2.0`)}`);
  assertEquals(response.status, 400);
  assertMatch(response.headers.get('content-type') ?? '', /^text\/html/);
  assertEquals(response.headers.get('referrer-policy'), 'no-referrer');
  const page = await response.text();
  assertStringIncludes(page, 'access_denied');
  assertStringIncludes(page, 'The user declined');
});

test('every sign-in sets a new session cookie; a tampered one is no session', async () => {
  const browser = new Browser(await app());
  await browser.signIn();
  const first = browser.cookies.cookies.get('__Host-session')!;
  await browser.signIn();
  const second = browser.cookies.cookies.get('__Host-session')!;
  assert(first !== second, 'a new session cookie');
  assertEquals((await browser.get('/auth/me')).status, 200);
  browser.cookies.cookies.set('__Host-session', second.slice(0, -3) + (second.endsWith('AAA') ? 'BBB' : 'AAA'));
  assertEquals((await browser.get('/auth/me')).status, 401);
  assertEquals((await browser.token()).status, 401);
});

test('GET /auth/login: the 61st from one client address within a minute is 429 with Retry-After; another address is unaffected', async () => {
  const deployment = await app();
  const browser = new Browser(deployment);
  await atStartOfRateLimitWindow(10_000);
  for (let i = 0; i < 60; i++) {
    browser.cookies.cookies.clear();
    assertEquals((await browser.get('/auth/login?returnTo=/')).status, 302, `login #${i + 1}`);
  }
  const limited = await browser.get('/auth/login?returnTo=/');
  assertEquals(limited.status, 429);
  assert(Number(limited.headers.get('retry-after')) > 0, 'Retry-After');
  assertEquals(limited.headers.get('location'), null);
  assertEquals((await new Browser(deployment).get('/auth/login?returnTo=/')).status, 302);
});

test('GET /auth/me answers the account and its ID token claims for a signed-in browser', async () => {
  const browser = new Browser(await app());
  await browser.signIn();
  const me = await browser.get('/auth/me');
  assertEquals(me.status, 200);
  assertEquals(me.headers.get('cache-control'), 'no-store');
  const body = await json<{ account: { username: string; tenantId: string }; claims: { iss: string } }>(me);
  assertEquals(body.account.username, alice.username);
  assertEquals(body.account.tenantId, idp.tenants.primary);
  assertEquals(body.claims.iss, `${idp.authority}/v2.0`);
});

test('GET /auth/me without a session is 401', async () => {
  assertEquals((await new Browser(await app()).get('/auth/me')).status, 401);
});
