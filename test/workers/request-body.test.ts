/**
 * Token request bodies: each parameter once (RFC 6749 §3.2), in JSON as in forms, where JSON.parse
 * alone would keep the last of two keys; and no `__proto__`, `constructor` or `prototype` key anywhere.
 */
import { describe, expect, test } from 'vitest';
import { readBodyParameters } from '../../functions/request-body.ts';
import { CallerError } from '../../lib/mod.ts';
import { call, callers, settings } from './harness.ts';

function jsonRequest(text: string): Request {
  return new Request('https://worker.test/token/client', { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
}

function formRequest(text: string): Request {
  return new Request('https://worker.test/token/client', { method: 'POST', body: text, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

async function refusal(request: Request): Promise<string> {
  try {
    await readBodyParameters(request);
  } catch (error) {
    if (error instanceof CallerError) return error.errorCode;
    throw error;
  }
  return 'accepted';
}

describe('POST /token/client', () => {
  test('with "scopes" twice in the JSON body is 400 invalid_request (not the last one silently)', async () => {
    const body = '{"scopes":["api://downstream/.default"],"scopes":["api://other/.default"]}';
    const response = await call(await settings(), '/token/client', { key: callers.orders.key, body, contentType: 'application/json' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request', correlation_id: expect.any(String) });
  });

  test('with a __proto__ key is 400 invalid_request, and no prototype is touched', async () => {
    const body = '{"scopes":["api://downstream/.default"],"__proto__":{"polluted":true,"scopes":["api://other/.default"]}}';
    const response = await call(await settings(), '/token/client', { key: callers.orders.key, body, contentType: 'application/json' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('readBodyParameters', () => {
  const refusedJson: [string, string][] = [
    ['a key twice', '{"scopes":["a"],"scopes":["b"]}'],
    ['a key twice, spelled differently', '{"scopes":["a"],"scop\\u0065s":["b"]}'],
    ['a key twice in a nested object', '{"scopes":["a"],"x":{"k":1,"k":2}}'],
    ['a key twice in an object inside an array', '{"scopes":[{"k":1, "k" :2}]}'],
    ['__proto__', '{"__proto__":{"polluted":true}}'],
    ['__proto__ nested', '{"scopes":["a"],"x":[{"__proto__":{"polluted":true}}]}'],
    ['constructor.prototype', '{"constructor":{"prototype":{"polluted":true}}}'],
    ['prototype', '{"scopes":["a"],"prototype":1}'],
  ];
  for (const [name, text] of refusedJson) {
    test(`refuses JSON with ${name}`, async () => {
      expect(await refusal(jsonRequest(text))).toBe('invalid_request');
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  const acceptedJson: [string, string][] = [
    ['one key in two objects', '{"scopes":["a"],"x":{"scopes":1},"y":{"scopes":2}}'],
    ['key-like text inside strings', '{"scopes":["\\"scopes\\": [1]"],"claims":"{\\"a\\":1,\\"a\\":2}"}'],
    ['escaped quotes and backslashes before a colon', '{"a\\\\":"\\\\\\"","b":":"}'],
    ['__proto__ as a value', '{"scopes":["__proto__"]}'],
  ];
  for (const [name, text] of acceptedJson) {
    test(`accepts JSON with ${name}`, async () => {
      expect(await refusal(jsonRequest(text))).toBe('accepted');
    });
  }

  test('refuses a form with a parameter twice, or a prototype key', async () => {
    expect(await refusal(formRequest('scopes=a&scopes=b'))).toBe('invalid_request');
    expect(await refusal(formRequest('scopes=a&__proto__=x'))).toBe('invalid_request');
    expect(await refusal(formRequest('scopes=a&constructor=x'))).toBe('invalid_request');
    expect(await refusal(formRequest('scopes=a&force_refresh=true'))).toBe('accepted');
  });
});
