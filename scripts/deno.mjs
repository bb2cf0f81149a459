// Runs the project's deno (from the npm package) with the offline tool environment.
import { denoBinary, run } from './toolchain.mjs';

const { code } = await run(denoBinary(), process.argv.slice(2));
process.exit(code);
