/**
 * The demo SPA at `/` (sign in, show the account, get a token, call an API with it, sign out) and the
 * demo API it calls, `/api/demo`, which validates the bearer access token like any protected API.
 */
import { Hono } from 'hono';
import { CallerError } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-token-functions demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  button, .button { font: inherit; padding: .4rem .9rem; margin: .2rem .4rem .2rem 0; cursor: pointer; }
  pre { background: #f4f4f4; padding: .8rem; overflow: auto; white-space: pre-wrap; word-break: break-all; }
  [hidden] { display: none; }
</style>
</head>
<body>
<h1>edge-token-functions</h1>
<p id="status">Checking your session…</p>
<p><a id="device-link" href="/device">Sign in a device</a> (the device code flow: a TV or a command line signs in with a code)</p>
<section id="signed-out" hidden>
  <a class="button" id="sign-in" href="/auth/login?returnTo=/">Sign in</a>
</section>
<section id="signed-in" hidden>
  <p>Signed in as <strong id="username"></strong> (<span id="name"></span>)</p>
  <button id="get-token" type="button">Get a token</button>
  <button id="call-api" type="button" disabled>Call the demo API</button>
  <form method="post" action="/auth/logout" style="display:inline"><button id="sign-out" type="submit">Sign out</button></form>
  <h2>Account</h2><pre id="account"></pre>
  <h2>Token</h2><pre id="token">(none yet)</pre>
  <h2>API answer</h2><pre id="api">(not called yet)</pre>
  <h2>Through the middle tier</h2>
  <p>This app's own API (<code>/api/profile</code>) checks your token for it, gets a token for the demo API on your behalf, and calls it.</p>
  <button id="call-profile" type="button">Call the API through the middle tier</button>
  <pre id="profile">(not called yet)</pre>
  <div id="step-up" hidden>
    <p>The API needs more from your sign-in (a claims challenge, e.g. Conditional Access asking for multi-factor authentication):</p>
    <pre id="challenge"></pre>
    <a class="button" id="sign-in-again" href="/auth/login?returnTo=/">Sign in again to satisfy it</a>
  </div>
</section>
<script src="/demo.js"></script>
</body>
</html>`;

const SCRIPT = `'use strict';
const $ = (id) => document.getElementById(id);
let accessToken = null;

async function showSession() {
  const response = await fetch('/auth/me', { credentials: 'same-origin' });
  if (response.status === 401) {
    $('status').textContent = 'You are not signed in.';
    $('signed-out').hidden = false;
    return;
  }
  const me = await response.json();
  $('status').textContent = 'You are signed in.';
  $('username').textContent = me.account.username;
  $('name').textContent = me.account.name || '';
  $('account').textContent = JSON.stringify(me, null, 2);
  $('signed-in').hidden = false;
}

/** POST /auth/token: an access token of the signed-in user, from the session (CSRF header, same-origin cookies). */
function requestToken(request) {
  return fetch('/auth/token', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-requested-with': 'fetch' },
    body: JSON.stringify(request),
  });
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

// A token is for one API: the demo API's scope (the first SPA scope) here, this app's API's below.
$('get-token').addEventListener('click', async () => {
  const response = await requestToken({ scopes: window.SPA_SCOPES.slice(0, 1) });
  const body = await response.json();
  if (!response.ok) {
    $('token').textContent = 'Error ' + response.status + ': ' + body.error + ' ' + (body.error_description || '');
    if (body.error === 'interaction_required') location.href = '/auth/login?returnTo=/';
    return;
  }
  accessToken = body.access_token;
  $('token').textContent = JSON.stringify({ ...body, access_token: body.access_token.slice(0, 24) + '…' }, null, 2);
  $('call-api').disabled = false;
});

$('call-api').addEventListener('click', async () => {
  const response = await fetch('/api/demo', { headers: { authorization: 'Bearer ' + accessToken } });
  $('api').textContent = response.status + ' ' + JSON.stringify(await response.json(), null, 2);
});

/** The claims challenge of a 401 \`WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"\`, as JSON text. */
function claimsChallenge(response, body) {
  const header = response.headers.get('www-authenticate') || '';
  const params = {};
  for (const [, name, value] of header.matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params[name.toLowerCase()] = value;
  if (params.error !== 'insufficient_claims') return null;
  let text = null;
  if (params.claims) {
    try {
      const b64 = params.claims.replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = null;
    }
  }
  if (text === null && typeof body.claims === 'string') text = body.claims;
  return text === null ? null : jsonObjectText(text);
}

// After signing in again to answer a challenge, the next token for the API is a new one (not the
// cached token the API refused), obtained with the new sign-in.
const STEP_UP_KEY = 'edge-token-functions.step-up';

/** Shows a claims challenge (JSON text) and the link that signs in again with it. */
function showChallenge(challenge) {
  $('challenge').textContent = JSON.stringify(JSON.parse(challenge), null, 2);
  $('sign-in-again').href = '/auth/login?returnTo=/&claims=' + encodeURIComponent(challenge);
  $('step-up').hidden = false;
}

/** JSON text of a JSON object, else null. */
function jsonObjectText(text) {
  try {
    const parsed = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? text : null;
  } catch {
    return null;
  }
}

$('call-profile').addEventListener('click', async () => {
  const button = $('call-profile');
  button.disabled = true;
  $('step-up').hidden = true;
  $('profile').textContent = 'Calling…';
  try {
    if (!window.MIDDLE_TIER_SCOPE) {
      $('profile').textContent = "SPA_SCOPES has no scope for this app's own API (api://<CLIENT_ID>/…).";
      return;
    }
    const afterStepUp = sessionStorage.getItem(STEP_UP_KEY) === '1';
    const tokenResponse = await requestToken({ scopes: [window.MIDDLE_TIER_SCOPE], ...(afterStepUp ? { force_refresh: true } : {}) });
    const token = await jsonOf(tokenResponse);
    if (!tokenResponse.ok) {
      $('profile').textContent = 'No token for ' + window.MIDDLE_TIER_SCOPE + ': ' + tokenResponse.status + ' ' + JSON.stringify(token, null, 2);
      if (token.error === 'interaction_required') {
        // The provider's own challenge (on the refresh), answered the same way; else a plain sign-in.
        const challenge = typeof token.claims === 'string' ? jsonObjectText(token.claims) : null;
        if (challenge) showChallenge(challenge);
        else location.href = '/auth/login?returnTo=/';
      }
      return;
    }
    sessionStorage.removeItem(STEP_UP_KEY);
    const response = await fetch('/api/profile', { headers: { authorization: 'Bearer ' + token.access_token } });
    const body = await jsonOf(response);
    $('profile').textContent = response.status + ' ' + JSON.stringify(body, null, 2);
    const challenge = response.status === 401 ? claimsChallenge(response, body) : null;
    if (challenge) showChallenge(challenge);
  } catch (error) {
    $('profile').textContent = 'Failed: ' + String((error && error.message) || error);
  } finally {
    button.disabled = false;
  }
});

$('sign-in-again').addEventListener('click', () => {
  sessionStorage.setItem(STEP_UP_KEY, '1');
});

showSession();
`;

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the sign-out form,
  // which the CSRF check must refuse.
  'referrer-policy': 'same-origin',
};

export const demoRoutes = new Hono<AppEnv>();

demoRoutes.get('/', (c) => c.body(PAGE, 200, HTML_HEADERS));

demoRoutes.get('/demo.js', async (c) => {
  const web = await c.var.deps.web();
  const settings = [
    `window.SPA_SCOPES = ${scriptJson(web.spaScopes)};`,
    `window.MIDDLE_TIER_SCOPE = ${scriptJson(middleTierScope(web.spaScopes, c.var.deps.client.config.clientId) ?? null)};`,
  ];
  const script = `${settings.join('\n')}\n${SCRIPT}`;
  return c.body(script, 200, { 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
});

/** The demo API: answers with the caller's identity when the bearer token is for its audience. */
demoRoutes.get('/api/demo', async (c) => {
  const web = await c.var.deps.web();
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(c.req.header('authorization') ?? '');
  if (!match) throw new CallerError('invalid_client', 'A bearer access token is required');
  // The API of the first SPA scope, and that scope itself: what the SPA's tokens are for (user tokens only).
  // Its `aud` is the API's URI, or (Entra v2 tokens, B2C) the API's application id: DEMO_API_AUDIENCES.
  const scope = web.spaScopes[0] ?? '';
  const claims = await c.var.deps.client.validateAccessToken(match[1]!, {
    audience: [resourceOf(scope), ...c.var.deps.demoApiAudiences()],
    requiredScopes: [scopeName(scope)],
  });
  c.header('cache-control', 'no-store');
  return c.json({
    message: `Hello ${String(claims.name ?? claims.preferred_username ?? claims.sub)}, the demo API accepted your token.`,
    aud: claims.aud,
    scp: claims.scp,
    oid: claims.oid,
    tid: claims.tid,
  });
});

/**
 * The SPA scope for this app's own API (what `/api/profile` accepts): the one whose resource is
 * `api://<CLIENT_ID>` or `<CLIENT_ID>`, the default `API_AUDIENCES`.
 */
function middleTierScope(spaScopes: readonly string[], clientId: string): string | undefined {
  const audiences = new Set([`api://${clientId}`, clientId]);
  return spaScopes.find((scope) => audiences.has(resourceOf(scope)));
}

/** JSON for a script: `<`, U+2028 and U+2029 escaped, so no value can end the script or break the line. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `api://downstream/read` → `read` (the name Entra puts in `scp`). */
function scopeName(scope: string): string {
  return scope.slice(scope.lastIndexOf('/') + 1);
}

/** `api://downstream/read` → `api://downstream` (the resource an Entra scope belongs to). */
function resourceOf(scope: string): string {
  const index = scope.lastIndexOf('/');
  return index > 0 ? scope.slice(0, index) : scope;
}
