/** Callers' mistakes get a clear 4xx in MSAL's error shape and never reach the provider. */
import { beforeEach, describe, expect, test } from 'vitest';
import { call, callers, clientToken, provider, settings } from './harness.ts';
import { streamedBody } from '../support/client-request.ts';

beforeEach(() => provider.reset());

async function expectError(response: Response, status: number, error: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = (await response.json()) as Record<string, unknown>;
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe('string');
  expect(body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  return body;
}

describe('caller authentication', () => {
  test('a request without Authorization is 401 invalid_client with WWW-Authenticate', async () => {
    const response = await clientToken(await settings(), undefined, { key: null });
    await expectError(response, 401, 'invalid_client');
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
  });

  test('an unknown key of the same length is 401 invalid_client', async () => {
    const wrong = callers.orders.key.slice(0, -1) + (callers.orders.key.endsWith('f') ? 'e' : 'f');
    await expectError(await clientToken(await settings(), undefined, { key: wrong }), 401, 'invalid_client');
  });

  test('an unknown key of another length is 401 invalid_client, not 500', async () => {
    await expectError(await clientToken(await settings(), undefined, { key: 'x' }), 401, 'invalid_client');
    await expectError(await clientToken(await settings(), undefined, { key: 'y'.repeat(600) }), 401, 'invalid_client');
  });

  test('a Basic scheme is 401 invalid_client', async () => {
    const response = await call(await settings(), '/token/client', { key: null, headers: { authorization: `Basic ${btoa('a:b')}` }, json: { scopes: ['api://downstream/.default'] } });
    await expectError(response, 401, 'invalid_client');
    expect(await provider.clientCredentialsCalls()).toBe(0);
  });
});

describe('scope allow-list', () => {
  test('a scope outside the caller\'s list is 403 invalid_scope without a provider request', async () => {
    await expectError(await clientToken(await settings(), ['api://other/.default']), 403, 'invalid_scope');
    expect(await provider.clientCredentialsCalls()).toBe(0);
  });

  test('an allowed scope plus a forbidden one is 403', async () => {
    await expectError(await clientToken(await settings(), ['api://downstream/.default', 'api://other/.default']), 403, 'invalid_scope');
  });
});

describe('request shape', () => {
  test('GET is 405 with Allow: POST', async () => {
    const response = await call(await settings(), '/token/client', { method: 'GET' });
    await expectError(response, 405, 'method_not_allowed');
    expect(response.headers.get('allow')).toBe('POST');
  });

  test('an unknown path is 404', async () => {
    await expectError(await call(await settings(), '/nope', { method: 'GET' }), 404, 'not_found');
  });

  test('a body that is not JSON is 400 invalid_request', async () => {
    await expectError(await call(await settings(), '/token/client', { body: '{"scopes":', contentType: 'application/json' }), 400, 'invalid_request');
  });

  test('a JSON array body is 400 invalid_request', async () => {
    await expectError(await call(await settings(), '/token/client', { json: ['api://downstream/.default'] }), 400, 'invalid_request');
  });

  test('an unsupported content type is 400 invalid_request', async () => {
    await expectError(await call(await settings(), '/token/client', { body: 'scopes', contentType: 'text/plain' }), 400, 'invalid_request');
  });

  test('a form body works', async () => {
    const response = await call(await settings(), '/token/client', {
      body: 'scopes=api%3A%2F%2Fdownstream%2F.default',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(response.status).toBe(200);
  });

  test('a form parameter given twice is 400 invalid_request', async () => {
    const body = 'scopes=api%3A%2F%2Fdownstream%2F.default&scopes=x';
    await expectError(await call(await settings(), '/token/client', { body, contentType: 'application/x-www-form-urlencoded' }), 400, 'invalid_request');
  });

  test('missing scopes is 400 invalid_request', async () => {
    await expectError(await call(await settings(), '/token/client', { json: {} }), 400, 'invalid_request');
  });

  test('empty scopes is 400 invalid_request', async () => {
    await expectError(await clientToken(await settings(), []), 400, 'invalid_request');
  });

  test('a scope with a control character or double space is 400 invalid_request', async () => {
    await expectError(await clientToken(await settings(), ['api://downstream/.default\u0000']), 400, 'invalid_request');
    await expectError(await clientToken(await settings(), 'api://downstream/.default  x'), 400, 'invalid_request');
    expect(await provider.clientCredentialsCalls()).toBe(0);
  });

  test('a body over 16 KiB is 413', async () => {
    const big = JSON.stringify({ scopes: ['api://downstream/.default'], pad: 'x'.repeat(17 * 1024) });
    await expectError(await call(await settings(), '/token/client', { body: big, contentType: 'application/json' }), 413, 'request_too_large');
  });

  test('a streamed body over 16 KiB without Content-Length is 413', async () => {
    const stream = streamedBody(4096, 8);
    await expectError(await call(await settings(), '/token/client', { body: stream, contentType: 'application/json' }), 413, 'request_too_large');
  });

  test('a non-string claims value is 400 invalid_request', async () => {
    await expectError(await call(await settings(), '/token/client', { json: { scopes: ['api://downstream/.default'], claims: 5 } }), 400, 'invalid_request');
  });
});
