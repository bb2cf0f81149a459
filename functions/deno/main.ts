/**
 * The Deno entry: the same app over Deno KV (token cache, sign-in flows, accounts with a refresh lease,
 * rate limits), for any number of processes sharing one KV. Settings come from the environment (the same
 * names as the Worker's), KV from DENO_KV_PATH (default: Deno's own).
 *
 *   deno serve --allow-net --allow-env --allow-read --allow-write functions/deno/main.ts   (default export)
 *   deno task start                                 (deno run … main.ts --listen: Deno.serve on HOST:PORT)
 */
import type { ConfidentialClientApplication } from '../../lib/mod.ts';
import { createApp } from '../app.ts';
import type { SignInStores } from '../app-env.ts';
import { depsFor } from '../deps.ts';
import { requestLog } from '../request-log.ts';
import type { DeviceFlows } from '../device-flows.ts';
import type { PendingSignIn } from '../pending-sign-in.ts';
import { DenoKvCacheStore } from './deno-kv-cache-store.ts';
import { DenoKvAccountSessions } from './kv-account-sessions.ts';
import { DenoKvDeviceFlows } from './kv-device-flows.ts';
import { DenoKvFlowStore } from './kv-flow-store.ts';
import { DenoKvLease } from './kv-lease.ts';
import { denoRateLimits } from './kv-rate-limiter.ts';

export interface DenoHandlerOptions {
  /** The device code flows' store (default: DenoKvDeviceFlows over the same KV and client). */
  deviceFlows?: (kv: Deno.Kv, client: () => Promise<ConfidentialClientApplication>) => DeviceFlows;
}

export type DenoHandler = (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;

export async function createDenoHandler(kv: Deno.Kv, settings: Record<string, string | undefined>, options: DenoHandlerOptions = {}): Promise<DenoHandler> {
  const store = new DenoKvCacheStore(kv);
  // One client per process: its account locks are a lease in KV, shared with every other process on it.
  const accountLocks = new DenoKvLease(kv);
  const getDeps = () => depsFor(settings, store, kv, (input, init) => fetch(input, init), { accountLocks });
  const client = () => getDeps().then((deps) => deps.client);
  const signIn: SignInStores = {
    flows: new DenoKvFlowStore<PendingSignIn>(kv),
    accounts: new DenoKvAccountSessions(kv, client),
    deviceFlows: (options.deviceFlows ?? ((kv, client) => new DenoKvDeviceFlows(kv, client)))(kv, client),
  };
  const rateLimits = denoRateLimits(kv);
  const app = createApp({
    getDeps,
    // Deno keeps the process alive for pending promises; background renewals need no waitUntil.
    waitUntil: () => undefined,
    rateLimits: () => rateLimits,
    signInStores: () => signIn,
    // One JSON log line per request, on stdout (Deno Deploy's logs); no metrics sink on Deno.
    observe: requestLog(),
  });
  // The rate limits key sign-ins by the client's address: here the connection's peer, passed as the app's
  // env (not a rewritten CF-Connecting-IP header: rebuilding every request costs more than the route).
  return (request, info) => app.fetch(request, { clientAddress: peerAddress(info) });
}

function peerAddress(info: Deno.ServeHandlerInfo | undefined): string | null {
  return info?.remoteAddr.transport === 'tcp' || info?.remoteAddr.transport === 'udp' ? info.remoteAddr.hostname : null;
}

let served: Promise<DenoHandler> | undefined;

/** The handler over DENO_KV_PATH and the environment's settings, built on first use. */
function servedHandler(): Promise<DenoHandler> {
  served ??= Deno.openKv(Deno.env.get('DENO_KV_PATH')).then((kv) => createDenoHandler(kv, Deno.env.toObject()));
  served.catch(() => (served = undefined));
  return served;
}

export default {
  fetch: async (request, info) => (await servedHandler())(request, info),
} satisfies Deno.ServeDefaultExport;

// `deno serve` runs this module as the main one too: Deno.serve only when asked, or both would listen.
if (import.meta.main && Deno.args.includes('--listen')) {
  const handler = await servedHandler();
  Deno.serve({ hostname: Deno.env.get('HOST') ?? '127.0.0.1', port: Number(Deno.env.get('PORT') ?? 8000) }, handler);
}
