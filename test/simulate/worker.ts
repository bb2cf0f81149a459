/**
 * The Worker as one simulated location runs it (scripts/simulate.mjs loads this bundle several times in
 * one Miniflare, each copy its own isolate): the real Worker (functions/workers/index.ts) and its
 * TokenFlightObject, with KV seen through a visibility delay (delayed-kv.ts) — each isolate is its own
 * location, and so is the object. SIM_OBJECT=unreachable makes the TOKEN_FLIGHTS objects never answer.
 * GET /_sim/stats answers this isolate's token flight counts.
 */
import worker, { TokenFlightObject, type Env } from '../../functions/workers/index.ts';
import type { ObjectBindings } from '../../functions/workers/object-client.ts';
import { tokenFlightStats } from '../../functions/workers/token-flights.ts';
import { DelayedKv } from './delayed-kv.ts';

export { TokenFlightObject };

interface SimBindings {
  /** This location's name (each isolate's, "object" for the Durable Object). */
  SIM_LOCATION: string;
  /** Milliseconds before a write is visible in other locations. */
  SIM_KV_DELAY_MS: string;
  SIM_OBJECT?: string;
}

function delayedKv(env: ObjectBindings & SimBindings, location: string): KVNamespace {
  return new DelayedKv(env.TOKEN_CACHE, location, Number(env.SIM_KV_DELAY_MS)) as unknown as KVNamespace;
}

/** The TOKEN_FLIGHTS objects as a network partition sees them: a call never returns. */
const unreachableNamespace = {
  idFromName: (name: string) => name,
  get: () => ({ acquire: () => new Promise(() => undefined) }),
} as unknown as Env['TOKEN_FLIGHTS'];

/** The object's own location: its client reads and writes KV there. */
export class SimTokenFlightObject extends TokenFlightObject {
  constructor(ctx: DurableObjectState, env: ObjectBindings & SimBindings) {
    super(ctx, { ...env, TOKEN_CACHE: delayedKv(env, 'object') });
  }
}

/** One env per isolate, kept: its KV view and namespace are what the Worker's per-isolate caches key on. */
let located: Env | undefined;

export default {
  fetch(request: Request, env: Env & SimBindings, ctx: ExecutionContext): Promise<Response> | Response {
    if (new URL(request.url).pathname === '/_sim/stats') return Response.json(tokenFlightStats);
    located ??= {
      ...env,
      TOKEN_CACHE: delayedKv(env, env.SIM_LOCATION),
      ...(env.SIM_OBJECT === 'unreachable' ? { TOKEN_FLIGHTS: unreachableNamespace } : {}),
    };
    return worker.fetch(request, located, ctx);
  },
} satisfies ExportedHandler<Env & SimBindings>;
