#!/usr/bin/env node
/**
 * `npm run simulate`: a fleet of isolates of the Worker against the local provider, to show that the
 * provider sees one request per token however many isolates miss at once. One Miniflare runs the Worker
 * (test/simulate/worker.ts, the real Worker with a delayed KV view) SIM_ISOLATES times, each copy its own
 * isolate (its own memory layer, single flight, throttling state) and its own KV location, all sharing one
 * KV namespace and one TOKEN_FLIGHTS Durable Object namespace (owned by a further copy, "objects", which
 * serves no requests). A write to KV is seen at once where it was made and SIM_KV_DELAY_MS later
 * elsewhere (test/simulate/delayed-kv.ts). Each scenario starts a fresh Miniflare and prints one line:
 *
 *   simulate: <scenario>: <isolates> isolates, <requests> requests, <provider calls> provider calls, p50 <ms> / p99 <ms>, …
 *
 * Env: SIM_ISOLATES (8), SIM_BURST (requests per isolate per burst, 50), SIM_KV_DELAY_MS (60000),
 * SIM_STEADY_SECONDS (20). Offline: loopback only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { ConnectionPool, rawRequest } from '../test/simulate/raw-http.mjs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ISOLATES = Number(process.env.SIM_ISOLATES ?? 8);
const BURST = Number(process.env.SIM_BURST ?? 50);
const KV_DELAY_MS = Number(process.env.SIM_KV_DELAY_MS ?? 60_000);
const STEADY_SECONDS = Number(process.env.SIM_STEADY_SECONDS ?? 20);
/** The steady-load token: 330 s, so 30 s outside MSAL's 5-minute window, renewed at half of that (fleetRenewalAt). */
const STEADY_TOKEN_TTL = 330;
const RETRY_AFTER = 5;
const SCOPE = 'api://downstream/.default';
const COMPAT_DATE = '2026-11-01';

const started = performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => process.stderr.write(`${line}\n`);

/**
 * The local provider in a process of its own (test/idp/main.mjs): this process is busy sending the load,
 * and a provider sharing its event loop would answer late. Driven over its control API.
 */
