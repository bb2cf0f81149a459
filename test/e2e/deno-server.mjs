/**
 * The Deno server for the end-to-end tests: `deno run … functions/deno/main.ts --listen` as a child process
 * on a loopback port, with the app's settings in its environment and its Deno KV in a given SQLite file
 * (several processes may share one, as several servers of one deployment would).
 *
 *   const server = await startDenoServer({ port, settings, kvPath });
 *   // … server.origin (http://localhost:<port>), server.output() (what it printed)
 *   await server.stop();
 */
import { spawn } from 'node:child_process';
import { denoBinary, root, toolEnv } from '../../scripts/toolchain.mjs';

/** From spawning to the first answer: deno compiles the app (and its npm modules) on a cold cache. */
export const DENO_START_TIMEOUT = 60_000;
const DENO_ARGS = ['run', '--allow-net', '--allow-env', '--allow-read', '--allow-write', 'functions/deno/main.ts', '--listen'];
/** What the server printed, kept for failure messages (the last part of it). */
const MAX_OUTPUT = 64 * 1024;

/**
 * Starts the server and waits until it answers HTTP on 127.0.0.1:<port>.
 * @param {object} o
 * @param {number} o.port  the port to listen on (it is in REDIRECT_URI, so it is chosen up front)
 * @param {Record<string, string>} o.settings  the app's settings (the Worker's names), put in its environment
 * @param {string} o.kvPath  DENO_KV_PATH: the SQLite file of its Deno KV
 * @param {string} [o.label]  a name for failure messages
 * @param {number} [o.timeout]  ms to wait for the first answer
 * @returns {Promise<{ origin: string, port: number, pid: number, child: import('node:child_process').ChildProcess, output: () => string, stop: () => Promise<void> }>}
 * @throws when it exits or does not answer in time (the process is killed first)
 */
export async function startDenoServer({ port, settings, kvPath, label = 'deno server', timeout = DENO_START_TIMEOUT }) {
  const child = spawn(denoBinary(), DENO_ARGS, {
    cwd: root,
    env: { ...toolEnv, ...settings, HOST: '127.0.0.1', PORT: String(port), DENO_KV_PATH: kvPath, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-MAX_OUTPUT);
    if (process.env.E2E_DENO_LOG) process.stderr.write(`[${label}] ${chunk}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.once('error', (error) => {
      exited = { error };
      resolve(exited);
    });
  });

  const server = {
    origin: `http://localhost:${port}`,
    port,
    pid: child.pid,
    child,
    output: () => output,
    /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone (bounded: 10 s). */
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 5_000);
      await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      clearTimeout(killer);
    },
  };

  const deadline = Date.now() + timeout;
  const base = `http://127.0.0.1:${port}`;
  try {
    for (;;) {
      if (exited) throw new Error(`${label} exited before answering (${exited.error?.message ?? `code ${exited.code}, signal ${exited.signal}`})`);
      try {
        const response = await fetch(`${base}/auth/me`, { signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        return server;
      } catch {
        // not listening yet
      }
      if (Date.now() >= deadline) throw new Error(`${label} did not answer on ${base} within ${timeout} ms`);
      await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
  } catch (error) {
    await server.stop();
    error.message += `\n--- ${label} output ---\n${output.slice(-4000)}`;
    throw error;
  }
}
