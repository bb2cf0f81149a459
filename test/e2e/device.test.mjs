/**
 * The device code flow in a real browser: headless Debian Chromium (playwright-core) against the real
 * Worker bundle in workerd (Miniflare 5) and the local identity provider, with the provider's device
 * interval at 1 s so that the flow's Durable Object polls it quickly. Two browser profiles: one plays the
 * device (the demo page `/device`: Start, the code, polling, the token, the session key's token and
 * sign-out), the other the user who enters the code at the provider's /devicelogin page, confirms, signs
 * in as alice and consents. Then the command-line device (scripts/device-login.mjs) as a child process
 * against the same Worker, verified in the browser; and its pacing and failures against a scripted fake
 * service. The rule-by-rule device flow tests live in test/workers/device-flow.test.ts.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); E2E_CHROMIUM overrides the path.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cacheDir, root } from '../../scripts/toolchain.mjs';
import { e2eStack, STEP_TIMEOUT, textOf } from './harness.mjs';
import { freePort } from './worker.mjs';

/** From the user's consent to the device's token: the object's next alarm (1 s) and the device's next poll (1 s). */
const SIGN_IN_TIMEOUT = 20_000;
/** A whole CLI run after its verification. */
const CLI_TIMEOUT = 30_000;
const CLI = join(root, 'scripts', 'device-login.mjs');
const DEVICE_SCOPE = 'api://downstream/read';
const alice = { username: 'alice@contoso.test', password: 'alice-password' };

/** The IdP with its device interval at 1 s, the Worker with DEVICE_SCOPES set. */
const stack = e2eStack({
  tmpPrefix: 'edge-e2e-device-',
  idpOptions: { deviceCodeInterval: 1 },
  workerSettings: {
    // The device's session key gets tokens from /auth/token for SPA scopes: the device scope is one.
    SPA_SCOPES: DEVICE_SCOPE,
    DEVICE_SCOPES: DEVICE_SCOPE,
  },
});
let idp;
let tmp;
let origin; // http://localhost:<worker port>
/** CLI processes still running (killed in `after`). */
const children = new Set();

before(async () => {
  await stack.start();
  ({ idp, tmp, origin } = stack);
}, { timeout: 150_000 });

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await stack.stop();
}, { timeout: 40_000 });

const newPage = () => stack.newPage();

/** What the page shows, for failure messages. */
async function describePage(page) {
  const text = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '?');
  return `${page.url()}: ${JSON.stringify(text.replace(/\s+/g, ' ').slice(0, 400))}`;
}

/** Waits until the element's text matches (the device page fills it in asynchronously). */
async function waitForText(page, selector, pattern, timeout = STEP_TIMEOUT) {
  try {
    await page.locator(selector).filter({ hasText: pattern }).waitFor({ state: 'visible', timeout });
  } catch (error) {
    throw new Error(`${selector} never matched ${pattern}; the page shows ${await describePage(page)}`, { cause: error });
  }
}

/**
 * The user at the provider's device page in a browser: enters the code, checks that the confirmation page
 * shows the same code, then confirms (login as `user`, consent, the success page) or aborts.
 */
