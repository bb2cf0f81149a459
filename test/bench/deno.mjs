// Child: the Deno rows. (1) lib's cache-hit loops in Deno (deno-lib.ts): client credentials,
// on-behalf-of, silent for an account. (2) The Deno entry over HTTP (deno-server.ts): every cache-hit
// route against a constant `Deno.serve` route in the same process, through the same load client
// (http-load.mjs, CONCURRENCY keep-alive connections), in cycles — the constant route, the floor (a Hono
// route that reads the body), then each route — so that each share of the constant route is taken within
// one cycle while the machine's speed drifts. The first tokens come from a local provider of its own
// (deno-harness.mjs). Env: TOKEN_CACHE_KEY; BENCH_DENO_CYCLES (default 3, BENCH_QUICK=1: 1);
// BENCH_DENO_PARTS=lib or =http: one half only (while working on one).
import { PLAN, QUICK, report } from './common.mjs';
import { cpuSeconds, runDeno, startEntry, startProvider, stopDenoChildren } from './deno-harness.mjs';
import { CONCURRENCY, drive } from './http-load.mjs';

const CYCLES = Number(process.env.BENCH_DENO_CYCLES ?? (QUICK ? 1 : 3));
const PARTS = new Set((process.env.BENCH_DENO_PARTS ?? 'lib,http').split(','));
/** The routes timed in each cycle after the constant route, in this order (client first: the others share its token). */
const TIMED = ['floor', 'client', 'obo', 'silent', 'clientAlone', 'clientBare', 'oboAlone'];
const LABELS = {
  floor: 'Hono route reading the body',
  client: 'POST /token/client',
  obo: 'POST /token/obo',
  silent: 'POST /auth/token',
  clientAlone: 'POST /token/client (the app alone)',
  clientBare: 'POST /token/client (no connection info)',
  oboAlone: 'POST /token/obo (the app alone)',
};
const log = (line) => process.stderr.write(`${line}\n`);

const provider = await startProvider();
const results = { concurrency: CONCURRENCY, cycles: CYCLES };
try {
  const { settings, user, assertion } = provider;
  if (PARTS.has('lib')) {
    log('[deno] lib in Deno…');
    results.lib = await runDeno(
      'deno-lib.ts',
      { ...settings, OBO_ASSERTION: assertion, BENCH_USERNAME: user.username, BENCH_PASSWORD: user.password, BENCH_PLAN: JSON.stringify(PLAN) },
      300_000,
    );
  }
  if (PARTS.has('http')) {
    log('[deno] the Deno entry over HTTP…');
    const { child: server, routes } = await startEntry(provider);
    try {
      results.constant = [];
      for (const key of TIMED) results[key] = [];
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const constant = await driveMeasured(server.pid, routes.constant, 'constant Deno.serve route', null);
        results.constant.push(constant);
        log(`[deno cycle ${cycle + 1}] constant route ${describe(constant)}`);
        for (const key of TIMED) {
          const route = routes[key];
          const r = await driveMeasured(server.pid, route, `Deno ${LABELS[key]}`, cycle === 0 ? route.first : route.first && 'cache');
          results[key].push({ ...r, ratio: r.median / constant.median });
          log(`[deno cycle ${cycle + 1}] ${LABELS[key]} ${describe(r, constant)}`);
        }
      }
    } finally {
      server.kill('SIGTERM');
    }
  }
  results.idpCounts = provider.idp.controls.counts();
  report(results);
} finally {
  stopDenoChildren();
  await provider.idp.close();
}

/**
 * `drive` (no token kept in the figures), plus the CPU time per request of the server process (all its
 * threads) and of this load client: where the time goes while the two share the machine's cores.
 */
async function driveMeasured(serverPid, route, label, expectFirst) {
  const server0 = cpuSeconds(serverPid);
  const client0 = process.cpuUsage();
  const { first: _first, ...r } = await drive(route.url, route.path, route.headers, label, { expectFirst, body: route.body });
  const server1 = cpuSeconds(serverPid);
  const client = process.cpuUsage(client0);
  return {
    ...r,
    serverUsPerRequest: server0 === null || server1 === null ? null : ((server1 - server0) * 1e6) / r.requests,
    clientUsPerRequest: (client.user + client.system) / r.requests,
  };
}

function describe(r, constant) {
  const share = constant ? ` (${Math.round((100 * r.median) / constant.median)} % of the constant route)` : '';
  const cpu = r.serverUsPerRequest === null ? '' : `, server ${r.serverUsPerRequest.toFixed(1)} µs CPU/request, client ${r.clientUsPerRequest.toFixed(1)}`;
  return `${Math.round(r.median)} req/s, p50 ${r.p50Ms.toFixed(2)} ms${cpu}${share}`;
}
