// The simulation's load client: keep-alive HTTP/1.1 connections over raw sockets, one request in flight
// on each (as test/bench/http-load.mjs, plus the response headers the simulation reads). Cheap per request:
// the load generator shares the CPUs with the isolates it loads.
import net from 'node:net';

/** One keep-alive connection to `url` (http only). */
export function connect(url) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () => {
      socket.off('error', reject);
      resolve(connection(socket));
    });
    socket.once('error', reject);
  });
}

function connection(socket) {
  socket.setNoDelay(true);
  let buffer = Buffer.alloc(0);
  let pending = null;
  const settle = (outcome) => {
    const p = pending;
    pending = null;
    if (outcome instanceof Error) p?.reject(outcome);
    else p?.resolve(outcome);
  };
  socket.on('data', (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    if (!pending) return;
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buffer.subarray(0, end).toString('latin1');
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return settle(new Error(`response without content-length: ${head}`));
    const total = end + 4 + Number(length[1]);
    if (buffer.length < total) return;
    const headers = Object.fromEntries(head.split('\r\n').slice(1).map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]));
    const text = buffer.subarray(end + 4, total).toString('utf8');
    buffer = buffer.subarray(total);
    settle({ status: Number(head.slice(9, 12)), headers, text });
  });
  socket.on('error', settle);
  socket.on('close', () => settle(new Error('connection closed')));
  return {
    request: (raw) =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(raw);
      }),
    close: () => socket.destroy(),
  };
}

/** The bytes of one request, sent as they are every time. */
export function rawRequest(host, method, path, headers, body = '') {
  const all = { host, ...headers, ...(method === 'GET' ? {} : { 'content-length': Buffer.byteLength(body) }) };
  return Buffer.from(`${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
}

/** Connections to one host behind `url`, opened on demand and reused: at most one request in flight on each. */
export class ConnectionPool {
  constructor(url) {
    this.url = url;
    this.idle = [];
    this.all = [];
  }

  async send(raw) {
    const conn = this.idle.pop() ?? (await this.open());
    const response = await conn.request(raw);
    this.idle.push(conn);
    return response;
  }

  async open() {
    const conn = await connect(this.url);
    this.all.push(conn);
    return conn;
  }

  close() {
    for (const conn of this.all) conn.close();
  }
}
