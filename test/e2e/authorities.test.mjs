/**
 * The whole sign-in in a real browser at the other authorities MSAL knows: headless Debian Chromium
 * (playwright-core) against the real Worker bundle in workerd (Miniflare 5) and the local identity
 * provider's Azure AD B2C and AD FS surfaces. One stack per deployment, each Worker (and so its Durable
 * Objects, which read the same bindings) configured for that authority alone: B2C with its sign-in user
 * flow (and the password reset flow), AD FS with AUTHORITY_TYPE=adfs. In each: the demo page, Sign in,
 * the provider's login and consent pages, back signed in with the account MSAL builds for that kind, a
 * silent token from the account's Durable Object (from the cache, then refreshed at that authority), and
 * sign-out through the provider's end-session page. For B2C also "Forgot your password?" (AADB2C90118):
 * through the password reset user flow, then sign-in again, never an error page.
 * The rule-by-rule version of these journeys (no browser) is test/workers/authorities.test.ts.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); E2E_CHROMIUM overrides the path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { e2eStack, STEP_TIMEOUT, textOf } from './harness.mjs';

const alice = { username: 'alice@contoso.test', password: 'alice-password' };
/** One browser test: its steps are each bounded by STEP_TIMEOUT; this bounds them all. */
const TEST_TIMEOUT = 90_000;

const B2C_SIGN_IN_FLOW = 'B2C_1_signupsignin';
const B2C_PASSWORD_RESET_FLOW = 'B2C_1_passwordreset';
/** B2C answers a sign-in with an access token only for a resource scope: the B2C tenant's API. */
const B2C_SCOPE = 'https://contosob2c.onmicrosoft.com/api/read';
const ADFS_SCOPE = 'api://downstream/read';

/**
 * Both stacks start side by side (each bundles the Worker, launches Chromium, starts its own provider
 * and its Worker on its own free port); each suite fails on its own stack's start only.
 */
const stacks = {
  b2c: e2eStack({
    tmpPrefix: 'edge-e2e-b2c-',
    workerSettings: (idp) => ({
      AUTHORITY: idp.b2c.authority(B2C_SIGN_IN_FLOW),
      SPA_SCOPES: B2C_SCOPE,
      B2C_PASSWORD_RESET_FLOW,
      // B2C access tokens carry the API's application id as `aud`, not its URI.
      DEMO_API_AUDIENCES: idp.b2c.api.appId,
    }),
  }),
  adfs: e2eStack({
    tmpPrefix: 'edge-e2e-adfs-',
    workerSettings: (idp) => ({
      AUTHORITY: idp.adfs.authority,
      AUTHORITY_TYPE: 'adfs',
      SPA_SCOPES: ADFS_SCOPE,
    }),
  }),
};
const started = {};

before(async () => {
  // One after the other: with the other e2e files running alongside, two Chromiums launching at once on a
  // small machine can miss the launch bound.
  for (const name of Object.keys(stacks)) {
    [started[name]] = await Promise.allSettled([stacks[name].start()]);
  }
}, { timeout: 150_000 });

after(async () => {
  await Promise.all(Object.values(stacks).map((stack) => stack.stop()));
}, { timeout: 40_000 });

/** The stack of a suite, once started (its start's error otherwise). */
function startedStack(name) {
  const result = started[name];
  if (!result) throw new Error(`the ${name} stack was never started`);
  if (result.status === 'rejected') throw result.reason;
  return stacks[name];
}

/** What the page shows, for failure messages. */
async function describePage(page) {
  const text = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '?');
  return `${page.url()}: ${JSON.stringify(text.replace(/\s+/g, ' ').slice(0, 400))}`;
}

/** Waits until the element's text matches (the demo page fills it in asynchronously). */
async function waitForText(page, selector, pattern) {
  try {
    await page.locator(selector).filter({ hasText: pattern }).waitFor({ state: 'visible' });
  } catch (error) {
    throw new Error(`${selector} never matched ${pattern}; the page shows ${await describePage(page)}`, { cause: error });
  }
}

