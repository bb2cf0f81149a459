/**
 * The sign-in journey in a real browser, for each runtime that serves the app: headless Debian Chromium
 * (playwright-core, no downloaded browser) against the app (the real Worker bundle in workerd, or the
 * Deno server: see harness.mjs) and the local identity provider. The fast, rule-by-rule sign-in tests
 * live in test/workers/sign-in.test.ts; this one checks what only a browser decides: redirects followed,
 * cookies stored and sent (HttpOnly, SameSite), the demo page's script, CSP, and the provider's real
 * login / consent / sign-out pages. It also drives the middle tier: the demo page's token for this app's
 * API, exchanged on behalf of the user by `/api/profile`, and a Conditional Access step-up (the
 * provider's `step_up` fault on the OBO grant) answered by signing in again with the claims challenge.
 *
 *   const stack = e2eStack({ tmpPrefix: 'edge-e2e-', workerSettings: SIGN_IN_SETTINGS });
 *   signInSuites(stack);   // starts and stops the stack, and declares the suites
 *
 * Used by sign-in.test.mjs (the Worker) and sign-in-deno.test.mjs (the Deno server). One call per test
 * file: the suites share this module's state.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cacheDir } from '../../scripts/toolchain.mjs';
import { textOf } from './harness.mjs';

const alice = { username: 'alice@contoso.test', password: 'alice-password' };
const bob = { username: 'bob@contoso.test', password: 'bob-password' };
/** The Worker's own API (the resource of the SPA's middle-tier scope): `api://<CLIENT_ID>`. */
const MIDDLE_TIER_SCOPE = 'api://web-app/access_as_user';

/** The app's settings the journey needs, besides the shared ones of e2eStack. */
export const SIGN_IN_SETTINGS = Object.freeze({
  // The demo API's scope first (what /api/demo accepts), then this app's own API (/api/profile).
  SPA_SCOPES: `api://downstream/read ${MIDDLE_TIER_SCOPE}`,
  API_SCOPE: 'access_as_user',
  OBO_SCOPES: 'api://downstream/read',
});

let stack;
let idp;
let origin; // http://localhost:<app port>

/**
 * Starts `stack` before the suites and stops it after them, and declares the two suites: the journey
 * (sign in, token, demo API, middle tier, sign out, a callback opened in another browser) and the
 * middle tier's step-up.
 * @param {ReturnType<typeof import('./harness.mjs').e2eStack>} e2e  a stack made with SIGN_IN_SETTINGS
 * @param {object} [o]
 * @param {{ journey?: string, stepUp?: string }} [o.titles]  the suites' names
 * @param {string} [o.screenshotPrefix]  the screenshots' file names in .cache/ (`<prefix>-signed-in.png`, …)
 */
