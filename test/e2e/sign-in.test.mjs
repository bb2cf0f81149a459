/**
 * The sign-in journey in a real browser: headless Debian Chromium (playwright-core, no downloaded
 * browser) against the real Worker bundle in workerd (Miniflare 5) and the local identity provider.
 * The fast, rule-by-rule sign-in tests live in test/workers/sign-in.test.ts; this one checks what only a
 * browser decides: redirects followed, cookies stored and sent (HttpOnly, SameSite), the demo page's
 * script, CSP, and the provider's real login / consent / sign-out pages.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); E2E_CHROMIUM overrides the path.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { cacheDir } from '../../scripts/toolchain.mjs';
import { startIdp } from '../idp/server.mjs';
import { bundleWorker, freePort, startWorker } from './worker.mjs';

const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const STEP_TIMEOUT = 15_000;
const alice = { username: 'alice@contoso.test', password: 'alice-password' };

let idp;
let worker;
let browser;
let tmp;
let origin; // http://localhost:<worker port>

/** Closes each thing that was started, in reverse order, each bounded; never throws. */
async function stopAll() {
  const bounded = (label, promise) => Promise.race([
    Promise.resolve(promise).catch((error) => console.error(`# e2e: stopping ${label} failed: ${error?.message ?? error}`)),
    new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
  ]);
  if (browser) await bounded('chromium', browser.close());
  if (worker) await bounded('workerd', worker.mf.dispose());
  if (idp) await bounded('identity provider', idp.close());
  if (tmp) await bounded('temp dir', rm(tmp, { recursive: true, force: true }));
  browser = worker = idp = tmp = undefined;
}

/** The IdP (which must know the Worker's redirect URI) and the Worker on a free port; one retry if the port was taken meanwhile. */
async function startIdpAndWorker(scriptPath) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    idp = await startIdp({ port: 0, redirectUris: [`${origin}/auth/callback`] });
    try {
      worker = await startWorker({
        scriptPath,
        port,
        settings: {
          AUTHORITY: idp.authority(),
          CLIENT_ID: idp.clients.webApp.clientId,
          CLIENT_SECRET: idp.clients.webApp.clientSecret,
          TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'),
          CALLERS: '{}',
          REDIRECT_URI: `${origin}/auth/callback`,
          SPA_SCOPES: 'api://downstream/read',
          SESSION_KEY: randomBytes(32).toString('base64url'),
          ALLOWED_ORIGINS: origin,
          POST_LOGOUT_REDIRECT_URI: `${origin}/`,
        },
      });
      return;
    } catch (error) {
      await idp.close();
      idp = undefined;
      if (attempt >= 2) throw error;
    }
  }
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (Debian), or set E2E_CHROMIUM`);
  try {
    tmp = await mkdtemp(join(tmpdir(), 'edge-e2e-'));
    const [scriptPath, launched] = await Promise.all([
      bundleWorker(tmp),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30_000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ]);
    browser = launched;
    await startIdpAndWorker(scriptPath);
  } catch (error) {
    await stopAll();
    throw error;
  }
}, { timeout: 150_000 });

after(stopAll, { timeout: 40_000 });

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A fresh browser profile (own cookies) with one page; console errors are kept for failure messages. */
async function newPage() {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT);
  // Loopback only (the provider's pages @import a web font): fail fast instead of waiting on DNS.
  await context.route((url) => !LOOPBACK.has(url.hostname), (route) => route.abort('blockedbyclient'));
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/ERR_BLOCKED_BY_CLIENT|status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return { context, page, problems };
}

const isIdp = (url) => url.origin === idp.origin;
const isWorkerHome = (url) => url.href === `${origin}/`;
/** Back from the provider's sign-out: the start page, with the `state` our logout sent echoed back. */
const isWorkerHomeAfterSignOut = (url) => url.origin === origin && url.pathname === '/' && /^\?state=[\w-]+$/.test(url.search);

async function textOf(page, selector) {
  return (await page.locator(selector).textContent())?.trim() ?? '';
}

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

describe('sign-in in Chromium against the Worker in workerd', () => {
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
    await page.screenshot({ path: join(cacheDir, 'e2e-signed-in.png'), fullPage: true });
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
