/**
 * The contract suite under Deno, for a local run: starts the local provider in Node (as scripts/test.mjs
 * does), runs `deno test` on test/contract (or the files given) with IDP_INFO, stops the provider.
 *
 *   node test/contract/run-deno.mjs [test/contract/token-client.test.ts …] [-- deno test options]
 */
import { assertNode22, denoBinary, run } from '../../scripts/toolchain.mjs';
import { startIdpForDeno } from '../idp/deno-info.mjs';

assertNode22();

const args = process.argv.slice(2);
const split = args.indexOf('--');
const files = (split === -1 ? args : args.slice(0, split)).filter(Boolean);
const denoOptions = split === -1 ? [] : args.slice(split + 1);

// The HTTP contract suite (test/contract) plays the deployment at https://worker.test on Deno too.
const { idp, idpInfo } = await startIdpForDeno();
let code = 1;
try {
  ({ code } = await run(
    denoBinary(),
    ['test', '--allow-env', '--allow-read', '--allow-net=127.0.0.1', ...denoOptions, ...(files.length ? files : ['test/contract'])],
    { env: { IDP_INFO: JSON.stringify(idpInfo) } },
  ));
} finally {
  await idp.close();
}
process.exit(code);