export function signInSuites(e2e, { titles: titleOptions = {}, screenshotPrefix = 'e2e' } = {}) {
  assert.equal(stack, undefined, 'signInSuites: once per test file');
  stack = e2e;
  const titles = {
    journey: 'sign-in in Chromium against the Worker in workerd',
    stepUp: 'the middle tier in Chromium: a Conditional Access step-up, answered by signing in again',
    ...titleOptions,
  };

  before(async () => {
    await stack.start();
    ({ idp, origin } = stack);
  }, { timeout: 150_000 });

  after(() => stack.stop(), { timeout: 40_000 });

  describe(titles.journey, () => {
    /** One browser profile for the whole journey, step by step. */
    let journey;

    before(async () => {
      journey = await newPage();
    });
    after(async () => {
      await journey?.context.close();
    });

    test('signed out, the demo page offers Sign in', async () => {
      const { page } = journey;
      const home = await page.goto(`${origin}/`);
      assert.equal(home.status(), 200);
      await waitForText(page, '#status', /not signed in/i);
      assert.ok(await page.locator('#sign-in').isVisible(), 'the Sign in link is visible');
      assert.equal(await page.locator('#signed-in').isVisible(), false);
    });

    test('Sign in: the provider login and consent pages, then back signed in as alice', async () => {
      const { page } = journey;
      await page.locator('#sign-in').click();
      await signInAtProvider(page, alice);
      await waitForUrl(page, isWorkerHome, `${origin}/`);
      await waitForText(page, '#status', /you are signed in/i);
      assert.equal(await textOf(page, '#username'), alice.username);
    });

    test('the session cookie is HttpOnly, SameSite=Lax and not in document.cookie', async () => {
      const { context, page } = journey;
      const cookies = await context.cookies(origin);
      const session = cookies.find((c) => c.name === 'session');
      assert.ok(session, `a session cookie for ${origin}: got ${cookies.map((c) => c.name).join(', ') || 'none'}`);
      assert.equal(session.httpOnly, true, 'HttpOnly');
      assert.equal(session.sameSite, 'Lax', 'SameSite=Lax');
      assert.equal(session.path, '/');
      assert.ok(!cookies.some((c) => c.name.startsWith('txn-')), 'the transaction cookie was cleared by the callback');
      const documentCookie = await page.evaluate(() => document.cookie);
      assert.ok(!/(^|;\s*)session=/.test(documentCookie), `document.cookie shows the session: ${documentCookie}`);
    });

    test('Get a token, then Call the demo API with it (200, aud api://downstream)', async () => {
      const { page } = journey;
      await page.locator('#get-token').click();
      await waitForText(page, '#token', /access_token|Error/);
      const token = JSON.parse(await textOf(page, '#token'));
      assert.match(token.access_token, /^eyJ/);
      assert.equal(token.token_type, 'Bearer');
      assert.match(token.scope, /api:\/\/downstream\/read/);
      assert.ok(token.expires_in > 0);
      await page.locator('#call-api').click();
      await waitForText(page, '#api', /^\s*\d{3} /);
      const apiText = await textOf(page, '#api');
      assert.match(apiText, /^200 /, apiText);
      const api = JSON.parse(apiText.slice(4));
      assert.equal(api.aud, 'api://downstream');
      assert.match(api.message, /accepted your token/);
      await mkdir(cacheDir, { recursive: true });
      await page.screenshot({ path: join(cacheDir, `${screenshotPrefix}-signed-in.png`), fullPage: true });
    });

    test("Call the API through the middle tier: alice's profile, with the demo API's answer to a token obtained on her behalf", async () => {
      const { page } = journey;
      assert.equal(await page.locator('#call-profile').textContent(), 'Call the API through the middle tier');
      const exchangesBefore = await oboExchanges();
      const { status, body, text } = await callMiddleTier(page);
      assert.equal(status, 200, text);
      assertProfile(body, alice, text);
      assert.equal(await oboExchanges(), exchangesBefore + 1, 'one on-behalf-of exchange');
      assert.equal(await page.locator('#step-up').isVisible(), false, 'no challenge shown');

      // Again: the same assertion, so the downstream token comes from the cache (no second exchange).
      const again = await callMiddleTier(page);
      assert.equal(again.status, 200, again.text);
      assertProfile(again.body, alice, again.text);
      assert.equal(await oboExchanges(), exchangesBefore + 1, 'the second call was served from the OBO cache');
    });

    test("Sign out: through the provider's end-session page, back signed out; /auth/me is 401", async () => {
      const { context, page, problems } = journey;
      const [logout] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${origin}/auth/logout` && r.request().method() === 'POST'),
        page.locator('#sign-out').click(),
      ]);
      if (logout.status() !== 302) {
        const sent = await logout.request().allHeaders();
        assert.fail(`POST /auth/logout answered ${logout.status()} (the form was sent with Origin: ${sent.origin ?? '(none)'}): ${await describePage(page)}`);
      }
      await waitForUrl(page, (url) => isIdp(url) || isWorkerHomeAfterSignOut(url), "the provider's end-session page");
      if (isIdp(new URL(page.url()))) {
        assert.match(new URL(page.url()).pathname, /\/oauth2\/v2\.0\/logout$/);
        const confirm = page.locator('button[name="logout"][value="yes"]');
        await confirm.waitFor({ state: 'visible' });
        await confirm.click();
        await waitForUrl(page, isWorkerHomeAfterSignOut, `${origin}/?state=… after the provider's sign-out`);
      }
      await waitForText(page, '#status', /not signed in/i);
      assert.ok(await page.locator('#sign-in').isVisible());
      assert.ok(!(await context.cookies(origin)).some((c) => c.name === 'session'), 'the session cookie is gone');
      const me = await page.evaluate(async () => (await fetch('/auth/me', { credentials: 'same-origin' })).status);
      assert.equal(me, 401);
      assert.deepEqual(problems, [], 'no script errors during the journey');
    });

    test('a callback URL opened in another browser is refused (400), and does not spoil the sign-in', async () => {
      const first = await newPage();
      const second = await newPage();
      try {
        // The first browser signs in, but the provider's redirect back to /auth/callback is held.
        const held = holdCallback(first.page);
        await first.page.goto(`${origin}/auth/login?returnTo=/`);
        await signInAtProvider(first.page, alice);
        const callbackUrl = await held;
        const params = new URL(callbackUrl).searchParams;
        assert.ok(params.get('code') && params.get('state'), `code and state in ${callbackUrl}`);
        assert.ok((await first.context.cookies(origin)).some((c) => c.name.startsWith('txn-')), 'the first browser holds the transaction cookie');

        // Another browser (no transaction cookie) opens it: refused, and no session for it.
        const response = await second.page.goto(callbackUrl);
        assert.equal(response.status(), 400, await describePage(second.page));
        assert.match(await second.page.locator('body').innerText(), /state_mismatch/);
        assert.ok(!(await second.context.cookies(origin)).some((c) => c.name === 'session'), 'no session in the other browser');
        // (the error page's CSP forbids fetch; the context's request client sends the same cookies)
        assert.equal((await second.context.request.get(`${origin}/auth/me`)).status(), 401);

        // The browser that started the sign-in still completes it with the same URL.
        await first.page.goto(callbackUrl);
        await waitForUrl(first.page, isWorkerHome, `${origin}/ after the held callback`);
        await waitForText(first.page, '#username', alice.username);
      } finally {
        await first.context.close();
        await second.context.close();
      }
    });
  });

  describe(titles.stepUp, () => {
    // Bob, whose tokens nothing has cached yet: his first middle-tier call is an exchange at the provider.
    let flow;
    /** Every navigation to the provider's authorize endpoint, in order (redirect hops included). */
    const authorizeRequests = [];
    let challenge; // the claims challenge (JSON text) of the step-up

    before(async () => {
      flow = await newPage();
      flow.page.on('request', (request) => {
        const url = new URL(request.url());
        if (isIdp(url) && url.pathname.endsWith('/oauth2/v2.0/authorize')) authorizeRequests.push(url);
      });
    });
    after(async () => {
      await flow?.context.close();
    });

    test('bob signs in (no claims in that authorize request)', async () => {
      const { page } = flow;
      await page.goto(`${origin}/`);
      await waitForText(page, '#status', /not signed in/i);
      await page.locator('#sign-in').click();
      await signInAtProvider(page, bob);
      await waitForUrl(page, isWorkerHome, `${origin}/`);
      await waitForText(page, '#username', bob.username);
      assert.equal(authorizeRequests.length, 1, `authorize requests: ${authorizeRequests.join(', ')}`);
      assert.equal(authorizeRequests[0].searchParams.has('claims'), false);
    });

    test('the provider demands a step-up on the exchange: /api/profile answers 401 insufficient_claims, the page shows the challenge', async () => {
      const { page } = flow;
      const exchangesBefore = await oboExchanges();
      await idpControl('POST', 'fault', { endpoint: 'token:jwt-bearer', kind: 'step_up' });
      const { response, status, body, text } = await callMiddleTier(page);
      assert.equal(status, 401, text);
      assert.equal(await oboExchanges(), exchangesBefore + 1, 'the provider was asked once, and refused');

      const header = (await response.allHeaders())['www-authenticate'] ?? '';
      assert.match(header, /^Bearer .*\berror="insufficient_claims"/, `WWW-Authenticate: ${header}`);
      const encoded = /\bclaims="([^"]+)"/.exec(header)?.[1];
      assert.ok(encoded, `a claims parameter in WWW-Authenticate: ${header}`);
      challenge = Buffer.from(encoded, 'base64').toString('utf8');
      const parsed = JSON.parse(challenge);
      assert.ok(parsed.access_token, `an access-token claims challenge: ${challenge}`);
      assert.equal(body.error, 'interaction_required', text);
      assert.equal(body.suberror, 'basic_action', text);
      assert.deepEqual(JSON.parse(body.claims), parsed, 'the JSON error carries the same challenge');

      await page.locator('#step-up').waitFor({ state: 'visible' });
      assert.deepEqual(JSON.parse(await textOf(page, '#challenge')), parsed, 'the page shows the decoded challenge');
      const link = new URL(await page.locator('#sign-in-again').getAttribute('href'), origin);
      assert.equal(link.origin, origin);
      assert.equal(link.pathname, '/auth/login');
      assert.equal(link.searchParams.get('returnTo'), '/');
      assert.deepEqual(JSON.parse(link.searchParams.get('claims')), parsed);
      await mkdir(cacheDir, { recursive: true });
      await page.screenshot({ path: join(cacheDir, `${screenshotPrefix}-step-up.png`), fullPage: true });
    });

    test('Sign in again: the authorize request carries the challenge; back on the page, the button succeeds', async () => {
      assert.ok(challenge, 'the step-up test ran');
      const { page, problems } = flow;
      const seen = authorizeRequests.length;
      await page.locator('#sign-in-again').click();
      await answerProviderPrompts(page, bob);
      await waitForUrl(page, isWorkerHome, `${origin}/ after signing in again`);
      await waitForText(page, '#username', bob.username);

      const again = authorizeRequests.slice(seen);
      assert.equal(again.length, 1, `authorize requests of the second sign-in: ${again.join(', ')}`);
      const claims = again[0].searchParams.get('claims');
      assert.ok(claims, `the second sign-in's authorize request carries claims: ${again[0]}`);
      assert.deepEqual(JSON.parse(claims), JSON.parse(challenge));

      const exchangesBefore = await oboExchanges();
      const { status, body, text, tokenRequest } = await callMiddleTier(page);
      assert.equal(status, 200, text);
      assertProfile(body, bob, text);
      assert.equal(tokenRequest.force_refresh, true, 'after signing in again, a new token for the API (not the refused one from the cache)');
      assert.equal(await oboExchanges(), exchangesBefore + 1, 'the retry was a new exchange, not a cached answer');
      assert.equal(await page.locator('#step-up').isVisible(), false, 'the challenge is gone');
      assert.deepEqual(problems, [], 'no script errors');
    });
  });
}

