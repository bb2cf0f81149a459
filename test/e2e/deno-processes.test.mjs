/**
 * Two Deno server processes sharing one Deno KV database, as two instances of one deployment behind a
 * load balancer: `deno run … functions/deno/main.ts --listen` twice, with identical settings (one public
 * origin, process A's, in REDIRECT_URI and ALLOWED_ORIGINS) and the same DENO_KV_PATH, against the local
 * identity provider. What only separate processes show: a sign-in started on one and completed on the
 * other, its flow consumed once for both, one refresh at the provider for concurrent token requests
 * spread over both (the account's lease in KV), and a device flow handed out once whichever process is
 * polled. The requests are plain HTTP (fetch with a cookie jar, the provider's forms filled in
 * headlessly); the servers do not check their own host, so a request "for" the public origin is sent to
 * either process's port.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { denoBinary, root, toolEnv } from '../../scripts/toolchain.mjs';
import { CookieJar, loginHeadless } from '../idp/headless-login.mjs';
import { startIdp } from '../idp/server.mjs';
import { startDenoServer } from './deno-server.mjs';
import { freePort } from './worker.mjs';

const DEVICE_SCOPE = 'api://downstream/read';
const TOKEN_SCOPES = ['api://downstream/read'];
const alice = { username: 'alice@contoso.test', password: 'alice-password' };
/** Each HTTP request of the test. */
const REQUEST_TIMEOUT = 15_000;
/** The concurrent requests of a burst, half to each process. */
const BURST = 20;

let idp;
let tmp;
/** The public origin (process A's), as the browser and the provider know it. */
let origin;
/** The two processes: { name, base (http://127.0.0.1:<port>), server }. */
const processes = [];
const [A, B] = [{ name: 'A' }, { name: 'B' }];

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'edge-e2e-deno-processes-'));
  const portA = await freePort();
  let portB = await freePort();
  while (portB === portA) portB = await freePort();
  origin = `http://localhost:${portA}`;
  idp = await startIdp({ port: 0, redirectUris: [`${origin}/auth/callback`], deviceCodeInterval: 1 });
  const settings = {
    AUTHORITY: idp.authority(),
    CLIENT_ID: idp.clients.webApp.clientId,
    CLIENT_SECRET: idp.clients.webApp.clientSecret,
    TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'),
    CALLERS: '{}',
    REDIRECT_URI: `${origin}/auth/callback`,
    SESSION_KEY: randomBytes(32).toString('base64url'),
    ALLOWED_ORIGINS: origin,
    POST_LOGOUT_REDIRECT_URI: `${origin}/`,
    SPA_SCOPES: TOKEN_SCOPES.join(' '),
    DEVICE_SCOPES: DEVICE_SCOPE,
  };
  const kvPath = join(tmp, 'shared-kv.sqlite');
  // One after the other: the first creates the KV file (and warms deno's module cache).
  for (const [proc, port] of [[A, portA], [B, portB]]) {
    proc.server = await startDenoServer({ port, settings, kvPath, label: `deno ${proc.name}` });
    proc.base = `http://127.0.0.1:${port}`;
    processes.push(proc);
  }
}, { timeout: 150_000 });

