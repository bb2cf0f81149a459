/**
 * Test harness for the Worker inside workerd: real KV and Durable Object bindings from the pool,
 * settings per test, and the local identity provider's control API (it runs in Node; see global-setup).
 */
import { env, createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { inject } from 'vitest';
import worker from '../../functions/workers/index.ts';
import type { Env } from '../../functions/workers/index.ts';
import { accessTokenKey } from '../../lib/cache/entities.ts';
import { storageKeyFor } from '../../lib/cache/token-cache.ts';
import { base64url } from '../../lib/encoding.ts';
import { sha256, utf8 } from '../../lib/mod.ts';
import { clientRequest, type ClientRequestOptions } from '../support/client-request.ts';

export const idp = inject('idp');

export const callers = {
  orders: { key: 'orders-caller-key-0123456789abcdef', scopes: ['api://downstream/.default'] },
  reports: { key: 'reports-caller-key-0123456789abcde', scopes: ['api://other/.default'] },
} as const;

async function hex(text: string): Promise<string> {
  return [...(await sha256(utf8(text)))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * CALLERS for one test. Caller ids get a per-call suffix: per-caller state that outlives a request (the
 * cache-bypass rate limit) then starts empty in every test.
 */
export async function callersSetting(): Promise<string> {
  const run = crypto.randomUUID().slice(0, 8);
  const entries = await Promise.all(
    Object.entries(callers).map(async ([id, c]) => [`${id}-${run}`, { key_sha256: await hex(c.key), scopes: c.scopes }] as const),
  );
  return JSON.stringify(Object.fromEntries(entries));
}

/**
 * Settings for one test. A random TOKEN_CACHE_KEY gives each test its own isolate-level state
 * (memory layer, single-flight, throttling) and makes other tests' KV entries unreadable to it.
 */
export async function settings(overrides: Record<string, string | undefined> = {}): Promise<Env> {
  const result: Record<string, unknown> = {
    ...env,
    AUTHORITY: idp.authority,
    CLIENT_ID: idp.webApp.clientId,
    CLIENT_SECRET: idp.webApp.clientSecret,
    TOKEN_CACHE_KEY: base64url(crypto.getRandomValues(new Uint8Array(32))),
    CALLERS: await callersSetting(),
    PROVIDER_RETRY_DELAY_MS: '50',
    ...overrides,
  };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete result[name];
  return result as Env;
}

export function certificateSettings(algorithm: 'PS256' | 'RS256' = 'PS256'): Record<string, string | undefined> {
  return {
    CLIENT_ID: idp.webAppCert.clientId,
    CLIENT_SECRET: undefined,
    CLIENT_CERTIFICATE: idp.webAppCert.privateKeyPem,
    CLIENT_CERTIFICATE_THUMBPRINT: idp.webAppCert.thumbprintSha256Hex,
    CLIENT_CERTIFICATE_ALGORITHM: algorithm,
  };
}

/** A request's options (test/support/client-request.ts), with the caller's key in place of a bearer. */
export interface CallOptions extends Omit<ClientRequestOptions, 'bearer'> {
  /** Sent as the bearer; `orders`' caller key by default, none with null. */
  key?: string | null;
}

/** Sends one request to the Worker and waits for its background work (waitUntil) to finish. */
export async function call(envForTest: Env, path: string, options: CallOptions = {}): Promise<Response> {
  const { key = callers.orders.key, ...rest } = options;
  const request = clientRequest(`https://worker.test${path}`, { ...rest, ...(key !== null ? { bearer: key } : {}) });
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, envForTest, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function clientToken(envForTest: Env, scopes: unknown = ['api://downstream/.default'], options: CallOptions = {}): Promise<Response> {
  return call(envForTest, '/token/client', { json: { scopes }, ...options });
}

export const provider = {
  async reset(): Promise<void> {
    await fetch(`${idp.origin}/_control/reset`, { method: 'POST' });
  },
  async counts(): Promise<Record<string, number>> {
    return (await (await fetch(`${idp.origin}/_control/counts`)).json()) as Record<string, number>;
  },
  async clientCredentialsCalls(): Promise<number> {
    return (await this.counts())['token:client_credentials'] ?? 0;
  },
  async fault(fault: { endpoint: string; kind: string; times?: number; retryAfter?: number; delayMs?: number }): Promise<void> {
    const response = await fetch(`${idp.origin}/_control/fault`, { method: 'POST', body: JSON.stringify(fault), headers: { 'content-type': 'application/json' } });
    if (!response.ok) throw new Error(`fault not accepted: ${response.status}`);
  },
  async tokenLifetime(lifetime: { accessTokenTtl?: number; refreshIn?: number }): Promise<void> {
    await fetch(`${idp.origin}/_control/token-lifetime`, { method: 'POST', body: JSON.stringify(lifetime), headers: { 'content-type': 'application/json' } });
  },
};

/** The KV key under which the Worker caches the app token for `target` in `tenant`. */
export async function appTokenStorageKey(target: string, clientId = idp.webApp.clientId, tenant = idp.tenants.primary): Promise<string> {
  return storageKeyFor(
    accessTokenKey({ homeAccountId: '', environment: new URL(idp.origin).host, clientId, realm: tenant, target }),
  );
}

/**
 * Miniflare's rate limiter counts in one-minute windows aligned to the wall clock: a burst that must fall
 * in one window starts with at least `marginMs` of it left.
 */
export async function atStartOfRateLimitWindow(marginMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await sleep(left + 200);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))) as Record<string, unknown>;
}

export { env };