async function startProvider() {
  const child = spawn(process.execPath, [join(root, 'test/idp/main.mjs')], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    text += chunk;
    try {
      const summary = JSON.parse(text);
      const control = (path, body) =>
        fetch(`${summary.controlApi}/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
      return {
        authority: summary.authority,
        webApp: summary.clients.webApp,
        counts: () => control('counts'),
        reset: () => control('reset', {}),
        fault: (fault) => control('fault', fault),
        tokenLifetime: (lifetime) => control('token-lifetime', lifetime),
        async close() {
          child.kill('SIGTERM');
          await once(child, 'exit');
        },
      };
    } catch {
      // not the whole summary yet
    }
  }
  throw new Error('the identity provider exited before it started');
}

const idp = await startProvider();
const dir = await mkdtemp(join(tmpdir(), 'simulate-'));
try {
  const scriptPath = join(dir, 'worker.mjs');
  await build({
    entryPoints: [join(root, 'test/simulate/worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    outfile: scriptPath,
    logLevel: 'error',
  });

  const callerKey = randomBytes(24).toString('base64url');
  const settings = {
    AUTHORITY: idp.authority,
    CLIENT_ID: idp.webApp.clientId,
    CLIENT_SECRET: idp.webApp.clientSecret,
    TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'),
    CALLERS: JSON.stringify({ sim: { key_sha256: createHash('sha256').update(callerKey).digest('hex'), scopes: [SCOPE] } }),
    PROVIDER_RETRY_DELAY_MS: '50',
  };
  const names = Array.from({ length: ISOLATES }, (_, i) => `isolate-${i}`);

  /** A fresh fleet: new KV, new objects, new isolates. */
  async function startFleet({ object = 'reachable' } = {}) {
    const common = {
      modules: true,
      scriptPath,
      modulesRoot: dir,
      compatibilityDate: COMPAT_DATE,
      kvNamespaces: { TOKEN_CACHE: 'token-cache' },
      bindings: { ...settings, SIM_KV_DELAY_MS: String(KV_DELAY_MS), SIM_OBJECT: object },
    };
    const fallbacks = { count: 0 };
    const mf = new Miniflare(convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: 0,
      cf: false,
      log: new Log(LogLevel.ERROR),
      // The Worker's request log lines would drown the report; the fallback warnings are counted.
      handleStructuredLogs: (entry) => {
        if (String(entry.message ?? '').includes('token flight object not reached')) fallbacks.count++;
      },
      workers: [
        {
          ...common,
          name: 'objects',
          bindings: { ...common.bindings, SIM_LOCATION: 'object' },
          durableObjects: { TOKEN_FLIGHTS: { className: 'SimTokenFlightObject', useSQLite: true } },
        },
        ...names.map((name) => ({
          ...common,
          name,
          routes: [`${name}.sim.test/*`],
          bindings: { ...common.bindings, SIM_LOCATION: name },
          durableObjects: { TOKEN_FLIGHTS: { className: 'SimTokenFlightObject', scriptName: 'objects', useSQLite: true } },
        })),
      ],
    }));
    const url = new URL(await mf.ready);
    // Each isolate answers its own host name (its route) on Miniflare's one entry socket.
    const isolates = names.map((name) => ({ host: `${name}.sim.test`, pool: new ConnectionPool(url) }));
    // Running isolates (a cold key, not cold isolates): one request each that touches no token.
    await Promise.all(isolates.map((isolate) => isolate.pool.send(rawRequest(isolate.host, 'GET', '/_sim/stats', {}))));
    return { mf, isolates, fallbacks, close: () => isolates.forEach((isolate) => isolate.pool.close()) };
  }

  const body = JSON.stringify({ scopes: [SCOPE] });
  const headers = { authorization: `Bearer ${callerKey}`, 'content-type': 'application/json' };


  /** One request to one isolate: its status, how long it took, and where its token came from. */
  async function request(isolate) {
    isolate.raw ??= rawRequest(isolate.host, 'POST', '/token/client', headers, body);
    const t0 = performance.now();
    const response = await isolate.pool.send(isolate.raw);
    const json = JSON.parse(response.text);
    return { status: response.status, ms: performance.now() - t0, source: json.token_source, retryAfter: response.headers['retry-after'] };
  }

  /** SIM_BURST concurrent requests at every isolate at once. */
  const burst = (fleet) => Promise.all(fleet.isolates.flatMap((isolate) => Array.from({ length: BURST }, () => request(isolate))));

  const providerCalls = async () => (await idp.counts())['token:client_credentials'] ?? 0;

  async function stats(fleet) {
    const all = await Promise.all(fleet.isolates.map(async (isolate) => JSON.parse((await isolate.pool.send(rawRequest(isolate.host, 'GET', '/_sim/stats', {}))).text)));
    return all.reduce((sum, s) => ({ viaObject: sum.viaObject + s.viaObject, fallbacks: sum.fallbacks + s.fallbacks }), { viaObject: 0, fallbacks: 0 });
  }

  function latency(results) {
    const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    return `p50 ${at(50).toFixed(1)} ms / p99 ${at(99).toFixed(1)} ms`;
  }

  const line = (scenario, results, calls, extra) =>
    console.log(`simulate: ${scenario}: ${ISOLATES} isolates, ${results.length} requests, ${calls} provider calls, ${latency(results)}${extra ? `, ${extra}` : ''}`);

  const statuses = (results) => Object.entries(results.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {})).map(([s, n]) => `${n}×${s}`).join(' ');

  async function scenario(name, run, options) {
    await idp.reset();
    const fleet = await startFleet(options);
    try {
      await run(fleet);
    } catch (error) {
      log(`simulate: ${name}: failed: ${error?.stack ?? error}`);
      process.exitCode = 1;
    } finally {
      fleet.close();
      await fleet.mf.dispose();
    }
  }

  log(`simulate: ${ISOLATES} isolates + the objects' owner in one Miniflare, KV visible elsewhere after ${KV_DELAY_MS / 1000} s, ${BURST} requests per isolate per burst`);

  await scenario('cold key', async (fleet) => {
    const results = await burst(fleet);
    const s = await stats(fleet);
    const calls = await providerCalls();
    // The same burst again, every request a memory hit: what this machine takes for such a burst at all.
    const warm = await burst(fleet);
    line('cold key', results, calls, `${statuses(results)}, ${s.viaObject} misses answered by the object, ${s.fallbacks} fallbacks; the same burst again (all hits): ${latency(warm)}`);
  });

  await scenario('key expiring under steady load', async (fleet) => {
    await idp.tokenLifetime({ accessTokenTtl: STEADY_TOKEN_TTL });
    // Every isolate has the token (the first one's miss fetched it; the others' misses were answered by
    // the object, since KV does not show them its write yet): steady state.
    for (const isolate of fleet.isolates) await request(isolate);
    const before = await providerCalls();
    const askedBefore = (await stats(fleet)).viaObject;
    const end = Date.now() + STEADY_SECONDS * 1000;
    const results = [];
    await Promise.all(fleet.isolates.flatMap((isolate) => Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        results.push(await request(isolate));
        await sleep(10);
      }
    })));
    const waited = results.filter((r) => r.source === 'identity_provider' || r.status !== 200).length;
    const s = await stats(fleet);
    line('key expiring under steady load', results, (await providerCalls()) - before,
      `${STEADY_SECONDS} s across the renewal point of a ${STEADY_TOKEN_TTL} s token, ${waited} requests waited on the provider, ${statuses(results)}, ${s.viaObject - askedBefore} renewals answered by the object`);
  });

  await scenario('provider 429 during a burst', async (fleet) => {
    await idp.fault({ endpoint: 'token:client_credentials', kind: '429', retryAfter: RETRY_AFTER });
    const first = await burst(fleet);
    await sleep(1000);
    const second = await burst(fleet);
    const callsWhileThrottled = await providerCalls();
    // Until the Retry-After the last answer named has passed.
    await sleep(Math.max(...second.map((r) => Number(r.retryAfter) || 0)) * 1000 + 300);
    const after = await burst(fleet);
    const refused = [...first, ...second].filter((r) => r.status === 429 && Number(r.retryAfter) > 0).length;
    line('provider 429 during a burst', [...first, ...second, ...after], await providerCalls(),
      `${callsWhileThrottled} while throttled: ${refused} of ${first.length + second.length} requests answered 429 with Retry-After in two bursts; after Retry-After (${RETRY_AFTER} s): ${statuses(after)}`);
  });

  await scenario('coalescing object unreachable', async (fleet) => {
    const results = await burst(fleet);
    const s = await stats(fleet);
    line('coalescing object unreachable (fallback)', results, await providerCalls(), `${statuses(results)}, ${s.fallbacks} fallbacks counted (one per isolate: its own single flight), ${fleet.fallbacks.count} logged`);
  }, { object: 'unreachable' });

  log(`simulate: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await rm(dir, { recursive: true, force: true });
  await idp.close();
}