async function verifyInBrowser(page, verificationUri, userCode, { decision = 'confirm', user = alice } = {}) {
  await page.goto(verificationUri);
  const codeInput = page.locator('input[name="user_code"]');
  await codeInput.waitFor({ state: 'visible' });
  await codeInput.fill(userCode);
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
  try {
    await page.getByRole('heading', { name: /confirm device/i }).waitFor({ state: 'visible' });
  } catch (error) {
    throw new Error(`the provider did not ask to confirm the code ${userCode}: ${await describePage(page)}`, { cause: error });
  }
  assert.equal(await textOf(page, 'code'), userCode, 'the provider shows the code the device showed');
  if (decision === 'abort') {
    await page.getByRole('button', { name: /abort/i }).click();
    // The provider answers an abort with its code input again.
    await page.locator('input[type="text"][name="user_code"]').waitFor({ state: 'visible' });
    return;
  }
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
  const login = page.locator('input[name="login"]');
  try {
    await login.waitFor({ state: 'visible' });
  } catch (error) {
    throw new Error(`no login page after confirming the code: ${await describePage(page)}`, { cause: error });
  }
  await login.fill(user.username);
  await page.locator('input[name="password"]').fill(user.password);
  await page.locator('button[type="submit"]').click();
  const consent = page.getByRole('button', { name: /continue|authori[sz]e|accept|yes/i });
  try {
    await consent.waitFor({ state: 'visible' });
  } catch (error) {
    throw new Error(`no consent page after the login: ${await describePage(page)}`, { cause: error });
  }
  assert.equal(await page.locator('input[name="login"]').count(), 0, `still on the login page: ${await describePage(page)}`);
  await consent.click();
  try {
    await page.getByRole('heading', { name: /sign-in success/i }).waitFor({ state: 'visible' });
  } catch (error) {
    throw new Error(`the provider did not report the device sign-in as done: ${await describePage(page)}`, { cause: error });
  }
}

/** The user's side in a fresh browser profile, closed afterwards. */
async function verifyInSecondBrowser(verificationUri, userCode, options) {
  const user = await newPage();
  try {
    await verifyInBrowser(user.page, verificationUri, userCode, options);
    assert.deepEqual(user.problems.filter((p) => !/fonts|favicon/i.test(p)), [], "no script errors on the provider's pages");
  } finally {
    await user.context.close();
  }
}

/** A request with the device's session key, as any program would send it. */
async function withKey(method, path, sessionKey, json) {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${sessionKey}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {}),
    signal: AbortSignal.timeout(STEP_TIMEOUT),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