async function waitForUrl(page, predicate, what) {
  try {
    await page.waitForURL(predicate);
  } catch (error) {
    throw new Error(`never reached ${what}; the browser is at ${await describePage(page)}`, { cause: error });
  }
}

/** The payload of a JWT (not verified: the Worker did that; this is what it was given). */
function jwtPayload(jwt) {
  const [, payload] = String(jwt).split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/** One deployment's browser helpers. */
function journeyKit(stack) {
  const { idp, origin } = stack;
  const isIdp = (url) => url.origin === idp.origin;
  const isInteraction = (url) => isIdp(url) && /\/interaction\//.test(url.pathname);
  const isWorkerHome = (url) => url.href === `${origin}/`;
  /** Back from the provider's sign-out: the start page, with the `state` our logout sent echoed back. */
  const isWorkerHomeAfterSignOut = (url) => url.origin === origin && url.pathname === '/' && /^\?state=[\w-]+$/.test(url.search);
  const consentButton = (page) => page.getByRole('button', { name: /continue|authori[sz]e|accept|yes/i });

  /**
   * The provider's pages until the browser leaves them for the Worker: its login page (username +
   * password) first, then whatever it shows (the consent page, asked for offline_access; another login
   * page or consent page of a flow the Worker starts next). @returns the pages answered, in order.
   */
  async function signInAtProvider(page, user, loginPage = isInteraction) {
    await waitForUrl(page, (url) => isInteraction(url) && loginPage(url), "the provider's login page");
    const answered = [];
    for (let step = 0; step < 6; step++) {
      const login = page.locator('input[name="login"]');
      const consent = consentButton(page);
      await login.or(consent).first().waitFor({ state: 'visible' });
      const at = page.url();
      if (await login.count()) {
        answered.push({ kind: 'login', url: new URL(at) });
        await login.fill(user.username);
        await page.locator('input[name="password"]').fill(user.password);
        await Promise.all([page.waitForURL((url) => url.href !== at), page.locator('button[type="submit"]').click()]);
      } else {
        answered.push({ kind: 'consent', url: new URL(at) });
        await Promise.all([page.waitForURL((url) => url.href !== at), consent.click()]);
      }
      await waitForUrl(page, (url) => !isIdp(url) || isInteraction(url), "the provider's next page, or the Worker");
      if (!isIdp(new URL(page.url()))) return answered;
    }
    throw new Error(`still at the provider after six pages: ${await describePage(page)}`);
  }

  /** The local provider's test controls (`/_control/…`), bounded. */
  async function idpControl(method, path, body) {
    const response = await fetch(`${idp.origin}/_control/${path}`, {
      method,
      signal: AbortSignal.timeout(STEP_TIMEOUT),
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    const answer = await response.json();
    assert.equal(response.status, 200, `${method} /_control/${path}: ${JSON.stringify(answer)}`);
    return answer;
  }
  const count = async (key) => (await idpControl('GET', 'counts'))[key] ?? 0;

  /** The signed-in account as the demo page shows it (#account: /auth/me's JSON). */
  async function shownAccount(page) {
    const text = await textOf(page, '#account');
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`#account is not JSON: ${JSON.stringify(text)}`, { cause: error });
    }
  }

  /**
   * Presses "Get a token" and waits for the page's answer. @returns the page's `/auth/token` request body,
   * that endpoint's JSON answer (full access token) and what the page shows.
   */
  async function getToken(page) {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${origin}/auth/token` && r.request().method() === 'POST'),
      page.locator('#get-token').click(),
    ]);
    await waitForText(page, '#token', /access_token|Error/);
    const shown = await textOf(page, '#token');
    assert.equal(response.status(), 200, `POST /auth/token answered ${response.status()}: ${shown}`);
    return { request: response.request().postDataJSON(), body: await response.json(), shown: JSON.parse(shown) };
  }

  /** /auth/token as the page's script calls it (same-origin cookies, CSRF header), with a forced refresh. */
  function refreshedToken(page, scopes) {
    return page.evaluate(async (request) => {
      const response = await fetch('/auth/token', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-requested-with': 'fetch' },
        body: JSON.stringify(request),
      });
      return { status: response.status, body: await response.json() };
    }, { scopes, force_refresh: true });
  }

  /**
   * Sign out from the demo page: POST /auth/logout (302), the provider's end-session page at `endSession`
   * (confirmed), back on the demo page signed out; the session cookie gone and /auth/me 401.
   */
  async function signOut(journey, endSession) {
    const { context, page } = journey;
    const [logout] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${origin}/auth/logout` && r.request().method() === 'POST'),
      page.locator('#sign-out').click(),
    ]);
    assert.equal(logout.status(), 302, `POST /auth/logout: ${await describePage(page)}`);
    const target = new URL((await logout.allHeaders()).location, origin);
    assert.equal(target.origin, idp.origin, `/auth/logout sends the browser to the provider's end-session endpoint: ${target}`);
    assert.match(target.pathname, endSession, 'the end-session endpoint of this authority');
    assert.ok(target.searchParams.get('id_token_hint'), 'with the ID token as a hint');
    assert.equal(target.searchParams.get('post_logout_redirect_uri'), `${origin}/`);
    await waitForUrl(page, (url) => isIdp(url) || isWorkerHomeAfterSignOut(url), "the provider's end-session page");
    if (isIdp(new URL(page.url()))) {
      const confirm = page.locator('button[name="logout"][value="yes"]');
      await confirm.waitFor({ state: 'visible' });
      await confirm.click();
      await waitForUrl(page, isWorkerHomeAfterSignOut, `${origin}/?state=… after the provider's sign-out`);
    }
    await waitForText(page, '#status', /not signed in/i);
    assert.ok(await page.locator('#sign-in').isVisible(), 'Sign in is offered again');
    assert.ok(!(await context.cookies(origin)).some((c) => c.name === 'session'), 'the session cookie is gone');
    const me = await page.evaluate(async () => (await fetch('/auth/me', { credentials: 'same-origin' })).status);
    assert.equal(me, 401);
  }

  /**
   * A fresh browser profile that records every top-level navigation response (redirect hops included),
   * to tell which pages the browser went through and that none of them was an error.
   */
  async function newJourney() {
    const journey = await stack.newPage();
    journey.navigations = [];
    journey.page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === journey.page.mainFrame()) {
        journey.navigations.push({ url: new URL(response.url()), status: response.status() });
      }
    });
    return journey;
  }

  /** Presses "Call the demo API" (after "Get a token") and returns what the page shows: `<status> <JSON>`. */
  async function callDemoApi(page) {
    await page.locator('#call-api').click();
    await waitForText(page, '#api', /^\s*\d{3} /);
    return textOf(page, '#api');
  }

  /** The navigations that answered an error (4xx/5xx), as text. */
  const failedNavigations = (journey) => journey.navigations.filter((n) => n.status >= 400).map((n) => `${n.status} ${n.url.href}`);

  return {
    idp, origin, isIdp, isInteraction, isWorkerHome, signInAtProvider, idpControl, count, shownAccount, getToken, refreshedToken, callDemoApi, signOut, newJourney, failedNavigations,
  };
}

