// Node-side helpers for the benchmark children; the runtime-neutral part is in measure.mjs.
import { measureConcurrent as concurrent, measureSequential as sequential } from './measure.mjs';

export { SIZES, SCOPE, OBO_SCOPE, median, otherEntities, otherOboEntities, msalCacheJson, fakeSecret, MapStore, fillStore } from './measure.mjs';

/** Timing plan per cell. BENCH_QUICK=1 shortens everything (smoke test of the harness). */
export const QUICK = process.env.BENCH_QUICK === '1';
export const PLAN = QUICK
  ? { rounds: 3, roundMs: 200, warmupMs: 100 }
  : { rounds: 5, roundMs: 1000, warmupMs: 500 };

export const measureSequential = (op, plan = PLAN) => sequential(op, plan);
export const measureConcurrent = (op, concurrency, plan = PLAN) => concurrent(op, concurrency, plan);

/** Children report one JSON line prefixed with this marker on stdout. */
export const RESULT_MARK = '@@BENCH_RESULT ';
export const report = (value) => process.stdout.write(`${RESULT_MARK}${JSON.stringify(value)}\n`);

/** Imports lib (through lib-entry.ts): Node's type stripping first, an esbuild bundle as the fallback. */
export async function importLib() {
  const mod = new URL('./lib-entry.ts', import.meta.url);
  try {
    return { lib: await import(mod.href), via: 'node type stripping' };
  } catch (error) {
    const { build } = await import('esbuild');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileURLToPath, pathToFileURL } = await import('node:url');
    const dir = await mkdtemp(join(tmpdir(), 'bench-lib-'));
    const outfile = join(dir, 'lib.mjs');
    await build({ entryPoints: [fileURLToPath(mod)], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'error' });
    const { rm } = await import('node:fs/promises');
    try {
      return { lib: await import(pathToFileURL(outfile).href), via: `esbuild bundle (type stripping failed: ${error.code ?? error.message})` };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
