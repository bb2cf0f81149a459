/** Missing or invalid configuration is 500 server_misconfigured naming the setting, never its value. */
import { describe, expect, test } from 'vitest';
import { clientToken, idp, settings } from './harness.ts';

async function misconfigured(overrides: Record<string, string | undefined>, setting: string): Promise<string> {
  const response = await clientToken(await settings(overrides));
  expect(response.status).toBe(500);
  const text = await response.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.error).toBe('server_misconfigured');
  expect(body.error_description).toContain(setting);
  return text;
}

describe('configuration', () => {
  test('missing AUTHORITY', () => misconfigured({ AUTHORITY: undefined }, 'AUTHORITY'));
  test('AUTHORITY over http on a non-loopback host', () => misconfigured({ AUTHORITY: 'http://login.example.com/contoso.com' }, 'AUTHORITY'));
  test('an app token from a multi-tenant AUTHORITY', () => misconfigured({ AUTHORITY: `${idp.origin}/common` }, 'AUTHORITY'));
  test('missing CLIENT_ID', () => misconfigured({ CLIENT_ID: undefined }, 'CLIENT_ID'));
  test('no client credential', () => misconfigured({ CLIENT_SECRET: undefined }, 'CLIENT_SECRET'));
  test('a certificate without thumbprint', () =>
    misconfigured({ CLIENT_SECRET: undefined, CLIENT_CERTIFICATE: idp.webAppCert.privateKeyPem }, 'CLIENT_CERTIFICATE_THUMBPRINT'));
  test('a certificate that is not a PEM key, without echoing it', async () => {
    const text = await misconfigured({ CLIENT_SECRET: undefined, CLIENT_CERTIFICATE: 'not-a-key-SECRETVALUE', CLIENT_CERTIFICATE_THUMBPRINT: 'ab'.repeat(32) }, 'CLIENT_CERTIFICATE');
    expect(text).not.toContain('SECRETVALUE');
  });
  test('a short TOKEN_CACHE_KEY, without echoing it', async () => {
    const text = await misconfigured({ TOKEN_CACHE_KEY: 'short-SECRETVALUE' }, 'TOKEN_CACHE_KEY');
    expect(text).not.toContain('SECRETVALUE');
  });
  test('CALLERS that is not JSON', () => misconfigured({ CALLERS: '{nope' }, 'CALLERS'));
  test('CALLERS without a key hash', () => misconfigured({ CALLERS: JSON.stringify({ a: { scopes: ['x'] } }) }, 'CALLERS'));
});