describe('the device page in Chromium, verified in a second browser', () => {
  /** The device: one browser profile for the whole journey. */
  let device;
  /** What /device/start answered the page. */
  let started;
  /** The /device/poll requests of the page: when each was sent, and what it was answered. */
  const polls = [];
  /** The device's sign-in as /device/poll answered it (the page shows only parts of it). */
  let signedIn;

  before(async () => {
    device = await newPage();
    device.page.on('request', (request) => {
      if (request.url() === `${origin}/device/poll`) polls.push({ at: Date.now(), request });
    });
  });
  after(async () => {
    await device?.context.close();
  });

  test('the demo page links to /device; the page comes with its CSP and its same-origin script', async () => {
    const { page } = device;
    await page.goto(`${origin}/`);
    await Promise.all([page.waitForURL(`${origin}/device`), page.locator('#device-link').click()]);
    const response = await page.reload();
    assert.equal(response.status(), 200);
    const headers = response.headers();
    assert.match(headers['content-type'], /^text\/html/);
    assert.equal(headers['cache-control'], 'no-store');
    const scriptSrc = headers['content-security-policy'].split(';').map((d) => d.trim()).filter((d) => d.startsWith('script-src'));
    assert.deepEqual(scriptSrc, ["script-src 'self'"], 'scripts from this origin only: no inline script');
    assert.equal(await page.locator('#scopes').inputValue(), DEVICE_SCOPE, 'the scopes field is prefilled');
    await waitForText(page, '#status', /press start/i);
    const script = await fetch(`${origin}/device.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type'), /^text\/javascript/);
  });

  test('Start: the page shows the code, the verification link and the message, and waits', async () => {
    const { page } = device;
    const [startResponse] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${origin}/device/start`),
      page.locator('#start').click(),
    ]);
    assert.equal(startResponse.status(), 200, await describePage(page));
    started = await startResponse.json();
    assert.deepEqual(startResponse.request().postDataJSON(), { scopes: [DEVICE_SCOPE] });
    await page.locator('#verify').waitFor({ state: 'visible' });
    assert.equal(await textOf(page, '#user-code'), started.user_code);
    const link = page.locator('#verification-uri');
    assert.equal(await link.getAttribute('href'), started.verification_uri);
    assert.equal(await textOf(page, '#verification-uri'), started.verification_uri);
    assert.equal(new URL(started.verification_uri).origin, idp.origin, "the link is the provider's page");
    assert.equal(await textOf(page, '#message'), started.message);
    assert.ok(started.message.includes(started.user_code), 'the message names the code');
    assert.equal(started.interval, 1, 'the provider asks for one poll a second');
    assert.equal(await page.locator('#verification-complete').isVisible(), false, 'no verification_uri_complete from Entra (nor from the local provider)');
    await waitForText(page, '#status', /waiting for the sign-in/i);
    assert.equal(await page.locator('#start').isDisabled(), true, 'no second flow while one is waiting');
  });

  test('a second browser enters the code, signs in as alice and consents; the page shows alice with a token', async () => {
    assert.ok(started, 'the Start test ran');
    const { page } = device;
    // The device polls meanwhile: at least once while the user has not finished.
    await waitForPolls(1);
    const success = page.waitForResponse((r) => r.url() === `${origin}/device/poll` && r.status() === 200, { timeout: SIGN_IN_TIMEOUT + STEP_TIMEOUT });
    success.catch(() => {}); // awaited below; a failed verification must not leave it unhandled
    await verifyInSecondBrowser(started.verification_uri, started.user_code);
    signedIn = await (await success).json();
    await waitForText(page, '#username', alice.username, SIGN_IN_TIMEOUT);
    await waitForText(page, '#status', /signed in as alice@contoso\.test/i);
    assert.equal(await page.locator('#verify').isVisible(), false, 'the code is gone');
    assert.equal(await textOf(page, '#tenant'), signedIn.account.tenantId);

    const token = JSON.parse(await textOf(page, '#token'));
    assert.equal(token.scope, DEVICE_SCOPE);
    assert.equal(token.token_type, 'Bearer');
    assert.ok(token.expires_in > 0, `expires_in ${token.expires_in}`);
    assert.ok(Math.abs(Date.parse(token.expires_at) - (Date.now() + token.expires_in * 1000)) < 60_000, `expires_at ${token.expires_at}`);
    assert.equal(token.access_token, `${signedIn.access_token.slice(0, 12)}…`, 'the access token, shortened');
    assert.match(signedIn.session_key, /^etfsk_/);
    assert.equal(await textOf(page, '#session-key'), `${signedIn.session_key.slice(0, 12)}…`, 'the session key, shortened');

    // Neither secret whole anywhere on the page, nor kept by the browser.
    const html = await page.content();
    const text = await page.locator('body').innerText();
    for (const [name, secret] of [['access token', signedIn.access_token], ['session key', signedIn.session_key]]) {
      assert.ok(!html.includes(secret) && !text.includes(secret), `the page shows the whole ${name}`);
    }
    const kept = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
    assert.deepEqual(kept, { local: 0, session: 0, cookie: '' }, 'nothing stored by the page');

    // Paced: one poll a second at most (Retry-After 1), never told to slow down; polling stopped after the token.
    const answered = await Promise.all(polls.map(async ({ at, request }) => ({ at, status: (await request.response())?.status() })));
    assert.ok(answered.length >= 2, `polls: ${answered.length}`);
    assert.ok(!answered.some((p) => p.status === 400), `a poll was refused: ${answered.map((p) => p.status).join(', ')}`);
    for (let i = 1; i < answered.length; i++) {
      assert.ok(answered[i].at - answered[i - 1].at >= 900, `polls ${i - 1} and ${i} were ${answered[i].at - answered[i - 1].at} ms apart`);
    }
    const count = polls.length;
    await page.waitForTimeout(2_500);
    assert.equal(polls.length, count, 'no more polls once signed in');
    await mkdir(cacheDir, { recursive: true });
    await page.screenshot({ path: join(cacheDir, 'e2e-device-signed-in.png'), fullPage: true });
  });

  test('"Get a token with the session key": POST /auth/token with the key in Authorization, no cookie', async () => {
    assert.ok(signedIn, 'the sign-in test ran');
    const { page } = device;
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.url() === `${origin}/auth/token` && r.method() === 'POST'),
      page.locator('#get-token').click(),
    ]);
    const headers = await request.allHeaders();
    assert.equal(headers.authorization, `Bearer ${signedIn.session_key}`);
    assert.equal(headers.cookie, undefined);
    assert.deepEqual(request.postDataJSON(), { scopes: [DEVICE_SCOPE] });
    const response = await request.response();
    assert.equal(response.status(), 200, await describePage(page));
    await waitForText(page, '#token-again', /"scope"/);
    const token = JSON.parse(await textOf(page, '#token-again'));
    assert.equal(token.scope, DEVICE_SCOPE);
    assert.ok(token.expires_in > 0);
    assert.match(token.access_token, /^.{12}…$/);
  });

  test('"Sign out this device" ends the session: the same key is refused afterwards', async () => {
    assert.ok(signedIn, 'the sign-in test ran');
    const { page, problems } = device;
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${origin}/auth/logout` && r.request().method() === 'POST'),
      page.locator('#sign-out').click(),
    ]);
    assert.equal(response.status(), 200);
    assert.deepEqual(await response.json(), { signed_out: true });
    await waitForText(page, '#status', /signed out/i);
    assert.equal(await page.locator('#get-token').isDisabled(), true, 'the page forgot the key');
    assert.equal(await page.locator('#sign-out').isDisabled(), true);

    const token = await withKey('POST', '/auth/token', signedIn.session_key, { scopes: [DEVICE_SCOPE] });
    assert.equal(token.status, 401, JSON.stringify(token.body));
    // (a well-formed key whose session has ended: the answer of a session that needs a new sign-in)
    assert.equal(token.body.error, 'interaction_required', JSON.stringify(token.body));
    assert.equal((await withKey('GET', '/auth/me', signedIn.session_key)).status, 401);
    assert.equal((await withKey('POST', '/auth/logout', signedIn.session_key, {})).status, 401, 'a second sign-out with the key is refused');
    assert.deepEqual(problems, [], 'no script errors on the device page');
  });

  async function waitForPolls(n) {
    const deadline = Date.now() + STEP_TIMEOUT;
    while (polls.length < n) {
      if (Date.now() > deadline) throw new Error(`the page sent ${polls.length} polls, expected ${n}: ${await describePage(device.page)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});

/**
 * The CLI as a child process. @returns its output so far, `waitForOutput(pattern)` and `exited()`, each
 * bounded; a run that outlives its bound is killed.
 */
function runCli(args, { timeout = CLI_TIMEOUT * 2 } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const run = { stdout: '', stderr: '', child };
  const listeners = new Set();
  const notify = () => listeners.forEach((listener) => listener());
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    run.stdout += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    run.stderr += chunk;
    notify();
  });
  const exit = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      notify();
      resolve({ code, signal });
    });
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeout);
  exit.then(() => clearTimeout(killer));
  const describeRun = () => `stdout: ${JSON.stringify(run.stdout)}, stderr: ${JSON.stringify(run.stderr)}`;
  run.waitForOutput = (pattern, ms = STEP_TIMEOUT) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(run.stdout);
        if (match) done(() => resolve(match));
        else if (child.exitCode !== null || child.signalCode !== null) done(() => reject(new Error(`the CLI ended before printing ${pattern}: ${describeRun()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`the CLI did not print ${pattern} within ${ms} ms: ${describeRun()}`))), ms);
      const done = (settle) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  run.exited = (ms = CLI_TIMEOUT) =>
    Promise.race([
      exit.then((result) => ({ ...result, stdout: run.stdout, stderr: run.stderr })),
      new Promise((_, reject) => setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the CLI did not end within ${ms} ms: ${describeRun()}`));
      }, ms).unref()),
    ]);
  run.describe = describeRun;
  return run;
}

