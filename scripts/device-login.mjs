#!/usr/bin/env node
/**
 * Signs this machine in as a device, with the device code flow of a running edge-token-functions
 * (`npm start`, or a deployment): POST /device/start, the code and the page to enter it at, then
 * POST /device/poll at the pace the server asks for (Retry-After; 5 s more after each `slow_down`) until
 * the sign-in is completed, declined or expired. Prints the account and a summary of the token; the
 * session key the device receives is shown shortened and kept nowhere unless `--save <file>` (written
 * with mode 0600). Node >= 22, built-ins only.
 *
 *   node scripts/device-login.mjs [--origin http://localhost:8787] [--scopes "api://downstream/read"]
 *                                 [--save <file>] [--token] [--logout]
 *
 * Exit status: 0 signed in; 1 the sign-in (or a later step) failed; 2 bad arguments.
 */
import { accessSync, closeSync, constants, fchmodSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const USAGE = `Usage: node scripts/device-login.mjs [options]

Signs in with the device code flow of an edge-token-functions service.

Options:
  --origin <url>     the service (default http://localhost:8787, the one npm start runs)
  --scopes <scopes>  space- or comma-separated scopes within the service's DEVICE_SCOPES
                     (default "api://downstream/read")
  --save <file>      write the session key to <file> (mode 0600); otherwise it is kept nowhere
  --token            then get an access token with the session key (POST /auth/token)
  --logout           at the end, sign the session out (POST /auth/logout); not with --save
  -h, --help         this text

Use a saved key as: curl -H "Authorization: Bearer $(cat <file>)" <origin>/auth/me`;

const SLOW_DOWN_SECONDS = 5;
/** Consecutive failures to reach the service (or 429 / 5xx answers) tolerated while polling. */
const MAX_TRANSIENT_FAILURES = 3;
const REQUEST_TIMEOUT_MS = 30_000;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A failure with what to tell the user; `exitCode` 2 for bad arguments. */
class Failure extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        origin: { type: 'string', default: 'http://localhost:8787' },
        scopes: { type: 'string', default: 'api://downstream/read' },
        save: { type: 'string' },
        token: { type: 'boolean', default: false },
        logout: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new Failure(`${error.message}\n\n${USAGE}`, 2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  let origin;
  try {
    origin = new URL(values.origin);
  } catch {
    throw new Failure(`--origin ${values.origin} is not a URL`, 2);
  }
  if (origin.protocol !== 'https:' && !(origin.protocol === 'http:' && LOOPBACK.has(origin.hostname))) {
    throw new Failure(`--origin must use https (http only for localhost): the session key would travel in clear text`, 2);
  }
  const scopes = values.scopes.split(/[\s,]+/).filter(Boolean);
  if (scopes.length === 0) throw new Failure('--scopes names no scope', 2);
  if (values.save !== undefined && values.logout) throw new Failure('--save and --logout together would save a key that no longer works', 2);
  const save = values.save === undefined ? undefined : resolve(values.save);
  if (save !== undefined) {
    try {
      accessSync(dirname(save), constants.W_OK);
    } catch {
      throw new Failure(`--save ${values.save}: cannot write to ${dirname(save)}`, 2);
    }
  }
  return { origin: origin.origin + origin.pathname.replace(/\/+$/, ''), scopes, save, token: values.token, logout: values.logout };
}

/** POST <origin><path> with a JSON body (and the session key, if any). @returns { response, body } */
async function post(origin, path, json, sessionKey) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (sessionKey) headers.authorization = `Bearer ${sessionKey}`;
  let response;
  try {
    response = await fetch(`${origin}${path}`, { method: 'POST', headers, body: JSON.stringify(json), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const reason = error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(error);
    throw Object.assign(new Failure(`could not reach ${origin}${path}: ${reason}`), { transient: true });
  }
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  return { response, body };
}

function errorText(response, body) {
  const description = body.error_description ? `: ${String(body.error_description).split(/\r?\n/)[0]}` : '';
  const correlation = body.correlation_id ? ` (correlation id ${body.correlation_id})` : '';
  return `${response.status} ${body.error ?? 'unknown_error'}${description}${correlation}`;
}

/** Retry-After in seconds (delta-seconds or an HTTP date), or undefined. */
function retryAfterOf(response) {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** A secret's first characters, never the whole of it. */
const shortened = (secret) => `${String(secret).slice(0, 12)}…`;

function expiry(seconds) {
  return typeof seconds === 'number' ? `expires in ${seconds} s (at ${new Date(Date.now() + seconds * 1000).toISOString()})` : 'expiry unknown';
}

function tokenLine(body) {
  return `${body.token_type ?? 'Bearer'} token for "${body.scope}", ${expiry(body.expires_in)}, from ${body.token_source ?? '?'}: ${typeof body.access_token === 'string' ? shortened(body.access_token) : '(none)'}`;
}

async function start(origin, scopes) {
  const { response, body } = await post(origin, '/device/start', { scopes });
  if (response.ok && typeof body.flow_id === 'string') return body;
  if (response.status === 404) throw new Failure(`${origin} does not offer the device code flow (DEVICE_SCOPES is not set there): ${errorText(response, body)}`);
  if (body.error === 'invalid_scope') throw new Failure(`${origin} does not let devices ask for ${scopes.join(' ')} (see its DEVICE_SCOPES): ${errorText(response, body)}`);
  throw new Failure(`could not start a device sign-in: ${errorText(response, body)}`);
}

/** Polls until the sign-in ends. @returns the device's answer: token fields, account, session key. */
async function waitForSignIn(origin, flow) {
  let interval = Math.max(1, Number(flow.interval) || 5);
  const deadline = Date.now() + Math.max(0, Number(flow.expires_in) || 0) * 1000;
  let failures = 0;
  let wait = interval;
  for (;;) {
    await sleep(wait * 1000);
    if (Date.now() >= deadline) throw new Failure('the code expired before the sign-in was completed; run again for a new one');
    let answer;
    try {
      answer = await post(origin, '/device/poll', { flow_id: flow.flow_id });
    } catch (error) {
      if (!error.transient || ++failures > MAX_TRANSIENT_FAILURES) throw error;
      console.error(`(${error.message}; trying again in ${interval} s)`);
      wait = interval;
      continue;
    }
    const { response, body } = answer;
    const retryAfter = retryAfterOf(response) ?? 0;
    if (response.status === 200) {
      if (typeof body.session_key !== 'string') throw new Failure('the service answered the sign-in without a session key');
      return body;
    }
    if (body.error === 'authorization_pending') {
      failures = 0;
      // The server's pace (its interval, widened when the provider asked it to slow down) is the floor.
      wait = interval = Math.max(interval, retryAfter);
      continue;
    }
    if (body.error === 'slow_down') {
      // RFC 8628 §3.5: this and every later poll waits 5 seconds more.
      wait = interval = Math.max(interval + SLOW_DOWN_SECONDS, retryAfter);
      console.error(`(asked to slow down: now checking every ${interval} s)`);
      continue;
    }
    if ((response.status === 429 || response.status >= 502) && ++failures <= MAX_TRANSIENT_FAILURES) {
      wait = Math.max(interval, retryAfter);
      console.error(`(${errorText(response, body)}; trying again in ${wait} s)`);
      continue;
    }
    switch (body.error) {
      case 'expired_token':
        throw new Failure(`the code expired before the sign-in was completed; run again for a new one (${errorText(response, body)})`);
      case 'access_denied':
        throw new Failure(`the sign-in was declined (${errorText(response, body)})`);
      case 'invalid_grant':
        throw new Failure(`this sign-in is no longer valid: already completed or unknown (${errorText(response, body)})`);
      default:
        throw new Failure(`the sign-in failed: ${errorText(response, body)}`);
    }
  }
}

/** Writes the key alone on a line, readable by the owner only (an existing file is made 0600 before it is written). */
function saveKey(file, key) {
  let fd;
  try {
    fd = openSync(file, 'w', 0o600);
    fchmodSync(fd, 0o600);
    writeSync(fd, `${key}\n`);
  } catch (error) {
    throw new Failure(`could not save the session key to ${file}: ${error.message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function main() {
  const { origin, scopes, save, token, logout } = options();
  const flow = await start(origin, scopes);
  console.log(flow.message || `To sign in, open ${flow.verification_uri} and enter the code ${flow.user_code}.`);
  if (flow.verification_uri_complete) console.log(`Or open ${flow.verification_uri_complete} (the code is filled in).`);
  console.log(`Waiting for the sign-in (checking every ${flow.interval} s; the code expires in ${Math.round(flow.expires_in / 60)} min)…`);

  const signedIn = await waitForSignIn(origin, flow);
  const sessionKey = signedIn.session_key;
  if (save !== undefined) saveKey(save, sessionKey);
  const account = signedIn.account ?? {};
  console.log('');
  console.log(`Signed in as ${account.username ?? '?'}${account.name ? ` (${account.name})` : ''}`);
  console.log(`  tenant:          ${account.tenantId ?? '?'}`);
  console.log(`  home account id: ${account.homeAccountId ?? '?'}`);
  console.log(`Access token: ${tokenLine(signedIn)}`);
  const days = Math.round((Number(signedIn.session_expires_in) || 0) / 86400);
  console.log(`Session key: ${shortened(sessionKey)}, valid ${days} days; ${save !== undefined ? `saved to ${save} (mode 0600)` : 'not saved (pass --save <file> to keep it)'}`);

  if (token) {
    const { response, body } = await post(origin, '/auth/token', { scopes }, sessionKey);
    if (!response.ok) throw new Failure(`POST /auth/token with the session key failed: ${errorText(response, body)}`);
    console.log(`Token with the session key: ${tokenLine(body)}`);
  }
  if (logout) {
    const { response, body } = await post(origin, '/auth/logout', {}, sessionKey);
    if (!response.ok || body.signed_out !== true) throw new Failure(`POST /auth/logout with the session key failed: ${errorText(response, body)}`);
    console.log('Signed out: the session key no longer works.');
  }
}

try {
  await main();
} catch (error) {
  if (error instanceof Failure) {
    console.error(`device-login: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    console.error('device-login: unexpected error:', error);
    process.exitCode = 1;
  }
}
