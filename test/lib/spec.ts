/**
 * A runtime-neutral test shim: the same test files run under `deno test` (Deno.test) and under vitest
 * inside workerd (vitest's `test`). No node: imports, no jsr: — plain assertions only.
 */

type TestFn = () => void | Promise<void>;

interface DenoLike {
  test(definition: { name: string; fn: TestFn; ignore?: boolean }): void;
}

const deno = (globalThis as { Deno?: DenoLike }).Deno;
interface VitestLike {
  (name: string, fn: TestFn): void;
  skip(name: string, fn: TestFn): void;
}

// Only loaded outside Deno; vitest's `test` must be registered while the file is being collected,
// which top-level await guarantees.
const vitestTest: VitestLike | undefined = deno ? undefined : (await import('vitest')).test;

/** True when running under Deno (tests that need Deno-only permissions check this). */
export const isDeno = deno !== undefined;

export function test(name: string, fn: TestFn): void {
  if (deno) deno.test({ name, fn });
  else vitestTest!(name, fn);
}

/** Registers a test that only runs under Deno (e.g. it reads files); vitest reports it as skipped. */
export function denoOnlyTest(name: string, fn: TestFn): void {
  if (deno) deno.test({ name, fn });
  else vitestTest!.skip(`${name} (Deno only)`, fn);
}

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message = 'expected a truthy value'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function fail(message: string): never {
  throw new AssertionError(message);
}

export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  if (deepEqual(actual, expected)) throw new AssertionError(`${message ? `${message}: ` : ''}expected a value other than ${show(expected)}`);
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(actual)) throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(actual)} to match ${pattern}`);
}

export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(actual)} to include ${show(expected)}`);
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

function checkError<E extends Error>(error: unknown, ErrorClass: ErrorClass<E>, errorCode?: string): E {
  if (!(error instanceof ErrorClass)) {
    const got = error instanceof Error ? `${error.name}: ${error.message}` : show(error);
    throw new AssertionError(`expected ${ErrorClass.name}, got ${got}`);
  }
  if (errorCode !== undefined) {
    const code = (error as unknown as { errorCode?: unknown }).errorCode;
    if (code !== errorCode) throw new AssertionError(`expected errorCode ${show(errorCode)}, got ${show(code)} (${error.message})`);
  }
  return error;
}

/** Awaits `fn`, expecting it to reject with an instance of `ErrorClass` (and `errorCode`, if given). Returns the error. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  ErrorClass: ErrorClass<E>,
  errorCode?: string,
): Promise<E> {
  let result: unknown;
  try {
    result = await fn();
  } catch (error) {
    return checkError(error, ErrorClass, errorCode);
  }
  throw new AssertionError(`expected a rejection with ${ErrorClass.name}, but it resolved to ${show(result)}`);
}

/** Calls `fn`, expecting it to throw an instance of `ErrorClass` (and `errorCode`, if given). Returns the error. */
export function assertThrows<E extends Error>(fn: () => unknown, ErrorClass: ErrorClass<E>, errorCode?: string): E {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return checkError(error, ErrorClass, errorCode);
  }
  throw new AssertionError(`expected ${ErrorClass.name} to be thrown, but it returned ${show(result)}`);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array((b as ArrayBufferView).buffer, (b as ArrayBufferView).byteOffset, (b as ArrayBufferView).byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [k, v] of a) if (!m.has(k) || !deepEqual(v, m.get(k))) return false;
    return true;
  }
  if (a instanceof Set) {
    const s = b as Set<unknown>;
    return a.size === s.size && [...a].every((v) => s.has(v));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `Uint8Array[${[...value].join(',')}]`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