/** The page and code from the provider's message as the CLI printed it. */
async function cliPrompt(run) {
  const [, uri] = await run.waitForOutput(/(https?:\/\/\S+?)[.,]?(?:\s|$)/);
  const [, code] = await run.waitForOutput(/\bcode ([A-Z0-9][A-Z0-9-]+[A-Z0-9])\b/);
  return { uri, code };
}

describe('the CLI (scripts/device-login.mjs) against the Worker, verified in Chromium', () => {
  test('signs in as alice, prints the account and the token, saves the key 0600, gets a token with it', async () => {
    const keyFile = join(tmp, 'device-key');
    const run = runCli(['--origin', origin, '--scopes', DEVICE_SCOPE, '--save', keyFile, '--token']);
    const { uri, code } = await cliPrompt(run);
    assert.equal(new URL(uri).origin, idp.origin, `the provider's page: ${uri}`);
    await run.waitForOutput(/Waiting for the sign-in/);
    await verifyInSecondBrowser(uri, code);
    const { code: exitCode, stdout, stderr } = await run.exited();
    assert.equal(exitCode, 0, run.describe());
    assert.equal(stderr, '', 'nothing on stderr (no slow_down, no retries)');
    assert.match(stdout, /^Signed in as alice@contoso\.test\b/m);
    assert.match(stdout, /^Access token: Bearer token for "api:\/\/downstream\/read", expires in \d+ s/m);
    assert.match(stdout, /^Token with the session key: Bearer token for "api:\/\/downstream\/read", expires in \d+ s .*, from (cache|identity_provider)/m);
    assert.match(stdout, /saved to .*device-key \(mode 0600\)/);

    const key = (await readFile(keyFile, 'utf8')).trim();
    assert.match(key, /^etfsk_\S+$/);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600, 'the key file is readable by its owner only');
    assert.ok(!stdout.includes(key), 'the whole key is not printed');
    assert.ok(stdout.includes(`${key.slice(0, 12)}…`), 'the key is printed shortened');
    const me = await withKey('GET', '/auth/me', key);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.account.username, alice.username);
    assert.equal((await withKey('POST', '/auth/logout', key, {})).status, 200);
  });

  test('--logout: the session ends at the end of the run; nothing is saved', async () => {
    const run = runCli(['--origin', origin, '--logout']);
    const { uri, code } = await cliPrompt(run);
    await verifyInSecondBrowser(uri, code);
    const { code: exitCode, stdout } = await run.exited();
    assert.equal(exitCode, 0, run.describe());
    assert.match(stdout, /^Signed in as alice@contoso\.test\b/m);
    assert.match(stdout, /not saved \(pass --save <file> to keep it\)/);
    assert.match(stdout, /^Signed out: the session key no longer works\.$/m);
  });

  test('the user aborts at the provider: the CLI says the sign-in was declined and exits 1', async () => {
    const run = runCli(['--origin', origin]);
    const { uri, code } = await cliPrompt(run);
    await verifyInSecondBrowser(uri, code, { decision: 'abort' });
    const { code: exitCode, stderr, stdout } = await run.exited();
    assert.equal(exitCode, 1, run.describe());
    assert.match(stderr, /^device-login: the sign-in was declined \(400 access_denied/m);
    assert.doesNotMatch(stdout, /Signed in as/);
  });

  test('scopes outside DEVICE_SCOPES: a clear message, exit 1; bad arguments: usage, exit 2', async () => {
    const refused = await runCli(['--origin', origin, '--scopes', 'api://other/.default']).exited();
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /does not let devices ask for api:\/\/other\/\.default \(see its DEVICE_SCOPES\): 403 invalid_scope/);
    const usage = await runCli(['--nonsense']).exited();
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Usage: node scripts\/device-login\.mjs/);
    const clear = await runCli(['--origin', 'http://example.com']).exited();
    assert.equal(clear.code, 2);
    assert.match(clear.stderr, /https/);
  });
});

