/**
 * `npm start`: the local identity provider on 127.0.0.1:9090 and the Worker under `wrangler dev` on
 * http://localhost:8787, wired together by a generated .dev.vars. Prints a curl that gets a token.
 * `--deno` (`npm run start:deno`, `deno task start`): the same app on Deno (functions/deno/main.ts over a
 * Deno KV file in .cache/) on http://localhost:8000, with the same settings in its environment.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { assertNode22, bin, cacheDir, denoBinary, root, run } from './toolchain.mjs';
import { startIdp } from '../test/idp/server.mjs';

assertNode22();
const idpPort = Number(process.env.IDP_PORT ?? 9090);
const onDeno = process.argv.includes('--deno');
const workerPort = Number(process.env.PORT ?? (onDeno ? 8000 : 8787));

const origin = `http://localhost:${workerPort}`;
const idp = await startIdp({ port: idpPort, redirectUris: [`${origin}/auth/callback`] });
const callerKey = randomBytes(24).toString('base64url');
const callers = {
  local: { key_sha256: createHash('sha256').update(callerKey).digest('hex'), scopes: ['api://downstream/.default', 'api://other/.default'] },
};
const vars = {
  AUTHORITY: idp.authority(),
  CLIENT_ID: idp.clients.webApp.clientId,
  CLIENT_SECRET: idp.clients.webApp.clientSecret,
  TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'),
  CALLERS: JSON.stringify(callers),
  REDIRECT_URI: `${origin}/auth/callback`,
  // The demo API's scope first, then this app's own API (the middle tier calls the demo API on behalf of the user).
  SPA_SCOPES: 'api://downstream/read api://web-app/access_as_user',
  API_SCOPE: 'access_as_user',
  OBO_SCOPES: 'api://downstream/read',
  // What a device may ask for with the device code flow (/device, scripts/device-login.mjs); within SPA_SCOPES
  // so that the device's session key also gets tokens from /auth/token.
  DEVICE_SCOPES: 'api://downstream/read',
  SESSION_KEY: randomBytes(32).toString('base64url'),
  ALLOWED_ORIGINS: origin,
  POST_LOGOUT_REDIRECT_URI: `${origin}/`,
};
// Single quotes keep the JSON intact in wrangler's dotenv parser. (Deno gets them in its environment.)
if (!onDeno) writeFileSync(join(root, '.dev.vars'), Object.entries(vars).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n', { mode: 0o600 });

console.log(`
Local identity provider: ${idp.authority()}
${onDeno ? 'Deno server' : 'Worker'}: ${origin}

Sign in in a browser at ${origin}/ as ${idp.users.filter((u) => u.tenants.includes(idp.tenants.primary)).map((u) => `${u.username} / ${u.password}`).join(" or ")}.

Sign in a device (the device code flow) at ${origin}/device, or from a terminal:
  node scripts/device-login.mjs --origin ${origin} --token

Get an app token:
  curl -s -X POST http://localhost:${workerPort}/token/client \\
    -H 'Authorization: Bearer ${callerKey}' \\
    -H 'Content-Type: application/json' \\
    -d '{"scopes":["api://downstream/.default"]}'
`);

const stop = async () => {
  await idp.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

let code;
if (onDeno) {
  // A fresh KV file per start: sessions and tokens of an earlier run were sealed under other keys.
  const kvDir = join(cacheDir, 'deno-kv');
  rmSync(kvDir, { recursive: true, force: true });
  mkdirSync(kvDir, { recursive: true });
  ({ code } = await run(denoBinary(), ['run', '--allow-net', '--allow-env', '--allow-read', '--allow-write', 'functions/deno/main.ts', '--listen'], {
    env: { ...vars, HOST: '127.0.0.1', PORT: String(workerPort), DENO_KV_PATH: join(kvDir, 'start.sqlite') },
  }));
} else {
  ({ code } = await run(join(bin, 'wrangler'), [
    'dev',
    '--ip', '127.0.0.1',
    '--port', String(workerPort),
    '--show-interactive-dev-session=false',
    '--log-level', process.env.WRANGLER_LOG_LEVEL ?? 'info',
  ]));
}
await idp.close();
process.exit(code);
