/**
 * The example app (examples/hono-worker): a user's own Hono Worker that imports the package by its name,
 * with its own binding names and settings, bundled as wrangler deploys it and served in workerd with the
 * local identity provider. It signs a user in through the mounted routes and calls its own handler, which
 * gets an app token from the configured client. What it imports pulls in no test code and no Node module.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { root, toolEnv } from '../../scripts/toolchain.mjs';
import { CookieJar, loginHeadless } from '../idp/headless-login.mjs';
import { startIdp } from '../idp/server.mjs';
import { freePort } from '../e2e/worker.mjs';

const exampleDir = join(root, 'examples', 'hono-worker');
let tmp;
let idp;
let mf;
let origin;
let bundle;

async function dryRun(outdir) {
  const args = [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, '--metafile', join(outdir, 'meta.json')];
  await new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: exampleDir, env: { ...toolEnv, WRANGLER_LOG_PATH: join(outdir, 'logs') }, timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      error ? reject(new Error(`wrangler deploy --dry-run failed: ${error.message}\n${stdout}\n${stderr}`)) : resolve(),
    );
  });
  return join(outdir, 'index.js');
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'edge-example-'));
  bundle = await dryRun(join(tmp, 'out'));
  const port = await freePort();
  origin = `http://localhost:${port}`;
  idp = await startIdp({ port: 0, redirectUris: [`${origin}/auth/callback`] });
  const { Miniflare, Log, LogLevel, convertV4MiniflareOptions } = await import('miniflare');
  mf = new Miniflare(convertV4MiniflareOptions({
    host: '127.0.0.1',
    port,
    cf: false,
    log: new Log(LogLevel.WARN),
    workers: [{
      name: 'orders-service',
      modules: true,
      scriptPath: bundle,
      modulesRoot: dirname(bundle),
      compatibilityDate: '2026-11-01',
      kvNamespaces: { AUTH_CACHE: 'auth-cache' },
      durableObjects: {
        FLOWS: { className: 'FlowObject', useSQLite: true },
        ACCOUNTS: { className: 'AccountObject', useSQLite: true },
        DEVICE_FLOWS: { className: 'DeviceFlowObject', useSQLite: true },
        TOKEN_FLIGHTS: { className: 'TokenFlightObject', useSQLite: true },
      },
      bindings: {
        ENTRA_AUTHORITY: idp.authority(),
        CLIENT_ID: idp.clients.webApp.clientId,
        CLIENT_SECRET: idp.clients.webApp.clientSecret,
        TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'),
        SESSION_KEY: randomBytes(32).toString('base64url'),
        CALLERS: '{}',
        REDIRECT_URI: `${origin}/auth/callback`,
        SPA_SCOPES: 'api://downstream/read',
        ALLOWED_ORIGINS: origin,
      },
    }],
  }));
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await idp?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("the app's own route is its own", async () => {
  const response = await fetch(`${origin}/`);
  assert.equal(await response.text(), 'orders service');
});

test('a user signs in through the mounted routes, with the app\'s own binding and setting names', async () => {
  const jar = new CookieJar();
  const login = await fetch(`${origin}/auth/login?returnTo=/`, { redirect: 'manual' });
  assert.equal(login.status, 302);
  jar.store(login.headers.getSetCookie());
  const callback = await loginHeadless(idp, { authorizeUrl: login.headers.get('location'), username: 'alice@contoso.test', password: 'alice-password' });
  const completed = await fetch(callback, { redirect: 'manual', headers: { cookie: jar.header() } });
  assert.equal(completed.status, 302, await completed.clone().text());
  jar.store(completed.headers.getSetCookie());
  const me = await fetch(`${origin}/auth/me`, { headers: { cookie: jar.header() } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).account.username, 'alice@contoso.test');
  const token = await fetch(`${origin}/auth/token`, {
    method: 'POST',
    headers: { cookie: jar.header(), origin, 'x-requested-with': 'fetch', 'content-type': 'application/json' },
    body: JSON.stringify({ scopes: ['api://downstream/read'] }),
  });
  assert.equal(token.status, 200, await token.clone().text());
});

test("the team's own handler gets an app token from the configured client, then from the cache", async () => {
  const first = await (await fetch(`${origin}/orders/upstream-token`)).json();
  assert.deepEqual(first.scopes, ['api://downstream/.default']);
  assert.equal(first.source, 'identity_provider');
  const second = await (await fetch(`${origin}/orders/upstream-token`)).json();
  assert.equal(second.source, 'cache');
});

test('what the example imports pulls in no test code and no Node module', async () => {
  const meta = JSON.parse(await readFile(join(tmp, 'out', 'meta.json'), 'utf8'));
  const inputs = Object.keys(meta.inputs);
  assert.ok(inputs.some((path) => path.includes('functions/route-groups.ts')), 'the package is in the bundle');
  assert.deepEqual(inputs.filter((path) => /(^|\/)test\//.test(path) || path.startsWith('node:')), []);
  const imports = Object.values(meta.inputs).flatMap((input) => input.imports.map((i) => i.path));
  assert.deepEqual(imports.filter((path) => path.startsWith('node:')), []);
});
