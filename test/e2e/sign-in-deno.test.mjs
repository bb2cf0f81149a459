/**
 * The browser sign-in journey of sign-in.test.mjs against the Deno server instead of the Worker: headless
 * Chromium, the local identity provider, and functions/deno/main.ts under `deno run … --listen` over a
 * Deno KV file (harness.mjs, `runtime: 'deno'`). The same steps (sign-in-journey.mjs): the demo page,
 * Sign in through the provider's login and consent pages, the session cookie, Get a token and Call the
 * demo API, the middle tier's on-behalf-of exchange, Sign out through the provider, a callback URL
 * opened in another browser; then the middle tier's Conditional Access step-up.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); E2E_CHROMIUM overrides the path.
 */
import { e2eStack } from './harness.mjs';
import { SIGN_IN_SETTINGS, signInSuites } from './sign-in-journey.mjs';

const stack = e2eStack({ tmpPrefix: 'edge-e2e-deno-', runtime: 'deno', workerSettings: SIGN_IN_SETTINGS });

signInSuites(stack, {
  titles: {
    journey: 'sign-in in Chromium against the Deno server (Deno KV)',
    stepUp: 'the middle tier in Chromium on the Deno server: a Conditional Access step-up, answered by signing in again',
  },
  screenshotPrefix: 'e2e-deno',
});
