// Child: Worker throughput on Miniflare 5 (programmatic, no wrangler dev), for our Worker and the
// msal-node Worker, each with 1 / 100 / 10,000 other tokens in its cache, plus a constant-response
// Worker as the ceiling of this load generator on this machine; our Worker's `POST /token/obo` with
// 1 / 100 / 10,000 other users' OBO tokens; and lib's own hit loops inside workerd (both grants).
// Env: AUTHORITY, CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY, API_SCOPE, OBO_ASSERTION, OUR_BUNDLE,
//      MSAL_BUNDLE, NODE_EXTRA_CA_CERTS (read by miniflare when imported → workerd's trustedCertificates).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OBO_SCOPE, PLAN, SCOPE, SIZES, importLib, otherEntities, otherOboEntities, report } from './common.mjs';
import { CONCURRENCY, drive as driveHttp } from './http-load.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const { Miniflare, Log, LogLevel, convertV4MiniflareOptions } = await import('miniflare');
const { lib } = await importLib();

const COMPAT_DATE = process.env.BENCH_COMPAT_DATE ?? '2026-11-01';
const settings = {
  AUTHORITY: process.env.AUTHORITY,
  CLIENT_ID: process.env.CLIENT_ID,
  CLIENT_SECRET: process.env.CLIENT_SECRET,
  TOKEN_CACHE_KEY: process.env.TOKEN_CACHE_KEY,
};
const callerKey = randomBytes(24).toString('base64url');
const CALLERS = JSON.stringify({ bench: { key_sha256: createHash('sha256').update(callerKey).digest('hex'), scopes: [SCOPE] } });
const defaultBody = JSON.stringify({ scopes: [SCOPE] });
const oboBody = JSON.stringify({ scopes: [OBO_SCOPE] });
const oboAssertion = process.env.OBO_ASSERTION;
/** What our Worker needs for /token/obo: this API's scope, and the downstream scopes it may hand out. */
const oboSettings = { API_SCOPE: process.env.API_SCOPE ?? 'access_as_user', OBO_SCOPES: OBO_SCOPE };
const authority = lib.parseAuthority(settings.AUTHORITY);
const sealingKey = await lib.deriveSealingKey(settings.TOKEN_CACHE_KEY);

/** Writes [key, value] pairs into its TOKEN_CACHE binding (the same namespace as the Worker under test). */
const FILL_WORKER = `export default { async fetch(request, env) {
  const items = await request.json();
  await Promise.all(items.map(([key, value, ttl]) => env.TOKEN_CACHE.put(key, value, { expirationTtl: ttl })));
  let count = 0, cursor;
  do { const page = await env.TOKEN_CACHE.list({ cursor }); count += page.keys.length; cursor = page.list_complete ? undefined : page.cursor; } while (cursor);
  return Response.json({ count });
} }`;

async function startMiniflare(worker, extraWorkers = []) {
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: '127.0.0.1',
    port: 0,
    cf: false,
    log: new Log(LogLevel.WARN),
    workers: [
      // modulesRoot: module names must not climb out of it ("can't use '..'"); the bundles live in a temp dir.
      { name: 'target', modules: true, compatibilityDate: COMPAT_DATE, ...(worker.scriptPath ? { modulesRoot: dirname(worker.scriptPath) } : {}), ...worker },
      ...extraWorkers.map((w) => ({ modules: true, compatibilityDate: COMPAT_DATE, ...w })),
    ],
  }));
  const url = await mf.ready; // the entry socket is served by workerd and routes to the first worker
  return { mf, url };
}

/** Sealed entries computed in Node exactly as TokenCache.saveAccessToken writes them, put by FILL_WORKER. */
async function fillKv(mf, n, make = otherEntities) {
  const t0 = performance.now();
  const entities = make(n, { environment: authority.environment, clientId: settings.CLIENT_ID, realm: authority.tenant });
  const items = await Promise.all(entities.map(async (entity) => {
    const storageKey = await lib.storageKeyFor(lib.accessTokenKey(lib.queryOf(entity)));
    return [storageKey, await lib.seal(sealingKey, storageKey, JSON.stringify(entity)), 3600];
  }));
  const fill = await mf.getWorker('fill');
  let count = 0;
  for (let i = 0; i < items.length; i += 500) {
    const res = await fill.fetch('http://fill/', { method: 'POST', body: JSON.stringify(items.slice(i, i + 500)) });
    ({ count } = await res.json());
  }
  if (count !== n) throw new Error(`KV holds ${count} keys after filling ${n}`);
  return performance.now() - t0;
}

/** `drive` of http-load.mjs (the load client shared with the Deno rows), labelled with N; no token kept. */
async function drive({ url }, path, headers, label, n, { expectFirst = 'identity_provider', body = defaultBody } = {}) {
  const { first: _first, ...result } = await driveHttp(url, path, headers, `${label} N=${n}`, { expectFirst, body, concurrency: CONCURRENCY });
  return result;
}

const log = (line) => process.stderr.write(`${line}\n`);
const results = { concurrency: CONCURRENCY, compatibilityDate: COMPAT_DATE, ours: [], msal: [], oursObo: [], libInWorkerd: [], libInWorkerdObo: [] };

