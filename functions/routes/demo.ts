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

$('get-token').addEventListener('click', async () => {
  const response = await fetch('/auth/token', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-requested-with': 'fetch' },
    body: JSON.stringify({ scopes: window.SPA_SCOPES }),
  });
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
  const script = `window.SPA_SCOPES = ${JSON.stringify(web.spaScopes)};\n${SCRIPT}`;
  return c.body(script, 200, { 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
});

/** The demo API: answers with the caller's identity when the bearer token is for its audience. */
demoRoutes.get('/api/demo', async (c) => {
  const web = await c.var.deps.web();
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(c.req.header('authorization') ?? '');
  if (!match) throw new CallerError('invalid_client', 'A bearer access token is required');
  // The API of the first SPA scope, and that scope itself: what the SPA's tokens are for (user tokens only).
  const scope = web.spaScopes[0] ?? '';
  const claims = await c.var.deps.client.validateAccessToken(match[1]!, {
    audience: resourceOf(scope),
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

/** `api://downstream/read` → `read` (the name Entra puts in `scp`). */
function scopeName(scope: string): string {
  return scope.slice(scope.lastIndexOf('/') + 1);
}

/** `api://downstream/read` → `api://downstream` (the resource an Entra scope belongs to). */
function resourceOf(scope: string): string {
  const index = scope.lastIndexOf('/');
  return index > 0 ? scope.slice(0, index) : scope;
}
