/**
 * `edge-token-functions/hono`: the route groups to mount in your own Hono app, and the middleware that
 * gives your handlers the configured client. Runtime-free: pair it with a runtime from
 * `edge-token-functions/workers` or `edge-token-functions/deno`.
 */
export { tokenEndpoints, signIn, deviceEndpoints, accountImport, demo, identity, limitBody, noStore, answerErrors, MAX_BODY_BYTES, type Runtime } from './route-groups.ts';
export { createApp } from './app.ts';
export { requestLog } from './request-log.ts';
export type { AppEnv } from './app-env.ts';