{
  // lib's own cache-hit loop inside workerd (same code as lib-node.mjs; timed with performance.now() in the isolate).
  const dir = await mkdtemp(join(tmpdir(), 'bench-lib-worker-'));
  try {
    const { build } = await import('esbuild');
    const scriptPath = join(dir, 'lib-worker.mjs');
    await build({ entryPoints: [join(here, 'lib-worker.mjs')], bundle: true, format: 'esm', platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'], outfile: scriptPath, logLevel: 'error' });
    const started = await startMiniflare({ scriptPath, bindings: { ...settings, API_SCOPE: oboSettings.API_SCOPE } });
    try {
      for (const [flow, into, label] of [['client', results.libInWorkerd, 'lib in workerd'], ['obo', results.libInWorkerdObo, 'lib in workerd OBO']]) {
        for (const n of SIZES) {
          const res = await started.mf.dispatchFetch('http://lib.local/', { method: 'POST', body: JSON.stringify({ n, plan: PLAN, flow, assertion: oboAssertion }) });
          const json = await res.json();
          if (res.status !== 200) throw new Error(`${label} N=${n}: ${json.error}`);
          if (!(json.warm.median > 0 && Number.isFinite(json.warm.median))) throw new Error(`${label} N=${n}: the isolate's clock did not advance`);
          into.push(json);
          log(`[${label}] N=${n}: warm ${Math.round(json.warm.median)} ops/s, cold ${Math.round(json.cold.median)} ops/s (fill ${json.fillMs.toFixed(0)} ms)`);
        }
      }
    } finally {
      await started.mf.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Ceiling: a Worker that answers a constant JSON body of the same size, through the same client;
// measured before and after the two Workers, since the load generator's own speed drifts.
async function ceiling(label) {
  const constant = JSON.stringify({ access_token: `eyJ${'x'.repeat(1000)}`, token_type: 'Bearer', expires_in: 3599, token_source: 'cache' });
  const started = await startMiniflare({ script: `const body = ${JSON.stringify(constant)}; export default { fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }) };` });
  try {
    const r = await drive(started, '/', { 'content-type': 'application/json' }, 'constant worker', 0, { expectFirst: null });
    log(`[worker ceiling ${label}] ${Math.round(r.median)} req/s p50 ${r.p50Ms.toFixed(1)} ms`);
    return r;
  } finally {
    await started.mf.dispose();
  }
}
results.baseline = [await ceiling('before')];

for (const n of SIZES) {
  const started = await startMiniflare(
    {
      scriptPath: process.env.OUR_BUNDLE,
      kvNamespaces: { TOKEN_CACHE: 'token-cache' },
      durableObjects: { FLOWS: { className: 'FlowObject', useSQLite: true } },
      bindings: { ...settings, CALLERS },
    },
    [{ name: 'fill', script: FILL_WORKER, kvNamespaces: { TOKEN_CACHE: 'token-cache' } }],
  );
  try {
    const fillMs = await fillKv(started.mf, n);
    const r = await drive(started, '/token/client', { authorization: `Bearer ${callerKey}`, 'content-type': 'application/json' }, 'our worker', n);
    const count = (await (await (await started.mf.getWorker('fill')).fetch('http://fill/', { method: 'POST', body: '[]' })).json()).count;
    if (count !== n + 1) throw new Error(`our worker: KV holds ${count} keys, expected ${n + 1}`);
    results.ours.push({ n, fillMs, ...r });
    log(`[worker ours] N=${n}: ${Math.round(r.median)} req/s p50 ${r.p50Ms.toFixed(1)} ms (KV fill ${fillMs.toFixed(0)} ms, first request ${r.firstMs.toFixed(0)} ms)`);
  } finally {
    await started.mf.dispose();
  }
}

// Our Worker's POST /token/obo: the user's token as the bearer, N other users' OBO tokens in KV. Every
// request validates the bearer locally (a memo hit after the first: one SHA-256) before the cache lookup.
for (const n of SIZES) {
  const started = await startMiniflare(
    {
      scriptPath: process.env.OUR_BUNDLE,
      kvNamespaces: { TOKEN_CACHE: 'token-cache' },
      durableObjects: { FLOWS: { className: 'FlowObject', useSQLite: true } },
      bindings: { ...settings, CALLERS, ...oboSettings },
    },
    [{ name: 'fill', script: FILL_WORKER, kvNamespaces: { TOKEN_CACHE: 'token-cache' } }],
  );
  try {
    const fillMs = await fillKv(started.mf, n, (count, c) => otherOboEntities(count, { ...c, libShape: true }));
    const r = await drive(started, '/token/obo', { authorization: `Bearer ${oboAssertion}`, 'content-type': 'application/json' }, 'our worker OBO', n, { body: oboBody });
    const count = (await (await (await started.mf.getWorker('fill')).fetch('http://fill/', { method: 'POST', body: '[]' })).json()).count;
    if (count !== n + 1) throw new Error(`our worker OBO: KV holds ${count} keys, expected ${n + 1}`);
    results.oursObo.push({ n, fillMs, ...r });
    log(`[worker ours OBO] N=${n}: ${Math.round(r.median)} req/s p50 ${r.p50Ms.toFixed(1)} ms (KV fill ${fillMs.toFixed(0)} ms, first request ${r.firstMs.toFixed(0)} ms)`);
  } finally {
    await started.mf.dispose();
  }
}

for (const n of SIZES) {
  const started = await startMiniflare({
    scriptPath: process.env.MSAL_BUNDLE,
    compatibilityFlags: ['nodejs_compat'],
    bindings: { AUTHORITY: settings.AUTHORITY, CLIENT_ID: settings.CLIENT_ID, CLIENT_SECRET: settings.CLIENT_SECRET, FILL_N: String(n) },
  });
  try {
    const r = await drive(started, '/', { 'content-type': 'application/json' }, 'msal worker', n);
    results.msal.push({ n, ...r });
    log(`[worker msal] N=${n}: ${Math.round(r.median)} req/s p50 ${r.p50Ms.toFixed(1)} ms (first request incl. deserialize ${r.firstMs.toFixed(0)} ms)`);
  } finally {
    await started.mf.dispose();
  }
}
results.baseline.push(await ceiling('after'));
report(results);
