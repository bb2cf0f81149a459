/**
 * Reading the project's own source files for structural tests (purity, import cycles). Reading files
 * needs --allow-read: these tests run under Deno only.
 */

interface DenoFs {
  readDir(path: string | URL): AsyncIterable<{ name: string; isFile: boolean; isDirectory: boolean }>;
  readTextFile(path: string | URL): Promise<string>;
}

export interface Source {
  /** Relative to the repository root, e.g. `lib/mod.ts`. */
  path: string;
  text: string;
}

/** Every .ts/.js/.mjs file under `folder` (a top-level folder of the repository), sorted by path. */
export async function sourcesUnder(folder: string): Promise<Source[]> {
  const fs = (globalThis as unknown as { Deno: DenoFs }).Deno;
  const out: Source[] = [];
  const walk = async (dir: URL, prefix: string): Promise<void> => {
    for await (const entry of fs.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (entry.isFile && /\.(?:ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        out.push({ path: `${folder}/${prefix}${entry.name}`, text: await fs.readTextFile(new URL(entry.name, dir)) });
      }
    }
  };
  await walk(new URL(`../../${folder}/`, import.meta.url), '');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Module specifiers of static imports (type-only ones too), re-exports and dynamic imports. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;
  for (const match of text.matchAll(pattern)) found.push(match[2]!);
  return found;
}
