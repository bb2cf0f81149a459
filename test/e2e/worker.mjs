/**
 * The real Worker for the browser tests: bundled exactly as deployed (`wrangler deploy --dry-run`) and
 * served by workerd through Miniflare 5 on a fixed loopback port, with local KV and SQLite-backed
 * Durable Objects (in memory: nothing outlives the test).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { root, toolEnv } from '../../scripts/toolchain.mjs';

/** Reads wrangler.toml's compatibility_date so the test runs the Worker as configured. */
async function compatibilityDate() {
  const config = await readFile(join(root, 'wrangler.toml'), 'utf8');
  return /^compatibility_date\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? '2026-11-01';
}

/**
 * `wrangler deploy --dry-run --outdir` from a temporary copy of the config (keeps .wrangler/ and logs
 * out of the repository). @returns the path of the bundled entry module.
 */
export async function bundleWorker(tmp) {
  const buildDir = join(tmp, 'build');
  await mkdir(buildDir, { recursive: true });
  const config = await readFile(join(root, 'wrangler.toml'), 'utf8');
  const main = join(root, /^main\s*=\s*"([^"]+)"/m.exec(config)[1]);
  await writeFile(join(buildDir, 'wrangler.toml'), config.replace(/^main\s*=.*$/m, `main = ${JSON.stringify(main)}`));
  const args = [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', join(buildDir, 'out')];
  await new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: buildDir, env: { ...toolEnv, WRANGLER_LOG_PATH: join(buildDir, 'logs') }, timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`wrangler deploy --dry-run failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
  return join(buildDir, 'out', 'index.js');
}

/** A port that was free a moment ago on 127.0.0.1 (Miniflare needs it up front: it is in REDIRECT_URI). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Serves the bundle on http://127.0.0.1:<port> with the Worker's bindings; `dispose()` stops workerd. */
export async function startWorker({ scriptPath, port, settings }) {
  const { Miniflare, Log, LogLevel, convertV4MiniflareOptions } = await import('miniflare');
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: '127.0.0.1',
    port,
    cf: false,
    log: new Log(process.env.E2E_WORKER_LOG ? LogLevel.DEBUG : LogLevel.WARN),
    workers: [{
      name: 'edge-token-functions',
      modules: true,
      scriptPath,
      // Module names must not climb out of modulesRoot ("can't use '..'"); the bundle is in a temp dir.
      modulesRoot: dirname(scriptPath),
      compatibilityDate: await compatibilityDate(),
      kvNamespaces: { TOKEN_CACHE: 'token-cache' },
      durableObjects: {
        FLOWS: { className: 'FlowObject', useSQLite: true },
        ACCOUNTS: { className: 'AccountObject', useSQLite: true },
        DEVICE_FLOWS: { className: 'DeviceFlowObject', useSQLite: true },
      },
      bindings: settings,
    }],
  }));
  const url = await mf.ready;
  return { mf, url };
}