/**
 * A scripted stand-in for the service: /device/start answers interval 1, /device/poll answers the queued
 * answers in order; every request is recorded with its arrival time.
 */
async function fakeService({ start = { status: 200 }, polls: pollAnswers }) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ at: Date.now(), method: req.method, path: req.url, body, headers: req.headers });
      const send = ({ status, json, retryAfter }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}) });
        res.end(JSON.stringify(json));
      };
      if (req.url === '/device/start') {
        if (start.status !== 200) return send(start);
        return send({
          status: 200,
          json: { flow_id: 'flow-1', user_code: 'ABCD-EFGH', verification_uri: 'https://login.example/devicelogin', message: 'To sign in, open https://login.example/devicelogin and enter the code ABCD-EFGH.', expires_in: 900, interval: 1 },
        });
      }
      if (req.url === '/device/poll') return send(pollAnswers.shift() ?? { status: 500, json: { error: 'server_error' } });
      return send({ status: 404, json: { error: 'not_found' } });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    requests,
    pollTimes: () => requests.filter((r) => r.path === '/device/poll').map((r) => r.at),
    startTime: () => requests.find((r) => r.path === '/device/start')?.at,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

const pending = (retryAfter) => ({ status: 202, retryAfter, json: { error: 'authorization_pending', error_description: 'The user has not completed the sign-in yet' } });
const SIGNED_IN = {
  status: 200,
  json: {
    access_token: 'eyJhbGciOiJSUzI1NiJ9.fake.token', token_type: 'Bearer', expires_in: 3599, scope: DEVICE_SCOPE, token_source: 'identity_provider',
    account: { username: 'carol@fabrikam.test', name: 'Carol', tenantId: 'tenant-1', homeAccountId: 'uid.tenant-1' },
    session_key: 'etfsk_fake-session-key-0123456789', session_expires_in: 7776000,
  },
};

