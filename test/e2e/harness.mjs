/**
 * What every browser test starts and stops: a temporary directory, the Worker bundle and headless Chromium
 * (side by side), then the local identity provider (which must know the Worker's redirect URI) and the
 * Worker on a free port with the settings all the tests share plus the test's own. `stop()` closes what
 * was started, in reverse order and each step bounded, also after a start that failed or timed out.
 *
 *   const stack = e2eStack({ tmpPrefix: 'edge-e2e-', workerSettings: { SPA_SCOPES: '…' } });
 *   before(() => stack.start(), { timeout: 150_000 });
 *   after(() => stack.stop(), { timeout: 40_000 });
 *   // then stack.idp, stack.origin (http://localhost:<worker port>), stack.tmp, stack.newPage()
 *
 * `runtime: 'deno'` serves the app with the Deno server instead (functions/deno/main.ts under `deno run
 * … --listen`, see deno-server.mjs) on the free port, with the same settings in its environment and its
 * Deno KV in a SQLite file in the temporary directory; no bundle is built. `stack.server` is that process.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); E2E_CHROMIUM overrides the path.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startIdp } from '../idp/server.mjs';
import { startDenoServer } from './deno-server.mjs';
import { bundleWorker, freePort, startWorker } from './worker.mjs';

const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** A browser step (navigation, waiting for an element) unless the test says otherwise. */
export const STEP_TIMEOUT = 15_000;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * @param {object} o
 * @param {string} o.tmpPrefix  the temporary directory's name prefix (under the OS's temp dir)
 * @param {object} [o.idpOptions]  startIdp options besides the port and the redirect URI (e.g. `deviceCodeInterval`)
 * @param {Record<string, string> | ((idp: object) => Record<string, string>)} o.workerSettings  the test's own Worker
 *   settings (SPA_SCOPES, …), on top of the shared ones; or a function of the started provider that returns them
 *   (for settings naming its origin, such as another AUTHORITY)
 * @param {'workerd' | 'deno'} [o.runtime]  what serves the app: the bundled Worker in workerd (default) or the Deno server
 */
export function e2eStack({ tmpPrefix, idpOptions = {}, workerSettings, runtime = 'workerd' }) {
  assert.ok(runtime === 'workerd' || runtime === 'deno', `e2eStack: runtime must be 'workerd' or 'deno', not ${runtime}`);
  const stack = {
    idp: undefined,
    worker: undefined,
    /** With runtime 'deno': the Deno server process (deno-server.mjs). */
    server: undefined,
    browser: undefined,
    tmp: undefined,
    origin: undefined,

    async start() {
      assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (Debian), or set E2E_CHROMIUM`);
      try {
        stack.tmp = await mkdtemp(join(tmpdir(), tmpPrefix));
        // Both settled before going on: a browser launched while the bundling failed is still closed by stop().
        const [bundled, launched] = await Promise.allSettled([
          runtime === 'deno' ? undefined : bundleWorker(stack.tmp),
          chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 30_000, args: CHROMIUM_ARGS }),
        ]);
        if (launched.status === 'fulfilled') stack.browser = launched.value;
        for (const result of [bundled, launched]) if (result.status === 'rejected') throw result.reason;
        await startIdpAndWorker(bundled.value);
      } catch (error) {
        await stack.stop();
        throw error;
      }
    },

    /** Closes each thing that was started, in reverse order, each bounded; never throws. */
    async stop() {
      const bounded = (label, promise) => Promise.race([
        Promise.resolve(promise).catch((error) => console.error(`# e2e: stopping ${label} failed: ${error?.message ?? error}`)),
        new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
      ]);
      if (stack.browser) await bounded('chromium', stack.browser.close());
      if (stack.worker) await bounded('workerd', stack.worker.mf.dispose());
      if (stack.server) await bounded('deno server', stack.server.stop());
      if (stack.idp) await bounded('identity provider', stack.idp.close());
      if (stack.tmp) await bounded('temp dir', rm(stack.tmp, { recursive: true, force: true }));
      stack.browser = stack.worker = stack.server = stack.idp = stack.tmp = undefined;
    },

    /** A fresh browser profile (own cookies) with one page; console errors are kept for failure messages. */
    async newPage() {
      const context = await stack.browser.newContext();
      context.setDefaultTimeout(STEP_TIMEOUT);
      context.setDefaultNavigationTimeout(STEP_TIMEOUT);
      // Loopback only (the provider's pages @import a web font): fail fast instead of waiting on DNS.
      await context.route((url) => !LOOPBACK.has(url.hostname), (route) => route.abort('blockedbyclient'));
      const page = await context.newPage();
      const problems = [];
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/ERR_BLOCKED_BY_CLIENT|status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
      });
      return { context, page, problems };
    },
  };

  /** The IdP and the Worker (or the Deno server) on a free port; one retry if the port was taken meanwhile. */
  async function startIdpAndWorker(scriptPath) {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const origin = `http://localhost:${port}`;
      stack.origin = origin;
      stack.idp = await startIdp({ ...idpOptions, port: 0, redirectUris: [`${origin}/auth/callback`] });
      try {
        const settings = {
          AUTHORITY: stack.idp.authority(),
          CLIENT_ID: stack.idp.clients.webApp.clientId,
          CLIENT_SECRET: stack.idp.clients.webApp.clientSecret,
          TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'),
          CALLERS: '{}',
          REDIRECT_URI: `${origin}/auth/callback`,
          SESSION_KEY: randomBytes(32).toString('base64url'),
          ALLOWED_ORIGINS: origin,
          POST_LOGOUT_REDIRECT_URI: `${origin}/`,
          ...(typeof workerSettings === 'function' ? workerSettings(stack.idp) : workerSettings),
        };
        if (runtime === 'deno') {
          // A KV file per attempt: nothing of a failed start is reused.
          stack.server = await startDenoServer({ port, settings, kvPath: join(stack.tmp, `deno-kv-${attempt}.sqlite`), label: 'deno server' });
        } else {
          stack.worker = await startWorker({ scriptPath, port, settings });
        }
        return;
      } catch (error) {
        await stack.idp.close();
        stack.idp = undefined;
        if (attempt >= 2) throw error;
      }
    }
  }

  return stack;
}

export async function textOf(page, selector) {
  return (await page.locator(selector).textContent())?.trim() ?? '';
}
