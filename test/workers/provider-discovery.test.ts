/**
 * Discovery documents are read bounded, through the Worker against the local provider: an oversize or
 * slow-dripping document ends in the documented 502/504 and is not kept. The Worker keeps a document
 * for a day, so each test runs a day and an hour after the last (a clock that only moves forward).
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { clientToken, provider, settings } from './harness.ts';

const realNow = Date.now;
let offsetMs = 0;

beforeEach(async () => {
  await provider.reset();
  offsetMs += 25 * 3600_000;
  Date.now = () => realNow() + offsetMs;
});

afterEach(() => {
  Date.now = realNow;
});

async function discoveries(): Promise<number> {
  return (await provider.counts()).discovery ?? 0;
}

test('a discovery document over 256 KiB (valid JSON, padded) is 502 invalid_provider_response, and is not kept', async () => {
  await provider.fault({ endpoint: 'discovery', kind: 'oversize' });
  const env = await settings();
  const response = await clientToken(env);
  expect(response.status).toBe(502);
  expect(((await response.json()) as { error: string }).error).toBe('invalid_provider_response');
  expect(await provider.clientCredentialsCalls()).toBe(0);
  expect((await clientToken(env)).status).toBe(200);
  expect(await discoveries()).toBe(2);
});

test('a discovery document dripping in slower than PROVIDER_TIMEOUT_MS is 504 request_timeout, and is not kept', async () => {
  await provider.fault({ endpoint: 'discovery', kind: 'slow_drip' });
  const env = await settings({ PROVIDER_TIMEOUT_MS: '500' });
  const response = await clientToken(env);
  expect(response.status).toBe(504);
  expect(((await response.json()) as { error: string }).error).toBe('request_timeout');
  expect((await clientToken(env)).status).toBe(200);
  expect(await discoveries()).toBe(2);
});

test('a discovery answer that is not JSON is 502 invalid_provider_response, and is not kept', async () => {
  await provider.fault({ endpoint: 'discovery', kind: 'nonjson' });
  const env = await settings();
  const response = await clientToken(env);
  expect(response.status).toBe(502);
  expect(((await response.json()) as { error: string }).error).toBe('invalid_provider_response');
  expect((await clientToken(env)).status).toBe(200);
  expect(await discoveries()).toBe(2);
});
