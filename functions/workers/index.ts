/**
 * The project's own Cloudflare Worker: every route group (functions/app.ts) over wrangler.toml's bindings —
 * KV token cache (TOKEN_CACHE); Durable Objects for sign-in flows (FLOWS), accounts (ACCOUNTS), device code
 * flows (DEVICE_FLOWS) and the fleet's token flights (TOKEN_FLIGHTS).
 */
import { createApp } from '../app.ts';
import { workersRuntime } from './runtime.ts';

export { FlowObject } from './flow-object.ts';
export { AccountObject } from './account-object.ts';
export { DeviceFlowObject } from './device-flow-object.ts';
export { TokenFlightObject } from './token-flight-object.ts';

/**
 * The Worker's env: the bindings of wrangler.toml as `wrangler types` generates them (`Cloudflare.Env` in
 * worker-configuration.d.ts; `npm run types` after changing a binding, a test fails while it is stale), and
 * the settings, [vars] and secrets, read by name (README "Configuration"). A deployment without the
 * `[[ratelimits]]` bindings runs without those limits.
 */
export interface Env extends Cloudflare.Env {
  [setting: string]: unknown;
}

const app = createApp(workersRuntime());

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