after(async () => {
  await Promise.all(processes.map((proc) => proc.server.stop()));
  await idp?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, { timeout: 40_000 });

/** What a process printed, for failure messages. */
const outputs = () => processes.map((p) => `--- deno ${p.name} ---\n${p.server.output().slice(-2000)}`).join('\n');

/** A request to one process (no redirects followed), with the jar's cookies sent and the answer's stored. */
async function send(proc, path, { method = 'GET', jar, cookie, headers = {}, json } = {}) {
  const response = await fetch(`${proc.base}${path}`, {
    method,
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT),
    headers: {
      ...((cookie ?? jar?.header()) ? { cookie: cookie ?? jar.header() } : {}),
      ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  jar?.store(response.headers.getSetCookie());
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** The SPA's XHR-style call: same origin (the public one), with the CSRF header. */
const tokenRequest = (proc, cookie) => send(proc, '/auth/token', { method: 'POST', cookie, headers: { origin, 'x-requested-with': 'fetch' }, json: { scopes: TOKEN_SCOPES } });

async function idpControl(method, path, body) {
  const response = await fetch(`${idp.origin}/_control/${path}`, {
    method,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT),
    ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, `${method} /_control/${path}: ${JSON.stringify(answer)}`);
  return answer;
}
const providerCount = async (key) => (await idpControl('GET', 'counts'))[key] ?? 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits `n` requests between A and B, interleaved (A, B, A, …), all sent at once. */
function burst(n, request) {
  return Promise.all(Array.from({ length: n }, (_, i) => {
    const proc = i % 2 === 0 ? A : B;
    return request(proc).then((answer) => ({ proc: proc.name, ...answer }));
  }));
}

const tally = (answers) => {
  const counts = {};
  for (const a of answers) {
    const key = `${a.proc}:${a.status}${a.body?.error ? ` ${a.body.error}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return JSON.stringify(counts);
};

/**
 * The user at the provider's device page without a browser: enters the code, confirms, logs in and
 * consents (as test/support/device-user.ts). @returns the last page.
 */
async function verifyDeviceAsUser(verificationUri, userCode, user = alice) {
  const jar = new CookieJar();
  let url = verificationUri;
  let init = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, {
      ...init,
      headers: { ...init.headers, cookie: jar.header() },
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT),
    });
    jar.store(response.headers.getSetCookie());
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      url = new URL(response.headers.get('location'), url).href;
      init = { method: 'GET' };
      continue;
    }
    const html = await response.text();
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
    if (response.status !== 200 || !form) return { status: response.status, html };
    const fields = {};
    for (const input of form[2].matchAll(/<input([^>]*)>/gi)) {
      const name = /name="([^"]*)"/i.exec(input[1])?.[1];
      if (name) fields[name] = (/value="([^"]*)"/i.exec(input[1])?.[1] ?? '').replace(/&amp;/g, '&');
    }
    if ('user_code' in fields && !fields.user_code) fields.user_code = userCode;
    if (fields.prompt === 'login') Object.assign(fields, { login: user.username, password: user.password });
    url = new URL(form[1].replace(/&amp;/g, '&'), url).href;
    init = { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many hops at the verification page');
}

/**
 * The statuses of the device flows' state entries in the shared KV, read by a third Deno process (the
 * layout of functions/deno/kv-device-flows.ts: ['device-flows', flowId, 'state'] → { state: { status } }).
 * Lets the test wait until the provider's answer is recorded without a poll that would redeem it.
 */
