/**
 * What every contract test file imports: `test` (test/lib/spec.ts's, registering with Deno.test or vitest,
 * starting each test with the provider reset: no counts, faults or token lifetimes of an earlier test), the
 * plain assertions, and requests to a deployment as a client sends them.
 */
import { assert, assertEquals, test as specTest } from '../lib/spec.ts';
import { APP_ORIGIN, provider, type App } from './target.ts';
import { clientRequest, type ClientRequestOptions } from '../support/client-request.ts';

export { assert, assertEquals, assertMatch, assertNotEquals, assertStringIncludes, fail } from '../lib/spec.ts';

/** One behaviour of the deployment, specified by its name. */
export function test(name: string, fn: () => Promise<void>): void {
  specTest(name, async () => {
    await provider.reset();
    await fn();
  });
}

export type RequestOptions = ClientRequestOptions;

/** One request to the deployment at `path` (with its query), as a client sends it. */
export function send(app: App, path: string, options: RequestOptions = {}): Promise<Response> {
  return app.fetch(clientRequest(`${APP_ORIGIN}${path}`, options));
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/**
 * The answer is the documented JSON error: `status`, `error`, a string `error_description` and a
 * `correlation_id`. @returns the body.
 */
export async function assertError(response: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  assertEquals(response.status, status, `status (${text.slice(0, 300)})`);
  assert((response.headers.get('content-type') ?? '').startsWith('application/json'), `a JSON error, not ${response.headers.get('content-type')}`);
  const body = JSON.parse(text) as Record<string, unknown>;
  assertEquals(body.error, error, 'error');
  assertEquals(typeof body.error_description, 'string', 'error_description');
  assert(typeof body.correlation_id === 'string' && /^[0-9a-f-]{36}$/.test(body.correlation_id), 'a correlation_id');
  return body;
}

export function assertStatus(response: Response, status: number, what = 'status'): void {
  assertEquals(response.status, status, what);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))) as Record<string, unknown>;
}

/**
 * Rate limits count in one-minute windows (Cloudflare's binding aligns them to the wall clock): a burst that
 * must fall in one window starts with at least `marginMs` of it left.
 */
export async function atStartOfRateLimitWindow(marginMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await sleep(left + 200);
}
