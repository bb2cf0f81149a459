// Child: our lib's ConfidentialClientApplication cache hits in Node: acquireTokenForClient, then
// acquireTokenOnBehalfOf (OBO_ASSERTION set; its local validation runs before every lookup).
// Env: AUTHORITY, CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY, API_SCOPE, OBO_ASSERTION
// (+ NODE_EXTRA_CA_CERTS for the https IdP).
import { MapStore, OBO_SCOPE, SCOPE, SIZES, fillStore, importLib, measureSequential, otherOboEntities, report } from './common.mjs';

const { lib, via } = await importLib();
const { ConfidentialClientApplication, TokenCache, parseClientSettings } = lib;
const { client, sealingKey } = await parseClientSettings(process.env);

const makeClient = (cacheStore, memoryEntries) => ConfidentialClientApplication.fromSettings(process.env, { cacheStore, memoryEntries });

const request = { scopes: [SCOPE] };
const results = { via, cells: [] };
for (const n of SIZES) {
  const store = new MapStore();
  const fillMs = await fillStore(TokenCache, store, sealingKey, client, n);

  const warm = await makeClient(store); // default memory layer (1000 entries)
  const first = await warm.acquireTokenForClient(request);
  if (first.tokenSource !== 'identity_provider') throw new Error(`first call came from ${first.tokenSource}`);
  if (store.map.size !== n + 1) throw new Error(`store holds ${store.map.size} entries, expected ${n + 1}`);

  let bad = 0;
  let gets = store.gets;
  const warmResult = await measureSequential(async () => {
    const r = await warm.acquireTokenForClient(request);
    if (r.tokenSource !== 'cache') bad++;
  });
  const warmStoreReads = store.gets - gets;

  // memoryEntries: 0 → every lookup hashes the key, reads the store and decrypts (AES-GCM) + parses.
  const cold = await makeClient(store, 0);
  gets = store.gets;
  let coldOps = 0;
  const coldResult = await measureSequential(async () => {
    const r = await cold.acquireTokenForClient(request);
    coldOps++;
    if (r.tokenSource !== 'cache') bad++;
  });
  const coldStoreReads = store.gets - gets;
  if (bad) throw new Error(`${bad} lookups were not cache hits`);
  if (warmStoreReads !== 0) throw new Error(`warm path read the store ${warmStoreReads} times`);
  if (coldStoreReads !== coldOps) throw new Error(`cold path: ${coldStoreReads} store reads for ${coldOps} lookups`);
  results.cells.push({ n, fillMs, warm: warmResult, cold: coldResult });
  process.stderr.write(`[lib] N=${n}: warm ${Math.round(warmResult.median)} ops/s, cold ${Math.round(coldResult.median)} ops/s (fill ${fillMs.toFixed(0)} ms)\n`);
}

// On-behalf-of: one user's assertion; the store also holds N other users' OBO tokens for the same scope.
results.obo = [];
const assertion = process.env.OBO_ASSERTION;
const oboRequest = { userAssertion: assertion, scopes: [OBO_SCOPE] };
const otherUsers = (count, c) => otherOboEntities(count, { ...c, libShape: true });
for (const n of SIZES) {
  const store = new MapStore();
  const fillMs = await fillStore(TokenCache, store, sealingKey, client, n, otherUsers);

  const warm = await makeClient(store);
  const tFirst = performance.now();
  const first = await warm.acquireTokenOnBehalfOf(oboRequest);
  const firstMs = performance.now() - tFirst;
  if (first.tokenSource !== 'identity_provider') throw new Error(`OBO: first call came from ${first.tokenSource}`);
  if (store.map.size !== n + 1) throw new Error(`OBO: store holds ${store.map.size} entries, expected ${n + 1}`);

  let bad = 0;
  let gets = store.gets;
  const warmResult = await measureSequential(async () => {
    const r = await warm.acquireTokenOnBehalfOf(oboRequest);
    if (r.tokenSource !== 'cache' || r.accessToken !== first.accessToken) bad++;
  });
  const warmStoreReads = store.gets - gets;

  // memoryEntries: 0 → each lookup: assertion hash (validation memo) + key hash + store read + AES-GCM open + parse.
  // Its first call (in the warm-up) validates the assertion in full and remembers it.
  const cold = await makeClient(store, 0);
  gets = store.gets;
  let coldOps = 0;
  const coldResult = await measureSequential(async () => {
    const r = await cold.acquireTokenOnBehalfOf(oboRequest);
    coldOps++;
    if (r.tokenSource !== 'cache' || r.accessToken !== first.accessToken) bad++;
  });
  const coldStoreReads = store.gets - gets;
  if (bad) throw new Error(`OBO: ${bad} lookups were not cache hits with the first token`);
  if (warmStoreReads !== 0) throw new Error(`OBO: warm path read the store ${warmStoreReads} times`);
  if (coldStoreReads < coldOps) throw new Error(`OBO cold path: ${coldStoreReads} store reads for ${coldOps} lookups`);
  results.obo.push({ n, fillMs, firstMs, warm: warmResult, cold: coldResult, coldReadsPerOp: coldStoreReads / coldOps });
  process.stderr.write(`[lib OBO] N=${n}: warm ${Math.round(warmResult.median)} ops/s, cold ${Math.round(coldResult.median)} ops/s (fill ${fillMs.toFixed(0)} ms, first ${firstMs.toFixed(0)} ms, ${(coldStoreReads / coldOps).toFixed(2)} store reads per cold op)\n`);
}
report(results);
