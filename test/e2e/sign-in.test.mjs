/**
 * The sign-in journey in a real browser: headless Debian Chromium (playwright-core, no downloaded
 * browser) against the real Worker bundle in workerd (Miniflare 5) and the local identity provider.
 * The fast, rule-by-rule sign-in tests live in test/workers/sign-in.test.ts; this one checks what only a
 * browser decides: redirects followed, cookies stored and sent (HttpOnly, SameSite), the demo page's
 * script, CSP, and the provider's real login / consent / sign-out pages. It also drives the middle tier:
 * the demo page's token for this app's API, exchanged on behalf of the user by `/api/profile`, and a
 * Conditional Access step-up (the provider's `step_up` fault on the OBO grant) answered by signing in
 * again with the claims challenge. The steps are in sign-in-journey.mjs, shared with
 * sign-in-deno.test.mjs (the same journey against the Deno server).
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); E2E_CHROMIUM overrides the path.
 */
import { e2eStack } from './harness.mjs';
import { SIGN_IN_SETTINGS, signInSuites } from './sign-in-journey.mjs';

const stack = e2eStack({ tmpPrefix: 'edge-e2e-', workerSettings: SIGN_IN_SETTINGS });

signInSuites(stack);
