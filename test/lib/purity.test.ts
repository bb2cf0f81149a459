/**
 * lib/ is shared by the Workers and Deno entry points, so it must not depend on either runtime. This
 * reads the source files, which needs --allow-read: it runs under Deno only.
 */
import { assertEquals, denoOnlyTest } from './spec.ts';
import { sourcesUnder, specifiers, type Source } from './sources.ts';

function libSources(): Promise<Source[]> {
  return sourcesUnder('lib');
}

denoOnlyTest('lib has source files to check', async () => {
  const sources = await libSources();
  assertEquals(sources.some((s) => s.path === 'lib/mod.ts'), true);
});

denoOnlyTest('no file under lib imports node:, cloudflare: or hono', async () => {
  const offenders: string[] = [];
  for (const { path, text } of await libSources()) {
    for (const specifier of specifiers(text)) {
      if (/^(?:node:|cloudflare:|npm:hono|hono(?:\/|$)|jsr:)/.test(specifier)) offenders.push(`${path}: ${specifier}`);
    }
  }
  assertEquals(offenders, []);
});

denoOnlyTest('no file under lib mentions Deno., KVNamespace or DurableObject', async () => {
  const offenders: string[] = [];
  for (const { path, text } of await libSources()) {
    for (const word of ['Deno.', 'KVNamespace', 'DurableObject']) {
      if (text.includes(word)) offenders.push(`${path}: ${word}`);
    }
  }
  assertEquals(offenders, []);
});

denoOnlyTest('lib imports only relative .ts modules, oauth4webapi, jose and @noble/hashes', async () => {
  const offenders: string[] = [];
  for (const { path, text } of await libSources()) {
    for (const specifier of specifiers(text)) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      if (relative ? !specifier.endsWith('.ts') : !['oauth4webapi', 'jose', '@noble/hashes/sha2.js'].includes(specifier)) offenders.push(`${path}: ${specifier}`);
    }
  }
  assertEquals(offenders, []);
});
