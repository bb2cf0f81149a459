// Bundled by workers.mjs (esbuild) and run in Miniflare: the same measurement as lib-node.mjs, but
// inside workerd, whose WebCrypto and V8 settings are what the deployed Worker gets.
// POST {"n":N,"plan":{rounds,roundMs,warmupMs}} → {warm, cold, fillMs}. Bindings: AUTHORITY, CLIENT_ID,
// CLIENT_SECRET, TOKEN_CACHE_KEY.
import { ConfidentialClientApplication, TokenCache, parseClientSettings } from './lib-entry.ts';
import { MapStore, SCOPE, fillStore, measureSequential } from './measure.mjs';

export default {
  async fetch(request, env) {
    try {
      const { n, plan } = await request.json();
      const { client, sealingKey } = await parseClientSettings(env);
      const makeClient = (cacheStore, options) => ConfidentialClientApplication.fromSettings(env, { cacheStore, ...options });
      const store = new MapStore();
      const fillMs = await fillStore(TokenCache, store, sealingKey, client, n);
      const request_ = { scopes: [SCOPE] };
      const warm = await makeClient(store, {});
      const first = await warm.acquireTokenForClient(request_);
      if (first.tokenSource !== 'identity_provider') throw new Error(`first call came from ${first.tokenSource}`);
      let bad = 0;
      let gets = store.gets;
      const warmResult = await measureSequential(async () => {
        if ((await warm.acquireTokenForClient(request_)).tokenSource !== 'cache') bad++;
      }, plan);
      if (store.gets !== gets) throw new Error('warm path read the store');
      const cold = await makeClient(store, { memoryEntries: 0 });
      gets = store.gets;
      let coldCalls = 0;
      const coldResult = await measureSequential(async () => {
        coldCalls++;
        if ((await cold.acquireTokenForClient(request_)).tokenSource !== 'cache') bad++;
      }, plan);
      if (store.gets - gets !== coldCalls) throw new Error(`cold path: ${store.gets - gets} store reads for ${coldCalls} lookups`);
      if (bad) throw new Error(`${bad} lookups were not cache hits`);
      return Response.json({ n, fillMs, warm: warmResult, cold: coldResult });
    } catch (error) {
      return Response.json({ error: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
