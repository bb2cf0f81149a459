#!/usr/bin/env node
// Where a Deno cache hit spends its time: serves the Deno entry as deno.mjs does (deno-server.ts, its
// own local provider), drives one route with the same load client, and takes a V8 CPU profile of the
// deno process through its inspector (Chrome DevTools Protocol). Prints the functions by self and by
// inclusive time, and the process's CPU per request by thread (from /proc). Time spent outside V8 — the
// HTTP server, socket I/O, ops' Rust halves — shows as "(idle)" in the profile; the thread figures
// count it.
//
//   node test/bench/deno-profile.mjs [client|obo|silent|clientBare|floor|constant] [--save file.cpuprofile]
//
// Not part of `npm run bench`; the profiler itself slows the process, so its throughput is not a figure.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEntry, startProvider, stopDenoChildren } from './deno-harness.mjs';
import { drive } from './http-load.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { save: { type: 'string' }, top: { type: 'string', default: '40' } } });
const key = positionals[0] ?? 'client';
const top = Number(values.top);
const INSPECTOR = '127.0.0.1:9339';
const plan = { rounds: 3, roundMs: 1000, warmupMs: 300 };

/** CPU milliseconds of each thread of `pid` so far. */
function threads(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out[`${name} (${tid})`] = (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return out;
}

const provider = await startProvider();
try {
  const { child, routes } = await startEntry(provider, [`--inspect=${INSPECTOR}`]);
  const route = routes[key];
  if (!route) throw new Error(`no route ${key}: one of ${Object.keys(routes).join(', ')}`);
  const run = () => drive(route.url, route.path, route.headers, key, { expectFirst: null, body: route.body, plan });
  await run(); // the first token, and a warm JIT

  // Unprofiled: CPU per request by thread.
  const before = threads(child.pid);
  const plain = await run();
  const after = threads(child.pid);
  console.log(`${key}: ${Math.round(plain.median)} req/s without the profiler; CPU µs per request by thread:`);
  for (const [thread, ms] of Object.entries(after)) {
    const us = ((ms - (before[thread] ?? 0)) * 1000) / plain.requests;
    if (us >= 0.1) console.log(`  ${us.toFixed(1).padStart(6)}  ${thread}`);
  }

  const [target] = await (await fetch(`http://${INSPECTOR}/json/list`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  };
  const send = (method, params = {}) => new Promise((resolve) => {
    pending.set(++id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 50 });
  await send('Profiler.start');
  const profiled = await run();
  const { profile } = await send('Profiler.stop');
  ws.close();
  child.kill('SIGTERM');
  if (values.save) writeFileSync(values.save, JSON.stringify(profile));
  console.log(`\n${key}: ${Math.round(profiled.median)} req/s under the profiler`);

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const name = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || '(anonymous)'} ${url.replace(/^.*?\/node_modules\//, 'npm:').replace(/^file:\/\/.*?\/(lib|functions|test)\//, '$1/')}:${lineNumber + 1}`;
  };
  const sampled = new Map();
  let total = 0;
  profile.samples.forEach((nodeId, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    sampled.set(nodeId, (sampled.get(nodeId) ?? 0) + dt);
    total += dt;
  });
  const self = new Map();
  const inclusive = new Map();
  for (const [nodeId, dt] of sampled) {
    const own = name(byId.get(nodeId));
    self.set(own, (self.get(own) ?? 0) + dt);
    const seen = new Set();
    for (let at = nodeId; at !== undefined; at = parent.get(at)) {
      const frame = name(byId.get(at));
      if (!seen.has(frame)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + dt);
      seen.add(frame);
    }
  }
  const list = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, dt]) => `${((100 * dt) / total).toFixed(1).padStart(5)} %  ${frame}`).join('\n');
  console.log(`\nself time (of all samples):\n${list(self)}\n\ninclusive time:\n${list(inclusive)}`);
} finally {
  stopDenoChildren();
  await provider.idp.close();
}