function kvDeviceFlowStatuses() {
  const script = `
    const kv = await Deno.openKv(Deno.env.get('DENO_KV_PATH'));
    const statuses = [];
    for await (const entry of kv.list({ prefix: ['device-flows'] })) {
      if (entry.key[2] === 'state') statuses.push(entry.value?.state?.status ?? null);
    }
    kv.close();
    console.log(JSON.stringify(statuses));
  `;
  return new Promise((resolve, reject) => {
    execFile(denoBinary(), ['eval', '--unstable-kv', script], {
      cwd: root,
      env: { ...toolEnv, DENO_KV_PATH: join(tmp, 'shared-kv.sqlite'), NO_COLOR: '1' },
      timeout: 20_000,
    }, (error, stdout, stderr) => {
      if (error) reject(new Error(`reading the KV failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)));
    });
  });
}

describe('two Deno server processes sharing one Deno KV', { timeout: 120_000 }, () => {
  /** Alice's browser (cookies for the public origin, whichever process answers). */
  const browser = new CookieJar();
  /** The callback URL of her sign-in, and the browser's cookies just before it was delivered (the transaction cookie). */
  let callbackUrl;
  let cookiesBeforeCallback;
  let signedInAt;

  test('a sign-in started on A (its flow in KV, the transaction cookie) completes on B; /auth/me answers on both', async () => {
    // The access token it gets expires within the 300 s margin: the refresh test below finds it expired.
    await idpControl('POST', 'token-lifetime', { accessTokenTtl: 301 });
    const login = await send(A, '/auth/login?returnTo=/', { jar: browser });
    assert.equal(login.status, 302, `GET /auth/login on A: ${login.status} ${login.text.slice(0, 300)}\n${outputs()}`);
    const authorizeUrl = login.headers.get('location');
    assert.ok(authorizeUrl.startsWith(idp.origin), `redirected to the provider: ${authorizeUrl}`);
    assert.match(browser.header(), /(^|; )txn-[\w-]+=/, 'a transaction cookie was set');

    callbackUrl = new URL(await loginHeadless(idp, { authorizeUrl, username: alice.username, password: alice.password }));
    assert.equal(callbackUrl.origin, origin, 'the provider sends the browser to the public origin');
    assert.equal(callbackUrl.pathname, '/auth/callback');
    assert.ok(callbackUrl.searchParams.get('code') && callbackUrl.searchParams.get('state'), `code and state in ${callbackUrl}`);
    cookiesBeforeCallback = browser.header();

    const callback = await send(B, callbackUrl.pathname + callbackUrl.search, { jar: browser });
    assert.equal(callback.status, 302, `GET /auth/callback on B: ${callback.status} ${callback.text.slice(0, 500)}\n${outputs()}`);
    assert.equal(callback.headers.get('location'), '/');
    signedInAt = Date.now();
    assert.match(browser.header(), /(^|; )session=/, 'B set the session cookie');
    assert.doesNotMatch(browser.header(), /(^|; )txn-/, 'B cleared the transaction cookie');

    for (const proc of [A, B]) {
      const me = await send(proc, '/auth/me', { jar: browser });
      assert.equal(me.status, 200, `/auth/me on ${proc.name}: ${me.text}`);
      assert.equal(me.body?.account?.username, alice.username, `/auth/me on ${proc.name}: ${me.text}`);
    }
  });

  test('the consumed flow is refused on both processes (400 state_mismatch), even with the transaction cookie', async () => {
    assert.ok(callbackUrl, 'the sign-in test ran');
    for (const proc of [A, B]) {
      const jar = new CookieJar();
      const replay = await send(proc, callbackUrl.pathname + callbackUrl.search, { cookie: cookiesBeforeCallback, jar });
      assert.equal(replay.status, 400, `the replayed callback on ${proc.name}: ${replay.status} ${replay.text.slice(0, 300)}`);
      assert.match(replay.text, /state_mismatch/);
      assert.match(replay.text, /already completed|expired/i, 'refused for the consumed flow, not for the cookie');
      assert.doesNotMatch(jar.header(), /(^|; )session=/, `no session from ${proc.name}`);
    }
    // Alice's own session is untouched.
    assert.equal((await send(A, '/auth/me', { jar: browser })).status, 200);
  });

  test(`${BURST} concurrent POST /auth/token (half on A, half on B) with the access token expired: one refresh at the provider, ${BURST} tokens`, async (t) => {
    assert.ok(signedInAt, 'the sign-in test ran');
    // Past the 300 s margin of the 301 s token; the refreshed one is good for an hour, for every waiter.
    await sleep(Math.max(0, signedInAt + 2_000 - Date.now()));
    await idpControl('POST', 'token-lifetime', { accessTokenTtl: 3600 });
    const refreshesBefore = await providerCount('token:refresh_token');
    const codesBefore = await providerCount('token:authorization_code');

    const started = Date.now();
    const cookie = browser.header();
    const answers = await burst(BURST, (proc) => tokenRequest(proc, cookie).catch((error) => ({ status: 0, text: String(error) })));
    const took = Date.now() - started;

    assert.deepEqual(answers.map((a) => a.status), Array(BURST).fill(200), `statuses ${tally(answers)}: ${answers.find((a) => a.status !== 200)?.text}\n${outputs()}`);
    assert.equal(await providerCount('token:refresh_token') - refreshesBefore, 1, `one refresh grant for ${BURST} requests over two processes (${tally(answers)})`);
    assert.equal(await providerCount('token:authorization_code') - codesBefore, 0);
    const tokens = new Set(answers.map((a) => a.body.access_token));
    assert.equal(tokens.size, 1, `every request got the refreshed token (${tokens.size} distinct)`);
    for (const a of answers) assert.ok(a.body.expires_in > 300, `a fresh token (expires_in ${a.body.expires_in}) from ${a.proc}`);
    t.diagnostic(`${BURST} token requests over two processes: ${took} ms`);
  });

  test(`a device flow started on A, polled on both, is handed out once: ${BURST} concurrent polls after the sign-in, one 200`, async () => {
    const start = await send(A, '/device/start', { method: 'POST', json: { scopes: [DEVICE_SCOPE] } });
    assert.equal(start.status, 200, `POST /device/start on A: ${start.text}`);
    const flow = start.body;
    assert.equal(flow.interval, 1, 'the provider\'s interval');
    const poll = (proc) => send(proc, '/device/poll', { method: 'POST', json: { flow_id: flow.flow_id } });

    // Pending on both (202 authorization_pending; each poll an interval after the last: no slow_down).
    for (const proc of [A, B]) {
      await sleep(1_100);
      const pending = await poll(proc);
      assert.equal(pending.status, 202, `poll on ${proc.name}: ${pending.text}`);
      assert.equal(pending.body.error, 'authorization_pending', `poll on ${proc.name}: ${pending.text}`);
    }
    // No device polls meanwhile, so no provider polls: the next one after the consent finds the sign-in done.
    await sleep(1_000);
    const providerPollsBefore = await providerCount('token:device_code');
    const verified = await verifyDeviceAsUser(flow.verification_uri, flow.user_code);
    assert.equal(verified.status, 200);
    assert.match(verified.html, /sign-in success/i, 'the provider reports the device sign-in as done');
    assert.equal(await providerCount('token:device_code'), providerPollsBefore, 'nobody polled the provider during the verification');

    // One more poll (on B): still pending for it, and it has the provider polled, in the background.
    await sleep(1_100);
    const claim = await poll(B);
    assert.equal(claim.status, 202, claim.text);
    assert.equal(claim.body.error, 'authorization_pending', claim.text);
    const deadline = Date.now() + 15_000;
    let statuses;
    for (;;) {
      statuses = await kvDeviceFlowStatuses();
      if (statuses.includes('done')) break;
      assert.ok(Date.now() < deadline, `the provider's answer was never recorded in KV (states ${JSON.stringify(statuses)}, provider polls ${await providerCount('token:device_code') - providerPollsBefore})\n${outputs()}`);
      await sleep(250);
    }
    assert.equal(await providerCount('token:device_code') - providerPollsBefore, 1, 'one provider poll after the consent');

    const answers = await burst(BURST, poll);
    const done = answers.filter((a) => a.status === 200);
    assert.equal(done.length, 1, `exactly one 200: ${tally(answers)}\n${outputs()}`);
    assert.match(done[0].body.access_token, /^eyJ/);
    assert.ok(done[0].body.session_key, 'the device gets its session key');
    assert.equal(done[0].body.account?.username, alice.username);
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 400, `${tally(answers)}: ${a.text}`);
      assert.equal(a.body.error, 'invalid_grant', `${tally(answers)}: ${a.text}`);
    }
    assert.deepEqual(await kvDeviceFlowStatuses(), ['redeemed']);
    assert.equal(await providerCount('token:device_code') - providerPollsBefore, 1, 'the burst did not reach the provider');

    // The session key works on the other process too.
    const other = done[0].proc === 'A' ? B : A;
    const token = await send(other, '/auth/token', { method: 'POST', headers: { authorization: `Bearer ${done[0].body.session_key}` }, json: { scopes: TOKEN_SCOPES } });
    assert.equal(token.status, 200, `/auth/token with the session key on ${other.name}: ${token.text}`);
  });
});
