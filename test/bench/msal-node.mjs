// Child: @azure/msal-node ConfidentialClientApplication cache hits in Node: acquireTokenByClientCredential,
// then acquireTokenOnBehalfOf (OBO_ASSERTION set).
// Env: AUTHORITY (https), CLIENT_ID, CLIENT_SECRET, OBO_ASSERTION, NODE_EXTRA_CA_CERTS (the IdP's self-signed cert).
import { OBO_SCOPE, SCOPE, SIZES, measureSequential, msalCacheJson, otherEntities, otherOboEntities, report } from './common.mjs';

const t0 = performance.now();
const { ConfidentialClientApplication } = await import('@azure/msal-node');
const importMs = performance.now() - t0;

const authority = process.env.AUTHORITY;
const host = new URL(authority).host;
const realm = new URL(authority).pathname.split('/')[1];
const request = { scopes: [SCOPE] };

const results = { importMs, cells: [] };
for (const n of SIZES) {
  const cca = new ConfidentialClientApplication({
    auth: { clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET, authority, knownAuthorities: [host] },
  });
  // deserialize() replaces the in-memory cache, so fill first, then let the first call add the real token.
  const tf = performance.now();
  cca.getTokenCache().deserialize(msalCacheJson(otherEntities(n, { environment: host, clientId: process.env.CLIENT_ID, realm })));
  const fillMs = performance.now() - tf;
  const tFirst = performance.now();
  const first = await cca.acquireTokenByClientCredential(request);
  const firstMs = performance.now() - tFirst;
  if (!first || first.fromCache) throw new Error('first msal-node call did not go to the IdP');
  const cached = JSON.parse(cca.getTokenCache().serialize());
  if (Object.keys(cached.AccessToken).length !== n + 1) throw new Error(`msal cache holds ${Object.keys(cached.AccessToken).length} ATs, expected ${n + 1}`);

  let bad = 0;
  const hit = await measureSequential(async () => {
    const r = await cca.acquireTokenByClientCredential(request);
    if (!r.fromCache) bad++;
  });
  if (bad) throw new Error(`${bad} msal-node lookups were not cache hits`);
  results.cells.push({ n, fillMs, firstMs, hit });
  process.stderr.write(`[msal-node] N=${n}: ${Math.round(hit.median)} ops/s (deserialize ${fillMs.toFixed(0)} ms, first call ${firstMs.toFixed(0)} ms)\n`);
}

// On-behalf-of: msal-node keys OBO tokens by `userAssertionHash` (an AccessToken field, not part of the
// key) and finds them by scanning every access token; here N other users' OBO tokens for the same scope.
results.obo = [];
const oboRequest = { oboAssertion: process.env.OBO_ASSERTION, scopes: [OBO_SCOPE] };
for (const n of SIZES) {
  const cca = new ConfidentialClientApplication({
    auth: { clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET, authority, knownAuthorities: [host] },
  });
  const tf = performance.now();
  cca.getTokenCache().deserialize(msalCacheJson(otherOboEntities(n, { environment: host, clientId: process.env.CLIENT_ID, realm })));
  const fillMs = performance.now() - tf;
  const tFirst = performance.now();
  const first = await cca.acquireTokenOnBehalfOf(oboRequest);
  const firstMs = performance.now() - tFirst;
  if (!first || first.fromCache) throw new Error('first msal-node OBO call did not go to the IdP');
  const cached = JSON.parse(cca.getTokenCache().serialize());
  if (Object.keys(cached.AccessToken).length !== n + 1) throw new Error(`msal OBO cache holds ${Object.keys(cached.AccessToken).length} ATs, expected ${n + 1}`);

  let bad = 0;
  const hit = await measureSequential(async () => {
    const r = await cca.acquireTokenOnBehalfOf(oboRequest);
    if (!r.fromCache || r.accessToken !== first.accessToken) bad++;
  });
  if (bad) throw new Error(`${bad} msal-node OBO lookups were not cache hits`);
  results.obo.push({ n, fillMs, firstMs, hit });
  process.stderr.write(`[msal-node OBO] N=${n}: ${Math.round(hit.median)} ops/s (deserialize ${fillMs.toFixed(0)} ms, first call ${firstMs.toFixed(0)} ms)\n`);
}
report(results);
