/**
 * The demo "Sign in a device" page at `/device` and its script `/device.js`: the device side of the
 * device code flow in a browser tab (a stand-in for a TV or a CLI). It starts a flow with
 * POST /device/start, shows the code and where to enter it, polls POST /device/poll at the pace the
 * server asks for (Retry-After; 5 s more after a `slow_down`), and once the user has signed in elsewhere
 * shows the account and the token, then uses the session key it received (kept in page memory only,
 * never shown whole) for POST /auth/token and POST /auth/logout. Static: it reads no settings (the page
 * says so when /device/start answers that the flow is not offered).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The scope the page proposes (the local setup's DEVICE_SCOPES); the user may type others. */
const DEFAULT_SCOPES = 'api://downstream/read';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in a device · edge-token-functions demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  button { font: inherit; padding: .4rem .9rem; margin: .2rem .4rem .2rem 0; cursor: pointer; }
  input[type=text] { font: inherit; padding: .3rem .5rem; width: min(100%, 28rem); }
  pre { background: #f4f4f4; padding: .8rem; overflow: auto; white-space: pre-wrap; word-break: break-all; }
  .code { font: 700 2rem/1.2 ui-monospace, monospace; letter-spacing: .1em; }
  .error { color: #a00; }
  [hidden] { display: none; }
</style>
</head>
<body>
<p><a href="/">← The demo</a></p>
<h1>Sign in a device</h1>
<p>This page plays a device without a keyboard or browser (a TV, a command line): it gets a code, you sign in
with that code on another device, and this page receives its own token and session key.</p>
<noscript><p class="error">This page needs JavaScript.</p></noscript>
<form id="start-form">
  <label for="scopes">Scopes</label><br>
  <input id="scopes" name="scopes" type="text" value="${DEFAULT_SCOPES}" autocomplete="off" spellcheck="false">
  <button id="start" type="submit">Start</button>
</form>
<p id="status" role="status">Press Start to sign this device in.</p>
<section id="verify" hidden>
  <h2>On another device</h2>
  <p>Open <a id="verification-uri" target="_blank" rel="noopener noreferrer"></a> and enter the code</p>
  <p class="code" id="user-code"></p>
  <p id="verification-complete" hidden>Or open <a id="verification-uri-complete" target="_blank" rel="noopener noreferrer"></a> (the code is filled in).</p>
  <p>The provider's instructions: <span id="message"></span></p>
  <p>The code expires at <span id="code-expires"></span>.</p>
  <button id="cancel" type="button">Stop waiting</button>
</section>
<section id="signed-in" hidden>
  <h2>This device is signed in</h2>
  <p>As <strong id="username"></strong> <span id="name"></span> (tenant <code id="tenant"></code>)</p>
  <h3>Token</h3><pre id="token"></pre>
  <h3>Session key</h3>
  <p><code id="session-key"></code>, valid until <span id="session-expires"></span>. Only this page's memory holds it: reloading the page forgets it.</p>
  <div id="key-actions">
    <button id="get-token" type="button">Get a token with the session key</button>
    <button id="sign-out" type="button">Sign out this device</button>
  </div>
  <pre id="token-again">(no token requested with the session key yet)</pre>
</section>
<script src="/device.js"></script>
</body>
</html>`;

const SCRIPT = `'use strict';
const $ = (id) => document.getElementById(id);

/** The session key the device received: in this page's memory only (never stored, never shown whole). */
let sessionKey = null;
/** The scopes of the device's sign-in (asked again with the session key). */
let signedInScopes = [];
/** The flow being polled: { id, interval, expiresAt, failures, timer }; null when none. */
let flow = null;

const SLOW_DOWN_SECONDS = 5;
const MAX_TRANSIENT_FAILURES = 3;

/** A secret's first characters, never the whole of it. */
function shortened(secret) {
  return String(secret).slice(0, 12) + '…';
}

function setStatus(text, isError) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

function errorText(response, body) {
  return 'Error ' + response.status + ': ' + (body.error || 'unknown_error') + (body.error_description ? ' (' + body.error_description + ')' : '');
}

/** Retry-After in seconds (delta-seconds or an HTTP date), or null. */
function retryAfterOf(response) {
  const value = response.headers.get('retry-after');
  if (!value) return null;
  if (/^\\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Only http(s) links from the provider's answer become links. */
function httpUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

function showLink(anchor, value) {
  const href = httpUrl(value);
  anchor.textContent = String(value);
  if (href) anchor.href = href;
  else anchor.removeAttribute('href');
}

/** JSON POST without cookies: the device has none, and its session key goes in Authorization. */
function post(path, body, key) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = 'Bearer ' + key;
  return fetch(path, { method: 'POST', credentials: 'omit', cache: 'no-store', headers, body: JSON.stringify(body) });
}

/** What the page shows of a token answer: the access token shortened, its expiry as a time too. */
function tokenSummary(body) {
  const expiresAt = typeof body.expires_in === 'number' ? new Date(Date.now() + body.expires_in * 1000).toISOString() : undefined;
  return JSON.stringify({
    token_type: body.token_type,
    scope: body.scope,
    expires_in: body.expires_in,
    expires_at: expiresAt,
    token_source: body.token_source,
    access_token: typeof body.access_token === 'string' ? shortened(body.access_token) : undefined,
  }, null, 2);
}

function stopPolling() {
  if (flow && flow.timer) clearTimeout(flow.timer);
  flow = null;
  $('start').disabled = false;
  $('scopes').disabled = false;
}

function failFlow(text) {
  stopPolling();
  $('verify').hidden = true;
  setStatus(text, true);
}

function forgetKey() {
  sessionKey = null;
  $('get-token').disabled = true;
  $('sign-out').disabled = true;
}

$('start-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const scopes = $('scopes').value.split(/[\\s,]+/).filter(Boolean);
  if (scopes.length === 0) {
    setStatus('Enter at least one scope.', true);
    return;
  }
  stopPolling();
  forgetKey();
  $('signed-in').hidden = true;
  $('verify').hidden = true;
  $('start').disabled = true;
  $('scopes').disabled = true;
  setStatus('Starting a device sign-in…');
  let response;
  let body;
  try {
    response = await post('/device/start', { scopes });
    body = await jsonOf(response);
  } catch (error) {
    failFlow('Could not reach /device/start: ' + String((error && error.message) || error));
    return;
  }
  if (!response.ok) {
    if (response.status === 404) failFlow('This deployment does not offer the device code flow (DEVICE_SCOPES is not set). ' + errorText(response, body));
    else if (body.error === 'invalid_scope') failFlow('Devices may not ask for these scopes here (see DEVICE_SCOPES). ' + errorText(response, body));
    else failFlow(errorText(response, body));
    return;
  }
  showLink($('verification-uri'), body.verification_uri);
  $('user-code').textContent = body.user_code;
  $('verification-complete').hidden = !body.verification_uri_complete;
  if (body.verification_uri_complete) showLink($('verification-uri-complete'), body.verification_uri_complete);
  $('message').textContent = body.message || '';
  const interval = Math.max(1, Number(body.interval) || 5);
  const expiresAt = Date.now() + Math.max(0, Number(body.expires_in) || 0) * 1000;
  $('code-expires').textContent = new Date(expiresAt).toLocaleTimeString();
  $('verify').hidden = false;
  flow = { id: body.flow_id, interval, expiresAt, failures: 0, timer: null, scopes };
  waiting();
  schedule(flow, interval);
});

function waiting() {
  setStatus('Waiting for the sign-in on another device (checking every ' + flow.interval + ' s)…');
}

function schedule(current, seconds) {
  current.timer = setTimeout(() => pollOnce(current), seconds * 1000);
}

async function pollOnce(current) {
  if (flow !== current) return;
  if (Date.now() >= current.expiresAt) {
    failFlow('The code expired before the sign-in was completed. Press Start for a new one.');
    return;
  }
  let response;
  let body;
  try {
    response = await post('/device/poll', { flow_id: current.id });
    body = await jsonOf(response);
  } catch (error) {
    if (flow !== current) return;
    if (++current.failures > MAX_TRANSIENT_FAILURES) {
      failFlow('Could not reach /device/poll: ' + String((error && error.message) || error));
      return;
    }
    schedule(current, current.interval);
    return;
  }
  if (flow !== current) return;
  const retryAfter = retryAfterOf(response);
  if (response.status === 200) {
    stopPolling();
    showSignedIn(body, current.scopes);
    return;
  }
  if (body.error === 'authorization_pending') {
    current.failures = 0;
    // The server's pace (its interval, widened when the provider asked it to slow down) is the floor.
    current.interval = Math.max(current.interval, retryAfter || 0);
    waiting();
    schedule(current, current.interval);
    return;
  }
  if (body.error === 'slow_down') {
    // RFC 8628 §3.5: every later poll waits 5 seconds more.
    current.interval = Math.max(current.interval + SLOW_DOWN_SECONDS, retryAfter || 0);
    waiting();
    schedule(current, current.interval);
    return;
  }
  if ((response.status === 429 || response.status >= 502) && ++current.failures <= MAX_TRANSIENT_FAILURES) {
    schedule(current, Math.max(current.interval, retryAfter || 0));
    return;
  }
  if (body.error === 'expired_token') failFlow('The code expired before the sign-in was completed. Press Start for a new one.');
  else if (body.error === 'access_denied') failFlow('The sign-in was declined. ' + errorText(response, body));
  else if (body.error === 'invalid_grant') failFlow('This sign-in is no longer valid (already completed, or unknown). Press Start for a new one.');
  else failFlow('The sign-in failed. ' + errorText(response, body));
}

$('cancel').addEventListener('click', () => {
  stopPolling();
  $('verify').hidden = true;
  setStatus('Stopped waiting. Press Start for a new code.');
});

function showSignedIn(body, scopes) {
  $('verify').hidden = true;
  sessionKey = body.session_key;
  signedInScopes = scopes;
  const account = body.account || {};
  $('username').textContent = account.username || '';
  $('name').textContent = account.name ? '(' + account.name + ')' : '';
  $('tenant').textContent = account.tenantId || '';
  $('token').textContent = tokenSummary(body);
  $('session-key').textContent = shortened(sessionKey);
  $('session-expires').textContent = new Date(Date.now() + (Number(body.session_expires_in) || 0) * 1000).toLocaleString();
  $('token-again').textContent = '(no token requested with the session key yet)';
  $('get-token').disabled = false;
  $('sign-out').disabled = false;
  $('signed-in').hidden = false;
  setStatus('Signed in as ' + (account.username || 'an account') + '.');
}

$('get-token').addEventListener('click', async () => {
  if (!sessionKey) return;
  $('get-token').disabled = true;
  $('token-again').textContent = 'Asking /auth/token…';
  try {
    const response = await post('/auth/token', { scopes: signedInScopes }, sessionKey);
    const body = await jsonOf(response);
    if (response.ok) {
      $('token-again').textContent = tokenSummary(body);
    } else {
      $('token-again').textContent = errorText(response, body);
      if (response.status === 401) {
        forgetKey();
        setStatus('The session key no longer works: press Start to sign this device in again.', true);
      }
    }
  } catch (error) {
    $('token-again').textContent = 'Failed: ' + String((error && error.message) || error);
  } finally {
    if (sessionKey) $('get-token').disabled = false;
  }
});

$('sign-out').addEventListener('click', async () => {
  if (!sessionKey) return;
  $('sign-out').disabled = true;
  try {
    const response = await post('/auth/logout', {}, sessionKey);
    const body = await jsonOf(response);
    if (response.ok && body.signed_out === true) {
      forgetKey();
      $('token-again').textContent = '(signed out)';
      setStatus('This device is signed out: its session key no longer works.');
    } else if (response.status === 401) {
      forgetKey();
      setStatus('This session had already ended. ' + errorText(response, body), true);
    } else {
      setStatus('Sign-out failed. ' + errorText(response, body), true);
      $('sign-out').disabled = false;
    }
  } catch (error) {
    setStatus('Sign-out failed: ' + String((error && error.message) || error), true);
    $('sign-out').disabled = false;
  }
});
`;

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  // No forms are sent (the one form is handled by the script) and no frames; fetch to this origin only.
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const SCRIPT_HEADERS = { 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

export const deviceDemoRoutes = new Hono<AppEnv>();

deviceDemoRoutes.get('/device', (c) => c.body(PAGE, 200, HTML_HEADERS));
deviceDemoRoutes.get('/device.js', (c) => c.body(SCRIPT, 200, SCRIPT_HEADERS));
