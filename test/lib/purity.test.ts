/**
 * lib/ is shared by the Workers and Deno entry points, so it must not depend on either runtime. This
 * reads the source files, which needs --allow-read: it runs under Deno only.
 */
import { assertEquals, denoOnlyTest } from './spec.ts';

interface DenoFs {
  readDir(path: string | URL): AsyncIterable<{ name: string; isFile: boolean; isDirectory: boolean }>;
  readTextFile(path: string | URL): Promise<string>;
}

async function libSources(): Promise<{ path: string; text: string }[]> {
  const fs = (globalThis as unknown as { Deno: DenoFs }).Deno;
  const root = new URL('../../lib/', import.meta.url);
  const out: { path: string; text: string }[] = [];
  const walk = async (dir: URL, prefix: string): Promise<void> => {
    for await (const entry of fs.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (entry.isFile && /\.(?:ts|js|mjs)$/.test(entry.name)) {
        out.push({ path: `lib/${prefix}${entry.name}`, text: await fs.readTextFile(new URL(entry.name, dir)) });
      }
    }
  };
  await walk(root, '');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;
  for (const match of text.matchAll(pattern)) found.push(match[2]!);
  return found;
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

denoOnlyTest('lib imports only relative .ts modules, oauth4webapi and jose', async () => {
  const offenders: string[] = [];
  for (const { path, text } of await libSources()) {
    for (const specifier of specifiers(text)) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      if (relative ? !specifier.endsWith('.ts') : !['oauth4webapi', 'jose'].includes(specifier)) offenders.push(`${path}: ${specifier}`);
    }
  }
  assertEquals(offenders, []);
});
