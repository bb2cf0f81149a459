// Bundled by workers.mjs (esbuild) and run in Miniflare: the same measurements as lib-node.mjs, but
// inside workerd, whose WebCrypto and V8 settings are what the deployed Worker gets.
// POST {"n":N,"plan":{rounds,roundMs,warmupMs}} → acquireTokenForClient {warm, cold, fillMs};
// POST {"n":N,"plan":…,"flow":"obo","assertion":"<user token>"} → acquireTokenOnBehalfOf, N other users'
// OBO tokens in the store. Bindings: AUTHORITY, CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY, API_SCOPE.
import { ConfidentialClientApplication, TokenCache, parseClientSettings } from './lib-entry.ts';
import { MapStore, OBO_SCOPE, SCOPE, fillStore, measureSequential, otherEntities, otherOboEntities } from './measure.mjs';

export default {
  async fetch(request, env) {
    try {
      const { n, plan, flow = 'client', assertion } = await request.json();
      const { client, sealingKey } = await parseClientSettings(env);
      const makeClient = (cacheStore, options) => ConfidentialClientApplication.fromSettings(env, { cacheStore, ...options });
      const obo = flow === 'obo';
      const acquire = obo
        ? (app) => app.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: [OBO_SCOPE] })
        : (app) => app.acquireTokenForClient({ scopes: [SCOPE] });
      const store = new MapStore();
      const make = obo ? (count, c) => otherOboEntities(count, { ...c, libShape: true }) : otherEntities;
      const fillMs = await fillStore(TokenCache, store, sealingKey, client, n, make);
      const warm = await makeClient(store, {});
      const first = await acquire(warm);
      if (first.tokenSource !== 'identity_provider') throw new Error(`first call came from ${first.tokenSource}`);
      if (store.map.size !== n + 1) throw new Error(`store holds ${store.map.size} entries, expected ${n + 1}`);
      let bad = 0;
      let gets = store.gets;
      const warmResult = await measureSequential(async () => {
        const r = await acquire(warm);
        if (r.tokenSource !== 'cache' || r.accessToken !== first.accessToken) bad++;
      }, plan);
      if (store.gets !== gets) throw new Error('warm path read the store');
      const cold = await makeClient(store, { memoryEntries: 0 });
      gets = store.gets;
      let coldCalls = 0;
      const coldResult = await measureSequential(async () => {
        coldCalls++;
        const r = await acquire(cold);
        if (r.tokenSource !== 'cache' || r.accessToken !== first.accessToken) bad++;
      }, plan);
      const coldReads = store.gets - gets;
      if (obo ? coldReads < coldCalls : coldReads !== coldCalls) throw new Error(`cold path: ${coldReads} store reads for ${coldCalls} lookups`);
      if (bad) throw new Error(`${bad} lookups were not cache hits with the first token`);
      return Response.json({ n, flow, fillMs, warm: warmResult, cold: coldResult, coldReadsPerOp: coldReads / coldCalls });
    } catch (error) {
      return Response.json({ error: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
