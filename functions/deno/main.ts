/**
 * The Deno entry: the same app over Deno KV. Settings come from the environment (the same names as
 * the Worker's). `deno run --allow-net --allow-env --unstable-kv functions/deno/main.ts`
 */
import { createApp } from '../app.ts';
import { depsFor } from '../deps.ts';
import { DenoKvCacheStore } from './deno-kv-cache-store.ts';

export async function createDenoHandler(kv: Deno.Kv, settings: Record<string, string | undefined>) {
  const store = new DenoKvCacheStore(kv);
  const app = createApp({
    getDeps: () => depsFor(settings, store, kv, (input, init) => fetch(input, init)),
    // Deno keeps the process alive for pending promises; background renewals need no waitUntil.
    waitUntil: () => undefined,
  });
  return (request: Request) => app.fetch(request);
}

if (import.meta.main) {
  const kv = await Deno.openKv(Deno.env.get('DENO_KV_PATH'));
  const handler = await createDenoHandler(kv, Deno.env.toObject());
  Deno.serve({ hostname: Deno.env.get('HOST') ?? '127.0.0.1', port: Number(Deno.env.get('PORT') ?? 8000) }, handler);
}
