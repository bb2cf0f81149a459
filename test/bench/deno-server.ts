/**
 * Started by deno.mjs: the Deno entry (functions/deno/main.ts, over an in-memory Deno KV) as it is run, and
 * beside it, each on its own `Deno.serve` listener on 127.0.0.1 in this one process so that all are
 * driven by the same load client through the same kind of server: a constant route, a Hono route that
 * reads the JSON body (the floor), the entry's handler without the connection info, and the app alone.
 * Together they split a hit's cost into layers. Settings come from the environment as for the entry.
 * Prints one line on stderr, `@@DENO_PORTS {"constant": port, …}`, then serves until killed.
 */
import { Hono } from 'hono';
import { createApp } from '../../functions/app.ts';
import { depsFor } from '../../functions/deps.ts';
import { DenoKvCacheStore } from '../../functions/deno/deno-kv-cache-store.ts';
import { createDenoHandler } from '../../functions/deno/main.ts';

/** A constant JSON body of about the size of a token answer (the same as the Worker rows' ceiling). */
const constantBody = JSON.stringify({ access_token: `eyJ${'x'.repeat(1000)}`, token_type: 'Bearer', expires_in: 3599, token_source: 'cache' });

/** deno-harness.mjs looks for this on stderr. */
const PORTS_MARK = '@@DENO_PORTS ';

const kv = await Deno.openKv(':memory:');
const settings = Deno.env.toObject();
const handler = await createDenoHandler(kv, settings);
const quiet = { hostname: '127.0.0.1', port: 0, onListen: () => undefined };
const constant = Deno.serve(quiet, () => new Response(constantBody, { headers: { 'content-type': 'application/json' } }));
// The floor of any route that takes a JSON body: Hono routes the POST and the body is read and parsed,
// then the constant answer. Everything a token route does beyond this is the route's own.
const hono = new Hono();
hono.post('/token/client', async (c) => {
  JSON.parse(await c.req.raw.text());
  return new Response(constantBody, { headers: { 'content-type': 'application/json' } });
});
const floor = Deno.serve(quiet, hono.fetch);
// As `Deno.serve(handler)` in the entry: with the connection info.
const app = Deno.serve(quiet, handler);
// The same handler without the connection info, which the entry uses to rebuild the request with
// `cf-connecting-ip` (for the sign-in rate limits): what that rebuild costs a token route.
const bare = Deno.serve(quiet, (request) => handler(request));
// The app alone, token routes only: no request rebuild and no request log. depsFor keeps one Deps per
// KV and settings, so this serves from the entry's own client and memory layer.
const store = new DenoKvCacheStore(kv);
const appAlone = createApp({ getDeps: () => depsFor(settings, store, kv, (input, init) => fetch(input, init)), waitUntil: () => undefined });
const alone = Deno.serve(quiet, appAlone.fetch);
// On stderr: stdout carries the entry's request log (a JSON line per request), which the bench discards.
const ports = { constant: constant.addr.port, floor: floor.addr.port, app: app.addr.port, bare: bare.addr.port, alone: alone.addr.port };
console.error(`${PORTS_MARK}${JSON.stringify(ports)}`);