describe('Azure AD B2C (AUTHORITY = the B2C_1_signupsignin user flow) in Chromium', () => {
  let kit;
  let b2cAlice;
  let journey;
  const authorizePath = (flow) => new RegExp(`^/contosob2c\\.onmicrosoft\\.com/${flow}/oauth2/v2\\.0/authorize$`, 'i');
  /** The user flow (lower-case) of a provider URL under the B2C tenant, if any. */
  const flowOf = (url) => /^\/(?:tfp\/)?contosob2c\.onmicrosoft\.com\/(b2c_1_\w+)\//i.exec(url.pathname)?.[1]?.toLowerCase();

  before(async () => {
    kit = journeyKit(startedStack('b2c'));
    b2cAlice = kit.idp.b2c.users.find((u) => u.username === alice.username);
    assert.ok(b2cAlice, 'the provider has a B2C alice');
    assert.deepEqual(Object.values(kit.idp.b2c.policies).slice(0, 2), [B2C_SIGN_IN_FLOW, B2C_PASSWORD_RESET_FLOW], 'the provider has these user flows');
    journey = await kit.newJourney();
  }, { timeout: 30_000 });
  after(async () => {
    await journey?.context.close();
  });

  test('signed out, the demo page offers Sign in', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = journey;
    const home = await page.goto(`${kit.origin}/`);
    assert.equal(home.status(), 200);
    await waitForText(page, '#status', /not signed in/i);
    assert.ok(await page.locator('#sign-in').isVisible(), 'the Sign in link is visible');
  });

  test("Sign in: the sign-in user flow's login and consent pages, then back signed in with alice's B2C account", { timeout: TEST_TIMEOUT }, async () => {
    const { page } = journey;
    const authorizeBefore = await kit.count('b2c:authorize');
    await page.locator('#sign-in').click();
    const answered = await kit.signInAtProvider(page, alice);
    await waitForUrl(page, kit.isWorkerHome, `${kit.origin}/`);
    await waitForText(page, '#status', /you are signed in/i);
    assert.equal(await textOf(page, '#username'), b2cAlice.emails[0], 'the username is her email (B2C has no preferred_username)');
    const pages = answered.map((a) => `${a.kind} ${a.url.pathname}`);
    assert.equal(answered[0].kind, 'login', pages.join(', '));
    assert.ok(answered.every((a) => flowOf(a.url) === B2C_SIGN_IN_FLOW.toLowerCase()), `the sign-in user flow's pages: ${pages.join(', ')}`);

    // The browser went to the sign-in flow's authorize endpoint, asking for the B2C API scope.
    const authorize = journey.navigations.filter((n) => kit.isIdp(n.url) && /\/authorize$/.test(n.url.pathname));
    assert.equal(authorize.length, 1, `one authorize request: ${authorize.map((n) => n.url.href).join(', ')}`);
    assert.match(authorize[0].url.pathname, authorizePath(B2C_SIGN_IN_FLOW));
    assert.ok(authorize[0].url.searchParams.get('scope').split(' ').includes(B2C_SCOPE), `scope ${authorize[0].url.searchParams.get('scope')}`);
    assert.equal(await kit.count('b2c:authorize'), authorizeBefore + 1);
    assert.deepEqual(kit.failedNavigations(journey), [], 'no error page on the way');

    const { account, claims } = await kit.shownAccount(page);
    assert.equal(account.homeAccountId, `${b2cAlice.oid}-${B2C_SIGN_IN_FLOW.toLowerCase()}.${kit.idp.b2c.tenantId}`, 'home account id: <oid>-<user flow>.<B2C tenant id>');
    assert.equal(account.tenantId, kit.idp.b2c.tenantId);
    assert.equal(account.username, b2cAlice.emails[0]);
    assert.equal(account.localAccountId, b2cAlice.oid);
    assert.equal(account.environment, new URL(kit.idp.origin).host);
    assert.equal(claims.sub, b2cAlice.oid);
    assert.equal(claims.oid, b2cAlice.oid);
    assert.equal(claims.iss, kit.idp.b2c.issuer, 'an ID token of the B2C tenant');
  });

  test('Get a token: the B2C API token from the account, then a refresh at the sign-in user flow', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = journey;
    const refreshesBefore = await kit.count('b2c:token:refresh_token');
    const { request, body, shown } = await kit.getToken(page);
    assert.deepEqual(request.scopes, [B2C_SCOPE], 'the page asks for the B2C API scope');
    assert.match(shown.access_token, /^eyJ/);
    assert.equal(shown.token_type, 'Bearer');
    assert.ok(shown.scope.split(' ').includes(B2C_SCOPE), `scope ${shown.scope}`);
    assert.ok(shown.expires_in > 0);
    const at = jwtPayload(body.access_token);
    assert.equal(at.aud, kit.idp.b2c.api.appId, "for the B2C API (aud = its app id)");
    assert.match(String(at.scp), /(^| )read( |$)/);
    assert.equal(at.oid, b2cAlice.oid, "alice's");
    assert.equal(at.tfp, B2C_SIGN_IN_FLOW, 'issued by the sign-in user flow');
    assert.equal(at.iss, kit.idp.b2c.issuer);

    // A refresh: the account's Durable Object redeems its refresh token at the sign-in flow's token endpoint.
    const refreshed = await kit.refreshedToken(page, [B2C_SCOPE]);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.token_source, 'identity_provider');
    assert.equal(await kit.count('b2c:token:refresh_token'), refreshesBefore + 1, 'one refresh at the B2C token endpoint');
    const again = jwtPayload(refreshed.body.access_token);
    assert.equal(again.aud, kit.idp.b2c.api.appId);
    assert.equal(again.oid, b2cAlice.oid);
    assert.equal(again.tfp, B2C_SIGN_IN_FLOW, "refreshed at the sign-in user flow (the account's authority)");
    assert.notEqual(refreshed.body.access_token, body.access_token);
  });

  test('Call the demo API with that token: 200', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const text = await kit.callDemoApi(journey.page);
    assert.match(text, /^200 /, text);
  });

  test("Sign out: through the sign-in user flow's end-session page, back signed out", { timeout: TEST_TIMEOUT }, async () => {
    await kit.signOut(journey, new RegExp(`^/contosob2c\\.onmicrosoft\\.com/${B2C_SIGN_IN_FLOW}/oauth2/v2\\.0/logout$`, 'i'));
    assert.deepEqual(journey.problems, [], 'no script errors during the journey');
  });

  test('"Forgot your password?": through the password reset user flow, then sign-in again, back signed in; no error page', { timeout: TEST_TIMEOUT }, async () => {
    const forgot = await kit.newJourney();
    try {
      const { page } = forgot;
      await page.goto(`${kit.origin}/`);
      await waitForText(page, '#status', /not signed in/i);
      const authorizeBefore = await kit.count('b2c:authorize');
      // The user clicks "Forgot your password?" on the sign-in page: B2C answers the sign-in with AADB2C90118.
      await kit.idpControl('POST', 'fault', { endpoint: 'b2c:authorize', kind: 'b2c_forgot_password' });
      await page.locator('#sign-in').click();

      // The password reset flow's page (here a login page: its form itself is not simulated).
      const isResetPage = (url) => flowOf(url) === B2C_PASSWORD_RESET_FLOW.toLowerCase();
      // The reset flow's login page first; then its consent, and back through /auth/callback and /auth/login
      // to the sign-in flow, which may ask again (its own consent, or login) before the demo page.
      const answered = await kit.signInAtProvider(page, alice, isResetPage);
      const pages = answered.map((a) => `${a.kind} ${a.url.pathname}`);
      assert.equal(answered[0].kind, 'login', `pages answered: ${pages.join(', ')}`);
      assert.ok(isResetPage(answered[0].url), `the first page is the password reset flow's: ${pages.join(', ')}`);
      // Every page of the reset flow, then every page of the sign-in flow (at least its consent).
      const flows = answered.map((a) => flowOf(a.url));
      const firstSignIn = flows.indexOf(B2C_SIGN_IN_FLOW.toLowerCase());
      assert.ok(firstSignIn > 0, `the sign-in flow again after the reset: ${pages.join(', ')}`);
      assert.ok(flows.slice(0, firstSignIn).every((f) => f === B2C_PASSWORD_RESET_FLOW.toLowerCase()) && flows.slice(firstSignIn).every((f) => f === B2C_SIGN_IN_FLOW.toLowerCase()), `pages answered: ${pages.join(', ')}`);
      await waitForUrl(page, kit.isWorkerHome, `${kit.origin}/ after the password reset`);
      await waitForText(page, '#status', /you are signed in/i);
      assert.equal(await textOf(page, '#username'), b2cAlice.emails[0]);
      const { account } = await kit.shownAccount(page);
      assert.equal(account.homeAccountId, `${b2cAlice.oid}-${B2C_SIGN_IN_FLOW.toLowerCase()}.${kit.idp.b2c.tenantId}`, "the sign-in flow's account, not the reset flow's");

      const steps = forgot.navigations.map((n) => `${n.status} ${n.url.origin === kit.origin ? '' : '(idp) '}${n.url.pathname}${n.url.origin === kit.origin ? n.url.search : ''}`);
      assert.deepEqual(kit.failedNavigations(forgot), [], `no error page on the way: ${steps.join(' → ')}`);
      // authorize: sign-in (answered AADB2C90118 at once), password reset, sign-in again.
      const authorize = forgot.navigations.filter((n) => kit.isIdp(n.url) && /\/authorize$/.test(n.url.pathname));
      assert.deepEqual(authorize.map((n) => flowOf(n.url)), [B2C_SIGN_IN_FLOW, B2C_PASSWORD_RESET_FLOW, B2C_SIGN_IN_FLOW].map((f) => f.toLowerCase()), `authorize requests: ${steps.join(' → ')}`);
      assert.equal(await kit.count('b2c:authorize'), authorizeBefore + 3);
      // The AADB2C90118 answer came back to /auth/callback, which sent the browser to the reset flow.
      const callbacks = forgot.navigations.filter((n) => n.url.origin === kit.origin && n.url.pathname === '/auth/callback');
      assert.equal(callbacks.length, 3, `three callbacks (forgotten password, reset, sign-in): ${steps.join(' → ')}`);
      assert.equal(callbacks[0].url.searchParams.get('error'), 'access_denied');
      assert.match(callbacks[0].url.searchParams.get('error_description'), /^AADB2C90118\b/);
      assert.ok(callbacks.every((n) => n.status === 302), `each callback redirects: ${steps.join(' → ')}`);
      const resetStart = forgot.navigations.find((n) => n.url.origin === kit.origin && n.url.pathname === '/auth/login' && n.url.searchParams.get('flow') === 'password_reset');
      assert.ok(resetStart, `the Worker started the password reset flow: ${steps.join(' → ')}`);
      assert.ok(forgot.navigations.some((n) => isResetPage(n.url) && kit.isInteraction(n.url)), 'the browser went through the reset flow\'s page');
      assert.deepEqual(forgot.problems, [], 'no script errors');
    } finally {
      await forgot.context.close();
    }
  });
});

