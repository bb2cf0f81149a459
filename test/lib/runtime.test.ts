import { assertEquals, isDeno, test } from './spec.ts';

test('the lib tests run under Deno or inside workerd, not under Node', () => {
  const userAgent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '';
  if (isDeno) assertEquals(userAgent.startsWith('Deno/'), true, userAgent);
  else assertEquals(userAgent, 'Cloudflare-Workers');
});

test('the runtime provides the Web APIs lib relies on', () => {
  for (const name of ['crypto', 'fetch', 'Request', 'Response', 'Headers', 'AbortSignal', 'TextEncoder', 'TextDecoder', 'btoa', 'atob', 'DOMException']) {
    assertEquals(name in globalThis, true, name);
  }
  assertEquals(typeof AbortSignal.timeout, 'function');
  assertEquals(typeof crypto.subtle.deriveKey, 'function');
  assertEquals(typeof crypto.randomUUID, 'function');
});
