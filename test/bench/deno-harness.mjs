// What the Deno rows (deno.mjs) and the Deno profiler (deno-profile.mjs) share: a local provider over
// plain http on 127.0.0.1 (deno's TLS stack, webpki, refuses the https provider's self-signed
// certificate, which is its own CA, as a server's), the deno child processes, and the Deno entry served
// by deno-server.ts with every cache-hit route primed: an app token, an OBO token for Alice's token for
// this API, and a session key from POST /token/password whose sign-in cached her token.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OBO_SCOPE, RESULT_MARK, SCOPE } from './common.mjs';
import { drive } from './http-load.mjs';
import { denoBinary, toolEnv } from '../../scripts/toolchain.mjs';
import { API_SCOPE_NAME, userAssertion } from './user-assertion.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const children = new Set();

/** Stops every deno this module started (on the way out, whatever happened). */
export function stopDenoChildren() {
  for (const child of children) child.kill('SIGTERM');
}

/** `stdout`: 'pipe' to read it, 'ignore' to send it to /dev/null (a server's request log). */
function startDeno(script, env, { flags = [], stdout = 'pipe', forwardStderr = true } = {}) {
  const args = ['run', '--allow-net=127.0.0.1,localhost', '--allow-env', '--allow-read', ...flags, join(here, script)];
  const child = spawn(denoBinary(), args, { cwd: root, env: { ...toolEnv, ...env }, stdio: ['ignore', stdout, 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  if (forwardStderr) child.stderr.on('data', (chunk) => process.stderr.write(chunk));
  return child;
}

/** Runs a Deno script to its end; resolves with its RESULT line (common.mjs's marker). */
export function runDeno(script, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = startDeno(script, env);
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${script} timed out`));
    }, timeoutMs);
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_MARK.length)));
      else reject(new Error(`${script} exited with ${code} and ${line ? 'a' : 'no'} result`));
    });
  });
}

const PORTS_MARK = '@@DENO_PORTS ';

/**
 * Starts deno-server.ts; resolves with the ports it prints on stderr and the child. Its stdout (the
 * entry's request log, a line per request) goes to /dev/null: read here, it would cost the load client.
 */
function serveDeno(script, env, flags) {
  return new Promise((resolve, reject) => {
    const child = startDeno(script, env, { flags, stdout: 'ignore', forwardStderr: false });
    let listening = false;
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (!listening && line.startsWith(PORTS_MARK)) {
        listening = true;
        resolve({ child, info: JSON.parse(line.slice(PORTS_MARK.length)) });
      } else {
        process.stderr.write(`${line}\n`);
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it listened`)));
  });
}

/** The local provider (http), the client settings for it, Alice, and her token for this app's API. */
export async function startProvider() {
  const { startIdp, USERS } = await import('../idp/server.mjs');
  const idp = await startIdp({ port: 0 });
  try {
    const settings = {
      AUTHORITY: idp.authority(),
      CLIENT_ID: idp.clients.webApp.clientId,
      CLIENT_SECRET: idp.clients.webApp.clientSecret,
      TOKEN_CACHE_KEY: process.env.TOKEN_CACHE_KEY ?? randomBytes(32).toString('base64url'),
      API_SCOPE: API_SCOPE_NAME,
    };
    const [user] = USERS;
    return { idp, settings, user, assertion: await userAssertion(idp, user) };
  } catch (error) {
    await idp.close();
    throw error;
  }
}

/**
 * deno-server.ts over `provider`'s settings, with a caller allowed app tokens and the password grant,
 * and the browser settings /auth/token needs. `flags`: more deno flags (the profiler's --inspect).
 * @returns the server child, its ports as URLs, and `routes`: each cache-hit route's request, primed
 *   (`first`: where its first answer comes from).
 */
export async function startEntry(provider, flags = []) {
  const callerKey = randomBytes(24).toString('base64url');
  const CALLERS = JSON.stringify({ bench: { key_sha256: createHash('sha256').update(callerKey).digest('hex'), scopes: [SCOPE, OBO_SCOPE], grants: ['client_credentials', 'password'] } });
  const web = {
    REDIRECT_URI: 'http://localhost:8787/auth/callback',
    SPA_SCOPES: OBO_SCOPE,
    SESSION_KEY: randomBytes(32).toString('base64url'),
    ENABLE_PASSWORD_GRANT: 'true',
  };
  const { child, info } = await serveDeno('deno-server.ts', { ...provider.settings, ...web, CALLERS, OBO_SCOPES: OBO_SCOPE }, flags);
  const url = (port) => new URL(`http://127.0.0.1:${port}/`);
  const urls = { constant: url(info.constant), floor: url(info.floor), app: url(info.app), bare: url(info.bare), alone: url(info.alone) };
  const json = { 'content-type': 'application/json' };
  // Alice signs in once through the entry itself: her account goes to Deno KV, her token to the cache.
  const { user } = provider;
  const signIn = await drive(urls.app, '/token/password', { authorization: `Bearer ${callerKey}`, ...json }, 'Deno /token/password', {
    body: JSON.stringify({ username: user.username, password: user.password, scopes: [OBO_SCOPE] }),
    once: true,
  });
  const sessionKey = signIn.first.session_key;
  if (typeof sessionKey !== 'string') throw new Error('POST /token/password answered without a session key');
  const clientRequest = { path: '/token/client', headers: { authorization: `Bearer ${callerKey}`, ...json }, body: JSON.stringify({ scopes: [SCOPE] }) };
  const oboRequest = { path: '/token/obo', headers: { authorization: `Bearer ${provider.assertion}`, ...json }, body: JSON.stringify({ scopes: [OBO_SCOPE] }) };
  const routes = {
    constant: { url: urls.constant, path: '/', headers: json, body: '', first: null },
    floor: { url: urls.floor, path: '/token/client', headers: json, body: JSON.stringify({ scopes: [SCOPE] }), first: null },
    client: { url: urls.app, ...clientRequest, first: 'identity_provider' },
    obo: { url: urls.app, ...oboRequest, first: 'identity_provider' },
    silent: { url: urls.app, path: '/auth/token', headers: { authorization: `Bearer ${sessionKey}`, ...json }, body: JSON.stringify({ scopes: [OBO_SCOPE] }), first: 'cache' },
    // The same /token/client hits, layer by layer: the app alone (token routes, no request log), then
    // the entry's handler without the connection info (+ the request log), then the entry (+ its
    // request rebuild) is `client` above.
    clientAlone: { url: urls.alone, ...clientRequest, first: 'cache' },
    clientBare: { url: urls.bare, ...clientRequest, first: 'cache' },
    oboAlone: { url: urls.alone, ...oboRequest, first: 'cache' },
  };
  return { child, info, routes };
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; null where there is none. */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}
