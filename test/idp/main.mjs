#!/usr/bin/env node
// CLI: start the local IdP and keep it running until SIGINT/SIGTERM.
//   node test/idp/main.mjs [--port 9000] [--https] [--json-out file]
// Prints a JSON summary (origin, authority, tenants, clients incl. secrets,
// users, cert paths) on stdout; with --json-out also writes it to a file.

import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { startIdp } from './server.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    https: { type: 'boolean', default: false },
    'json-out': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
    'device-interval': { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const idp = await startIdp({
  port,
  https: values.https,
  redirectUris: values['redirect-uri'],
  deviceCodeInterval: values['device-interval'] !== undefined ? Number(values['device-interval']) : undefined,
});

const summary = JSON.stringify(idp.summary(), null, 2);
process.stdout.write(`${summary}\n`);
if (values['json-out']) await writeFile(values['json-out'], `${summary}\n`);

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  console.error(`[idp] ${signal}: shutting down`);
  await idp.close();
  process.exit(0);
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