const newPage = () => stack.newPage();

const isIdp = (url) => url.origin === idp.origin;
const isWorkerHome = (url) => url.href === `${origin}/`;
/** Back from the provider's sign-out: the start page, with the `state` our logout sent echoed back. */
const isWorkerHomeAfterSignOut = (url) => url.origin === origin && url.pathname === '/' && /^\?state=[\w-]+$/.test(url.search);

/** What the page shows, for failure messages. */
async function describePage(page) {
  const text = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '?');
  return `${page.url()}: ${JSON.stringify(text.replace(/\s+/g, ' ').slice(0, 300))}`;
}

/** Waits until the element's text matches (the demo page fills it in asynchronously). */
async function waitForText(page, selector, pattern) {
  try {
    await page.locator(selector).filter({ hasText: pattern }).waitFor({ state: 'visible' });
  } catch (error) {
    throw new Error(`${selector} never matched ${pattern}; it shows ${JSON.stringify(await textOf(page, selector).catch(() => '?'))} at ${page.url()}`, { cause: error });
  }
}

async function waitForUrl(page, predicate, what) {
  try {
    await page.waitForURL(predicate);
  } catch (error) {
    throw new Error(`never reached ${what}; the browser is at ${await describePage(page)}`, { cause: error });
  }
}

/** The provider's login page (devInteractions): username + password, then its consent page. */
async function signInAtProvider(page, user) {
  await waitForUrl(page, (url) => isIdp(url) && /\/interaction\//.test(url.pathname), "the provider's login page");
  const login = page.locator('input[name="login"]');
  await login.waitFor({ state: 'visible' });
  await login.fill(user.username);
  await page.locator('input[name="password"]').fill(user.password);
  await Promise.all([page.waitForURL((url) => isIdp(url) && /\/interaction\//.test(url.pathname)), page.locator('button[type="submit"]').click()]);
  // Consent (always shown: the Worker asks for offline_access).
  assert.equal(await page.locator('input[name="login"]').count(), 0, `still on the login page: ${await describePage(page)}`);
  const consent = page.getByRole('button', { name: /continue|authori[sz]e|accept|yes/i });
  await consent.waitFor({ state: 'visible' });
  await consent.click();
}

/**
 * Signing in again while the provider still has a session: it may skip the login page and show only
 * the consent page (or neither). Answers whatever it shows until the browser is back on the demo page.
 */
async function answerProviderPrompts(page, user) {
  const isInteraction = (url) => isIdp(url) && /\/interaction\//.test(url.pathname);
  for (let step = 0; step < 3; step++) {
    await waitForUrl(page, (url) => isInteraction(url) || isWorkerHome(url), "the provider's login or consent page, or the demo page");
    if (isWorkerHome(new URL(page.url()))) return;
    const login = page.locator('input[name="login"]');
    const consent = page.getByRole('button', { name: /continue|authori[sz]e|accept|yes/i });
    await login.or(consent).first().waitFor({ state: 'visible' });
    if (await login.count()) return signInAtProvider(page, user);
    const at = page.url();
    await Promise.all([page.waitForURL((url) => url.href !== at), consent.click()]);
  }
  throw new Error(`still at the provider after three prompts: ${await describePage(page)}`);
}

/** The local provider's test controls (`/_control/…`). */
async function idpControl(method, path, body) {
  const response = await fetch(`${idp.origin}/_control/${path}`, {
    method,
    ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, `${method} /_control/${path}: ${JSON.stringify(answer)}`);
  return answer;
}

/** How many on-behalf-of exchanges (jwt-bearer grants) the provider has answered, refused ones included. */
async function oboExchanges() {
  return (await idpControl('GET', 'counts'))['token:jwt-bearer'] ?? 0;
}

const oidOf = (user) => {
  const found = idp.users.find((u) => u.username === user.username);
  assert.ok(found, `the provider knows ${user.username}`);
  return found.oid;
};

/** The access token's `aud` as the demo API and the middle tier may show it (Entra: a string). */
const audiences = (aud) => (Array.isArray(aud) ? aud : [aud]);

/**
 * Presses "Call the API through the middle tier" and waits for its answer on the page.
 * @returns the `/api/profile` response (Playwright's), its status and JSON body as the page shows them,
 *   and the body of the page's `/auth/token` request
 */
async function callMiddleTier(page) {
  let response;
  let tokenRequest;
  const onResponse = (r) => {
    if (r.url() === `${origin}/api/profile`) response = r;
  };
  const onRequest = (r) => {
    if (r.url() === `${origin}/auth/token` && r.method() === 'POST') tokenRequest = r.postDataJSON();
  };
  page.on('response', onResponse);
  page.on('request', onRequest);
  try {
    await page.locator('#call-profile').click();
    await waitForText(page, '#profile', /^\s*(\d{3} |No token|Failed|SPA_SCOPES)/);
  } finally {
    page.off('response', onResponse);
    page.off('request', onRequest);
  }
  const text = await textOf(page, '#profile');
  assert.match(text, /^\d{3} /, `the middle-tier button got no answer from /api/profile: ${text}`);
  assert.ok(response, 'the page called /api/profile');
  assert.equal(Number(text.slice(0, 3)), response.status(), 'the page shows the status /api/profile answered');
  assert.deepEqual(tokenRequest?.scopes, [MIDDLE_TIER_SCOPE], 'the page asked /auth/token for a token for this app\'s API');
  return { response, status: response.status(), body: JSON.parse(text.slice(4)), text, tokenRequest };
}

/** The middle tier's 200: the caller's validated token claims and the demo API's answer to the OBO token. */
function assertProfile(body, user, text) {
  assert.ok(body.caller && body.downstream, `caller and downstream in ${text}`);
  assert.equal(body.caller.oid, oidOf(user), 'the caller is the signed-in user');
  assert.ok(audiences(body.caller.aud).some((aud) => aud === 'api://web-app' || aud === 'web-app'), `the caller token is for this app's API: aud ${JSON.stringify(body.caller.aud)}`);
  assert.match(String(body.caller.scp), /(^| )access_as_user( |$)/);
  // /api/demo's answer, either as it is or wrapped with its status ({status: 200, body}).
  let downstream = body.downstream;
  if (typeof downstream.status === 'number' && downstream.body && typeof downstream.body === 'object') {
    assert.equal(downstream.status, 200, `the demo API accepted the OBO token: ${text}`);
    downstream = downstream.body;
  }
  assert.equal(downstream.aud, 'api://downstream', `the demo API saw a token for itself: ${text}`);
  assert.equal(downstream.oid, oidOf(user), 'obtained on behalf of the same user');
  assert.match(String(downstream.scp), /(^| )read( |$)/);
  assert.match(downstream.message, /accepted your token/);
}

/**
 * Keeps the provider's redirect to /auth/callback from reaching the Worker: Playwright does not route
 * redirect hops, so the consent form's POST is sent from the test (with the browser's cookies) and its
 * redirects followed by hand up to the callback URL; the page gets a placeholder instead.
 * @returns a promise of the callback URL
 */
async function holdCallback(page) {
  let resolve;
  let reject;
  const captured = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const matcher = (url) => isIdp(url) && /\/interaction\/[^/]+$/.test(url.pathname);
  await page.route(matcher, async (route) => {
    const request = route.request();
    if (request.method() !== 'POST' || new URLSearchParams(request.postData() ?? '').get('prompt') !== 'consent') return route.continue();
    try {
      let response = await route.fetch({ maxRedirects: 0 });
      let location = new URL(request.url());
      for (let hop = 0; hop < 5 && response.status() >= 300 && response.status() < 400; hop++) {
        location = new URL(response.headers().location, location);
        if (location.origin === origin) break;
        response = await page.context().request.get(location.href, { maxRedirects: 0 });
      }
      if (location.origin !== origin || location.pathname !== '/auth/callback') throw new Error(`the consent led to ${location.href} (${response.status()})`);
      resolve(location.href);
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback held by the test' });
    } catch (error) {
      reject(error);
      await route.abort().catch(() => {});
    }
  });
  return captured;
}
