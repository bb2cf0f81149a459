/** Provider failures become the right error, and nothing is cached from them. */
import { beforeEach, describe, expect, test } from 'vitest';
import { clientToken, provider, settings } from './harness.ts';

beforeEach(() => provider.reset());

async function expectNothingCached(env: Awaited<ReturnType<typeof settings>>, callsSoFar: number): Promise<void> {
  const next = await clientToken(env);
  expect(next.status).toBe(200);
  expect(((await next.json()) as { token_source: string }).token_source).toBe('identity_provider');
  expect(await provider.clientCredentialsCalls()).toBe(callsSoFar + 1);
}

describe('provider 429', () => {
  test('is answered 429 with Retry-After and the provider\'s error fields', async () => {
    await provider.fault({ endpoint: 'token', kind: '429', retryAfter: 7 });
    const response = await clientToken(await settings());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    const body = (await response.json()) as Record<string, unknown>;
    expect(typeof body.error).toBe('string');
    expect(Array.isArray(body.error_codes)).toBe(true);
    expect(body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });

  test('blocks identical requests until Retry-After passes, without calling the provider', async () => {
    await provider.fault({ endpoint: 'token', kind: '429', retryAfter: 30 });
    const env = await settings();
    await clientToken(env);
    const again = await clientToken(env);
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(25);
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });
});

describe('provider 5xx', () => {
  test('one 500 is retried once and the caller gets a token', async () => {
    await provider.fault({ endpoint: 'token', kind: '500', times: 1 });
    const response = await clientToken(await settings());
    expect(response.status).toBe(200);
    expect(await provider.clientCredentialsCalls()).toBe(2);
  });

  test('two 500s are 502 server_error after exactly one retry, and nothing is cached', async () => {
    await provider.fault({ endpoint: 'token', kind: '500', times: 2 });
    const env = await settings();
    const response = await clientToken(env);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toBe('server_error');
    expect(await provider.clientCredentialsCalls()).toBe(2);
    await expectNothingCached(env, 2);
  });

  test('503 with Retry-After is 503 with Retry-After, not retried', async () => {
    await provider.fault({ endpoint: 'token', kind: '503', retryAfter: 5 });
    const response = await clientToken(await settings());
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await provider.clientCredentialsCalls()).toBe(1);
  });
});

describe('provider timeouts and bad answers', () => {
  test('a provider slower than PROVIDER_TIMEOUT_MS is 504 request_timeout, and nothing is cached', async () => {
    await provider.fault({ endpoint: 'token', kind: 'slow', delayMs: 3000 });
    const env = await settings({ PROVIDER_TIMEOUT_MS: '500' });
    const response = await clientToken(env);
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: string }).error).toBe('request_timeout');
    await expectNothingCached(env, 1);
  });

  test('a 200 that is not JSON is 502 invalid_provider_response, and nothing is cached', async () => {
    await provider.fault({ endpoint: 'token', kind: 'nonjson' });
    const env = await settings();
    const response = await clientToken(env);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_provider_response');
    await expectNothingCached(env, 1);
  });

  test('a truncated JSON 200 is 502 invalid_provider_response', async () => {
    await provider.fault({ endpoint: 'token', kind: 'invalid_json' });
    const response = await clientToken(await settings());
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_provider_response');
  });

  test('a provider refusing our client secret is 502 with its invalid_client error, not 401', async () => {
    const response = await clientToken(await settings({ CLIENT_SECRET: 'wrong-secret' }));
    expect(response.status).toBe(502);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_client');
    expect(JSON.stringify(body)).not.toContain('wrong-secret');
  });

  test('an unreachable provider is 502 network_error', async () => {
    const response = await clientToken(await settings({ AUTHORITY: 'http://127.0.0.1:9/' + crypto.randomUUID() }));
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toBe('network_error');
  });
});

describe('bounded token responses', () => {
  test('a token response over 64 KiB (valid JSON, padded) is 502 invalid_provider_response, and nothing is cached', async () => {
    await provider.fault({ endpoint: 'token', kind: 'oversize' });
    const env = await settings();
    const response = await clientToken(env);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_provider_response');
    await expectNothingCached(env, 1);
  });

  test('a token response whose body drips in slower than PROVIDER_TIMEOUT_MS is 504 request_timeout, and nothing is cached', async () => {
    await provider.fault({ endpoint: 'token', kind: 'slow_drip' });
    const env = await settings({ PROVIDER_TIMEOUT_MS: '500' });
    const response = await clientToken(env);
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: string }).error).toBe('request_timeout');
    await expectNothingCached(env, 1);
  });
});