describe('AD FS (AUTHORITY = /adfs, AUTHORITY_TYPE=adfs) in Chromium', () => {
  let kit;
  let adfsAlice;
  let journey;

  before(async () => {
    kit = journeyKit(startedStack('adfs'));
    adfsAlice = kit.idp.adfs.users.find((u) => u.username === alice.username);
    assert.ok(adfsAlice, 'the provider has an AD FS alice');
    journey = await kit.newJourney();
  }, { timeout: 30_000 });
  after(async () => {
    await journey?.context.close();
  });

  test('signed out, the demo page offers Sign in', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = journey;
    const home = await page.goto(`${kit.origin}/`);
    assert.equal(home.status(), 200);
    await waitForText(page, '#status', /not signed in/i);
    assert.ok(await page.locator('#sign-in').isVisible(), 'the Sign in link is visible');
  });

  test("Sign in: AD FS's login and consent pages, then back signed in with alice's AD FS account", { timeout: TEST_TIMEOUT }, async () => {
    const { page } = journey;
    const authorizeBefore = await kit.count('adfs:authorize');
    await page.locator('#sign-in').click();
    const answered = await kit.signInAtProvider(page, alice);
    await waitForUrl(page, kit.isWorkerHome, `${kit.origin}/`);
    await waitForText(page, '#status', /you are signed in/i);
    assert.equal(await textOf(page, '#username'), adfsAlice.upn, 'the username is her upn');
    const pages = answered.map((a) => `${a.kind} ${a.url.pathname}`);
    assert.equal(answered[0].kind, 'login', pages.join(', '));
    assert.ok(answered.every((a) => a.url.pathname.startsWith('/adfs/')), `AD FS's pages: ${pages.join(', ')}`);

    const authorize = journey.navigations.filter((n) => kit.isIdp(n.url) && /\/authorize$/.test(n.url.pathname));
    assert.equal(authorize.length, 1, `one authorize request: ${authorize.map((n) => n.url.href).join(', ')}`);
    assert.equal(authorize[0].url.pathname, '/adfs/oauth2/authorize');
    assert.ok(authorize[0].url.searchParams.get('scope').split(' ').includes(ADFS_SCOPE), `scope ${authorize[0].url.searchParams.get('scope')}`);
    assert.equal(await kit.count('adfs:authorize'), authorizeBefore + 1);
    assert.deepEqual(kit.failedNavigations(journey), [], 'no error page on the way');

    const { account, claims } = await kit.shownAccount(page);
    assert.equal(account.homeAccountId, adfsAlice.sub, "home account id: the ID token's sub (AD FS sends no client_info)");
    assert.equal(account.tenantId, 'adfs');
    assert.equal(account.username, adfsAlice.upn);
    assert.equal(account.localAccountId, adfsAlice.sub);
    assert.equal(account.environment, new URL(kit.idp.origin).host);
    assert.equal(claims.sub, adfsAlice.sub);
    assert.equal(claims.iss, kit.idp.adfs.issuer, 'an ID token of AD FS');
  });

  test('Get a token: the downstream API token from the account, then a refresh at AD FS', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = journey;
    const refreshesBefore = await kit.count('adfs:token:refresh_token');
    const { request, body, shown } = await kit.getToken(page);
    assert.deepEqual(request.scopes, [ADFS_SCOPE], 'the page asks for the SPA scope');
    assert.match(shown.access_token, /^eyJ/);
    assert.match(shown.token_type, /^bearer$/i);
    assert.ok(shown.scope.split(' ').includes(ADFS_SCOPE), `scope ${shown.scope}`);
    assert.ok(shown.expires_in > 0);
    const at = jwtPayload(body.access_token);
    assert.equal(at.aud, 'api://downstream');
    assert.match(String(at.scp), /(^| )read( |$)/);
    assert.equal(at.upn, adfsAlice.upn, "alice's");
    assert.equal(at.sub, adfsAlice.sub);
    assert.equal(at.appid, kit.idp.clients.webApp.clientId);
    assert.equal(at.iss, kit.idp.adfs.accessTokenIssuer, "AD FS's access-token issuer");

    const refreshed = await kit.refreshedToken(page, [ADFS_SCOPE]);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.token_source, 'identity_provider');
    assert.equal(await kit.count('adfs:token:refresh_token'), refreshesBefore + 1, 'one refresh at the AD FS token endpoint');
    const again = jwtPayload(refreshed.body.access_token);
    assert.equal(again.aud, 'api://downstream');
    assert.equal(again.sub, adfsAlice.sub);
    assert.notEqual(refreshed.body.access_token, body.access_token);
  });

  test('Call the demo API with that token: 200', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const text = await kit.callDemoApi(journey.page);
    assert.match(text, /^200 /, text);
  });

  test("Sign out: through AD FS's end-session page, back signed out", { timeout: TEST_TIMEOUT }, async () => {
    await kit.signOut(journey, /^\/adfs\/oauth2\/logout$/);
    assert.deepEqual(journey.problems, [], 'no script errors during the journey');
  });
});
