/**
 * `npm test`: type-check, the Workers suite inside workerd (vitest + @cloudflare/vitest-plugin, with the
 * local identity provider), the lib suite under Deno, and the Node suites (`node --test`: the real-browser
 * sign-in in test/e2e, interop checks in test/interop, the deploy dry run in test/deploy). Ends with one
 * plain `N passed, N failed` line summing them all, because CI reads none of the runners' own summaries.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertNode22, bin, cacheDir, denoBinary, root, run } from './toolchain.mjs';
import { startIdpForDeno } from '../test/idp/deno-info.mjs';

assertNode22();
console.log(`node ${process.version} (${process.execPath})`);
// `--deno` (`npm run test:deno`, `deno task test`): the Deno suites only.
const denoOnly = process.argv.includes('--deno');

let passed = 0;
let failed = 0;

const typecheck = await run(join(bin, 'tsc'), ['-p', 'tsconfig.json', '--noEmit']);
const typecheckLib = await run(join(bin, 'tsc'), ['-p', 'lib/tsconfig.json', '--noEmit']);
if (typecheck.code !== 0 || typecheckLib.code !== 0) {
  console.error('type-check failed');
  failed += 1;
}

const vitestReport = join(cacheDir, 'vitest-report.json');
const vitest = denoOnly ? undefined : await run(join(bin, 'vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestReport}`]);
if (vitest) {
  try {
    const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    if (vitest.code !== 0 && report.numFailedTests === 0) failed += 1; // suite-level failure (setup, import)
    console.log(`workerd (vitest): ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
  } catch {
    console.error('vitest produced no report');
    failed += 1;
  }
}

// The Deno entry's tests need the identity provider too; it runs here, in Node.
// The HTTP contract suite (test/contract) plays the deployment at https://worker.test on Deno too.
const { idp, idpInfo } = await startIdpForDeno();
// --allow-write: Deno KV files in a temp directory (the storage suites open one file twice, as two processes).
const deno = await run(denoBinary(), ['test', '--allow-env', '--allow-read', '--allow-write', '--allow-net=127.0.0.1', 'test/lib', 'test/storage', 'test/deno', 'test/contract'], {
  capture: true,
  env: { IDP_INFO: JSON.stringify(idpInfo) },
});
await idp.close();
// eslint-disable-next-line no-control-regex
const plain = deno.output.replace(/\x1b\[[0-9;]*m/g, '');
const summary = /(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(plain);
if (summary) {
  passed += Number(summary[2]);
  failed += Number(summary[3]);
  console.log(`deno: ${summary[2]} passed, ${summary[3]} failed`);
}
if (!summary || (deno.code !== 0 && Number(summary[3]) === 0)) {
  console.error('deno test did not complete');
  failed += 1;
}

// Node's test runner: the browser sign-in (Chromium + the Worker in workerd), the interop suites, and the
// deploy path (test/deploy: generated env types current, `wrangler deploy --dry-run` bundle and its size).
// Globs rather than directories: Node 22 runs a directory argument as a script, and test/ folders hold
// helpers (worker.mjs, *.tmp.mjs) that are not tests.
const nodeSuites = ['test/e2e', 'test/interop', 'test/deploy', 'test/example']
  .filter((dir) => existsSync(join(root, dir)) && readdirSync(join(root, dir)).some((f) => f.endsWith('.test.mjs')))
  .map((dir) => `${dir}/*.test.mjs`);
if (nodeSuites.length > 0 && !denoOnly) {
  const nodeTest = await run(process.execPath, ['--test', '--test-reporter=tap', ...nodeSuites], { capture: true });
  // The TAP trailer: `# pass N`, `# fail N`, `# cancelled N` (tests cut short by a failed hook or a timeout).
  const count = (name) => {
    const matches = [...nodeTest.output.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))];
    return matches.length ? Number(matches.at(-1)[1]) : undefined;
  };
  const [nodePassed, nodeFailed, nodeCancelled] = [count('pass'), count('fail'), count('cancelled') ?? 0];
  if (nodePassed !== undefined && nodeFailed !== undefined) {
    passed += nodePassed;
    failed += nodeFailed + nodeCancelled;
    console.log(`node --test (${nodeSuites.join(' ')}): ${nodePassed} passed, ${nodeFailed + nodeCancelled} failed`);
  }
  if (nodePassed === undefined || nodeFailed === undefined || (nodeTest.code !== 0 && nodeFailed + nodeCancelled === 0)) {
    console.error('node --test did not complete');
    failed += 1;
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
