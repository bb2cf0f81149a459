/**
 * The Hono environment every route module is typed against, and what the app puts in it. Its own
 * module so that routes depend on these types, not on app.ts (which mounts them).
 */
import type { FlowStore } from '../lib/mod.ts';
import type { Deps } from './deps.ts';
import type { DeviceFlows } from './device-flows.ts';
import type { PendingSignIn } from './pending-sign-in.ts';
import type { RateLimits } from './rate-limits.ts';
import type { AccountSessions } from './sessions.ts';

/** Keeps background work (a cache renewal) alive after the response: Workers' ctx.waitUntil. */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** Flow and account stores of the browser sign-in routes; one implementation per runtime. */
export interface SignInStores {
  flows: FlowStore<PendingSignIn>;
  accounts: AccountSessions;
  deviceFlows: DeviceFlows;
}

export interface AppEnv {
  Variables: {
    correlationId: string;
    /** Absent where the runtime keeps pending promises alive by itself (Deno). */
    waitUntil: WaitUntil | undefined;
    /** Set for the routes that need it: /token/client, /auth/*, the demo. */
    deps: Deps;
    /** Set for /auth/* only, where the runtime serves sign-in. */
    signIn: SignInStores;
    /** The runtime's abuse limits; empty where it has none. */
    rateLimits: RateLimits;
  };
}
