/**
 * No import cycles in lib/ or functions/: dependencies point one way (functions → lib, flows → oauth →
 * nothing above), so any module can be read, tested and replaced without its importers. Type-only
 * imports count: a shared type belongs in a module of its own.
 */
import { assertEquals, denoOnlyTest, test } from './spec.ts';
import { sourcesUnder, specifiers } from './sources.ts';

/** The strongly connected components with more than one module, or a module importing itself (Tarjan). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

/** Resolves a relative specifier against the importing file's path (both relative to the repository root). */
function resolve(from: string, specifier: string): string {
  return new URL(specifier, `file:///${from}`).pathname.slice(1);
}

async function importGraph(): Promise<Map<string, string[]>> {
  const sources = [...(await sourcesUnder('lib')), ...(await sourcesUnder('functions'))];
  const graph = new Map<string, string[]>();
  for (const { path, text } of sources) {
    graph.set(path, specifiers(text).filter((s) => s.startsWith('./') || s.startsWith('../')).map((s) => resolve(path, s)));
  }
  return graph;
}

test('findCycles finds a cycle through type-only edges, a self-import, and nothing in a tree', () => {
  const cyclic = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts', 'd.ts']],
    ['d.ts', []],
    ['self.ts', ['self.ts']],
  ]);
  assertEquals(findCycles(cyclic), [['a.ts', 'b.ts', 'c.ts'], ['self.ts']]);
  assertEquals(findCycles(new Map([['a.ts', ['b.ts', 'c.ts']], ['b.ts', ['c.ts']], ['c.ts', []]])), []);
});

denoOnlyTest('the import graph covers lib and functions, type-only imports included', async () => {
  const graph = await importGraph();
  // functions/workers/index.ts imports `type Env` parts and lib/mod.ts re-exports types: both are edges.
  assertEquals(graph.get('functions/app.ts')?.includes('lib/mod.ts'), true);
  assertEquals(graph.get('lib/mod.ts')?.includes('lib/confidential-client.ts'), true);
});

denoOnlyTest('lib and functions have no import cycle', async () => {
  assertEquals(findCycles(await importGraph()), []);
});