describe('the CLI against a scripted service: pacing and failures', () => {
  test('waits the interval, honours a longer Retry-After, and after slow_down polls 5 s less often', { timeout: 40_000 }, async () => {
    const service = await fakeService({
      polls: [
        pending(2),
        { status: 400, json: { error: 'slow_down', error_description: 'Polled sooner than the interval allows' } },
        pending(1),
        SIGNED_IN,
      ],
    });
    try {
      const result = await runCli(['--origin', service.origin]).exited(35_000);
      assert.equal(result.code, 0, `stdout: ${result.stdout} stderr: ${result.stderr}`);
      assert.match(result.stdout, /^Signed in as carol@fabrikam\.test \(Carol\)$/m);
      assert.match(result.stdout, /eyJhbGciOiJS…/);
      assert.ok(!result.stdout.includes(SIGNED_IN.json.session_key), 'the whole key is not printed');
      assert.match(result.stderr, /slow down: now checking every 7 s/);
      const [first, second, third, fourth] = service.pollTimes();
      const gaps = [first - service.startTime(), second - first, third - second, fourth - third];
      // interval 1; Retry-After 2 (longer) → 2; slow_down → 2 + 5 = 7; Retry-After 1 (shorter) → still 7.
      const expected = [1_000, 2_000, 7_000, 7_000];
      gaps.forEach((gap, i) => assert.ok(gap >= expected[i] - 50 && gap < expected[i] + 1_500, `gap ${i}: ${gap} ms, expected ${expected[i]} (gaps ${gaps.join(', ')})`));
      assert.equal(service.pollTimes().length, 4);
      const pollBody = JSON.parse(service.requests.find((r) => r.path === '/device/poll').body);
      assert.deepEqual(pollBody, { flow_id: 'flow-1' });
    } finally {
      await service.close();
    }
  });

  test('a flow that ends (expired_token) stops the polling with a clear message and exit 1', async () => {
    const service = await fakeService({ polls: [pending(1), { status: 400, json: { error: 'expired_token', error_description: 'The device code expired before the user completed the sign-in' } }] });
    try {
      const result = await runCli(['--origin', service.origin]).exited(15_000);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^device-login: the code expired before the sign-in was completed; run again for a new one \(400 expired_token/m);
      assert.equal(service.pollTimes().length, 2, 'no poll after the flow ended');
    } finally {
      await service.close();
    }
  });

  test('a service that is down: the CLI says it cannot reach it and exits 1', async () => {
    const port = await freePort();
    const result = await runCli(['--origin', `http://127.0.0.1:${port}`]).exited(15_000);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^device-login: could not reach http://127\\.0\\.0\\.1:${port}/device/start: ECONNREFUSED`, 'm'));
  });
});
