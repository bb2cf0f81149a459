import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
// @ts-expect-error plain JS module without types
import { CLIENT_IDS, CLIENT_SECRETS, TENANTS } from './test/idp/config.mjs';

/** The Worker under test answers at this origin (see test/workers/harness.ts). */
const WORKER_ORIGIN = 'https://worker.test';

/** A loopback port that was free a moment ago; the identity provider (test/global-setup.ts) listens on it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export default defineConfig(async () => {
  // The provider's address must be known here, before it starts: the Durable Objects read their settings
  // from these bindings, never from the per-test env that tests hand to the Worker.
  process.env.IDP_PORT ??= String(await freePort());
  const idpOrigin = `http://127.0.0.1:${process.env.IDP_PORT}`;
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // The sign-in settings, shared by the Worker and its Durable Objects (test/workers/browser-driver.ts
          // uses them unchanged). App-token tests pass their own settings per test (harness.ts `settings()`).
          bindings: {
            AUTHORITY: `${idpOrigin}/${TENANTS.primary}`,
            CLIENT_ID: CLIENT_IDS.webApp,
            CLIENT_SECRET: CLIENT_SECRETS.webApp,
            TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'),
            SESSION_KEY: randomBytes(32).toString('base64url'),
            REDIRECT_URI: `${WORKER_ORIGIN}/auth/callback`,
            SPA_SCOPES: 'api://downstream/read',
            ALLOWED_ORIGINS: WORKER_ORIGIN,
            POST_LOGOUT_REDIRECT_URI: `${WORKER_ORIGIN}/`,
            PROVIDER_RETRY_DELAY_MS: '50',
            // This app as an API (on-behalf-of): the token flight objects validate assertions with it
            // (test/workers/token-flights.test.ts). OBO_SCOPES stays per test.
            API_SCOPE: 'access_as_user',
          },
        },
      }),
    ],
    test: {
      // The fuzz suite's seed and size (test/workers/fuzz.test.ts): FUZZ_SEED=5 FUZZ_COUNT=200 npx vitest run …
      provide: { fuzz: { FUZZ_SEED: process.env.FUZZ_SEED, FUZZ_COUNT: process.env.FUZZ_COUNT, FUZZ_VERBOSE: process.env.FUZZ_VERBOSE } },
      include: ['test/workers/**/*.test.ts', 'test/lib/**/*.test.ts', 'test/storage/**/*.test.ts', 'test/contract/**/*.test.ts'],
      globalSetup: ['test/global-setup.ts'],
      // One identity provider serves every file, and tests read its request counters.
      fileParallelism: false,
      testTimeout: 30_000,
      hookTimeout: 30_000,
      // The Worker writes a JSON line per request (functions/request-log.ts): the suites that check those
      // lines capture them with spies (request-log.test.ts, fuzz.test.ts); printed, they would drown the output.
      onConsoleLog: (log: string) => (/^\{"message":/.test(log) ? false : undefined),
    },
  };
});
