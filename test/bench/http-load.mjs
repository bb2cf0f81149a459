// The HTTP load client of the Worker and Deno rows: a closed loop over keep-alive HTTP/1.1 connections,
// one request in flight on each, through a minimal raw-socket client. Cheaper per request than
// http.request or fetch, which matters because the load generator shares the CPUs with the server.
import net from 'node:net';
import { measureConcurrent } from './common.mjs';

export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

/** One keep-alive connection to `url` (http only). */
export function connect(url) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () => {
      socket.off('error', reject);
      resolve(httpConnection(socket));
    });
    socket.once('error', reject);
  });
}

function httpConnection(socket) {
  socket.setNoDelay(true);
  let buffer = Buffer.alloc(0);
  let pending = null;
  const fail = (error) => {
    const p = pending;
    pending = null;
    p?.reject(error);
  };
  socket.on('data', (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    if (!pending) return;
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buffer.subarray(0, end).toString('latin1');
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return fail(new Error(`response without content-length: ${head}`));
    const total = end + 4 + Number(length[1]);
    if (buffer.length < total) return;
    const response = { status: Number(head.slice(9, 12)), text: buffer.subarray(end + 4, total).toString('utf8') };
    buffer = buffer.subarray(total);
    const p = pending;
    pending = null;
    p.resolve(response);
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('connection closed')));
  return {
    request: (raw) => new Promise((resolve, reject) => {
      pending = { resolve, reject };
      socket.write(raw);
    }),
    close: () => socket.destroy(),
  };
}

/** The bytes of one request, sent as they are on every iteration. */
export function rawRequest(url, method, path, headers, body = '') {
  const all = { host: url.host, ...headers, ...(method === 'GET' ? {} : { 'content-length': Buffer.byteLength(body) }) };
  const head = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.from(`${method} ${path} HTTP/1.1\r\n${head}\r\n${body}`);
}

/**
 * POSTs `body` to `path` over CONCURRENCY keep-alive connections. The first request's answer must come
 * from `expectFirst` (token_source; null: not checked), every timed one must be a cache hit. `once`: only
 * the first request (e.g. a sign-in), nothing timed.
 * @returns measureConcurrent's figures plus `firstMs`, `first` (the first answer) and `requests` (all sent,
 *   the warm-up's too)
 */
export async function drive(url, path, headers, label, { expectFirst = 'identity_provider', body, plan, concurrency = CONCURRENCY, once: firstOnly = false } = {}) {
  const raw = rawRequest(url, 'POST', path, headers, body);
  const connections = await Promise.all(Array.from({ length: firstOnly ? 1 : concurrency }, () => connect(url)));
  let requests = 0;
  try {
    const send = async (slot) => {
      requests++;
      const { status, text } = await connections[slot].request(raw);
      if (status !== 200) throw new Error(`${label}: HTTP ${status} ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };
    const t0 = performance.now();
    const first = await send(0);
    const firstMs = performance.now() - t0;
    if (expectFirst && first.token_source !== expectFirst) throw new Error(`${label}: first request came from ${first.token_source}`);
    if (firstOnly) return { firstMs, first, requests };
    let notCached = 0;
    const result = await measureConcurrent(async (slot) => {
      const json = await send(slot);
      if (expectFirst && json.token_source !== 'cache') notCached++;
    }, concurrency, plan);
    if (notCached) throw new Error(`${label}: ${notCached} responses were not cache hits`);
    return { ...result, firstMs, first, requests };
  } finally {
    for (const connection of connections) connection.close();
  }
}
