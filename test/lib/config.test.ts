import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows, test } from './spec.ts';
import { optionalSetting, parseClientSettings, requireSetting, type Settings } from '../../lib/config.ts';
import { ClientConfigurationError } from '../../lib/errors.ts';
import { generatedPem } from './fakes.ts';

const CLIENT_SECRET = 'cs~S3cr3t-value-that-must-never-leak';
const TOKEN_CACHE_KEY = 'tck-0123456789abcdef0123456789abcdef-never-leak';
const THUMBPRINT = '5A3F0D2B9C8E7F6A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F607182';

function settings(overrides: Settings = {}): Settings {
  return {
    AUTHORITY: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47',
    CLIENT_ID: 'f6d1c1a0-0000-4000-8000-00000000c1d0',
    CLIENT_SECRET,
    TOKEN_CACHE_KEY,
    ...overrides,
  };
}

function assertNoSecrets(error: Error, ...secrets: string[]): void {
  for (const secret of [CLIENT_SECRET, TOKEN_CACHE_KEY, ...secrets]) {
    assert(!error.message.includes(secret), `message echoes a secret: ${error.message}`);
    assert(!JSON.stringify(error).includes(secret), 'serialised error echoes a secret');
  }
}

async function rejectsNaming(overrides: Settings, setting: string): Promise<ClientConfigurationError> {
  const error = await assertRejects(() => parseClientSettings(settings(overrides)), ClientConfigurationError, 'server_misconfigured');
  assertEquals(error.setting, setting);
  assertStringIncludes(error.message, setting);
  assertNoSecrets(error);
  return error;
}

test('parseClientSettings reads a secret configuration with defaults', async () => {
  const parsed = await parseClientSettings(settings());
  assertEquals(parsed.client.authority.type, 'entra');
  assertEquals(parsed.client.clientId, 'f6d1c1a0-0000-4000-8000-00000000c1d0');
  assertEquals(parsed.client.credential, { kind: 'secret', secret: CLIENT_SECRET, method: 'basic' });
  assertEquals(parsed.client.timeoutMs, 10_000);
  assertEquals(parsed.client.retryDelayMs, 1_000);
  assertEquals(parsed.sealingKey.algorithm.name, 'AES-GCM');
});

test('parseClientSettings reads CLIENT_SECRET_METHOD, PROVIDER_TIMEOUT_MS and PROVIDER_RETRY_DELAY_MS', async () => {
  const parsed = await parseClientSettings(settings({ CLIENT_SECRET_METHOD: 'post', PROVIDER_TIMEOUT_MS: '2500', PROVIDER_RETRY_DELAY_MS: '0' }));
  assertEquals(parsed.client.credential, { kind: 'secret', secret: CLIENT_SECRET, method: 'post' });
  assertEquals(parsed.client.timeoutMs, 2500);
  assertEquals(parsed.client.retryDelayMs, 0);
});

test('parseClientSettings reads a certificate configuration', async () => {
  const { pem } = await generatedPem();
  const parsed = await parseClientSettings(settings({ CLIENT_SECRET: undefined, CLIENT_CERTIFICATE: pem, CLIENT_CERTIFICATE_THUMBPRINT: THUMBPRINT }));
  const credential = parsed.client.credential;
  assert(credential.kind === 'certificate');
  assertEquals(credential.thumbprint.header, 'x5t#S256');
  assertEquals(credential.privateKey.algorithm.name, 'RSA-PSS');
});

test('parseClientSettings honours AUTHORITY_TYPE oidc', async () => {
  const parsed = await parseClientSettings(settings({ AUTHORITY: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', AUTHORITY_TYPE: 'oidc' }));
  assertEquals(parsed.client.authority.type, 'oidc');
});

test('parseClientSettings without AUTHORITY throws ClientConfigurationError naming AUTHORITY', async () => {
  await rejectsNaming({ AUTHORITY: undefined }, 'AUTHORITY');
  await rejectsNaming({ AUTHORITY: '   ' }, 'AUTHORITY');
});

test('parseClientSettings with an invalid AUTHORITY names AUTHORITY', async () => {
  await rejectsNaming({ AUTHORITY: 'http://login.microsoftonline.com/common' }, 'AUTHORITY');
});

test('parseClientSettings with an unknown AUTHORITY_TYPE names AUTHORITY_TYPE', async () => {
  await rejectsNaming({ AUTHORITY_TYPE: 'saml' }, 'AUTHORITY_TYPE');
});

test('parseClientSettings without CLIENT_ID names CLIENT_ID', async () => {
  await rejectsNaming({ CLIENT_ID: '' }, 'CLIENT_ID');
});

test('parseClientSettings with both CLIENT_SECRET and CLIENT_CERTIFICATE throws', async () => {
  const { pem } = await generatedPem();
  const error = await rejectsNaming({ CLIENT_CERTIFICATE: pem, CLIENT_CERTIFICATE_THUMBPRINT: THUMBPRINT }, 'CLIENT_SECRET');
  assertStringIncludes(error.message, 'CLIENT_CERTIFICATE');
  assertNoSecrets(error, pem.split('\n')[2]!);
});

test('parseClientSettings without any credential names CLIENT_SECRET', async () => {
  await rejectsNaming({ CLIENT_SECRET: undefined }, 'CLIENT_SECRET');
});

test('parseClientSettings with an unknown CLIENT_SECRET_METHOD names it', async () => {
  await rejectsNaming({ CLIENT_SECRET_METHOD: 'jwt' }, 'CLIENT_SECRET_METHOD');
});

test('parseClientSettings with a junk CLIENT_CERTIFICATE names it without echoing it', async () => {
  const junk = '-----BEGIN PRIVATE KEY-----\nTUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFD\n-----END PRIVATE KEY-----';
  const error = await rejectsNaming({ CLIENT_SECRET: undefined, CLIENT_CERTIFICATE: junk, CLIENT_CERTIFICATE_THUMBPRINT: THUMBPRINT }, 'CLIENT_CERTIFICATE');
  assertNoSecrets(error, 'TUlJRXZRSUJBREFOQmdrcWhraUc5dzBC');
});

test('parseClientSettings with a certificate but no thumbprint names CLIENT_CERTIFICATE_THUMBPRINT', async () => {
  const { pem } = await generatedPem();
  await rejectsNaming({ CLIENT_SECRET: undefined, CLIENT_CERTIFICATE: pem }, 'CLIENT_CERTIFICATE_THUMBPRINT');
});

test('parseClientSettings with an unknown CLIENT_CERTIFICATE_ALGORITHM names it', async () => {
  const { pem } = await generatedPem();
  await rejectsNaming({ CLIENT_SECRET: undefined, CLIENT_CERTIFICATE: pem, CLIENT_CERTIFICATE_THUMBPRINT: THUMBPRINT, CLIENT_CERTIFICATE_ALGORITHM: 'ES256' }, 'CLIENT_CERTIFICATE_ALGORITHM');
});

test('parseClientSettings with a short TOKEN_CACHE_KEY names it without echoing it', async () => {
  const error = await rejectsNaming({ TOKEN_CACHE_KEY: 'short-secret-value' }, 'TOKEN_CACHE_KEY');
  assertNoSecrets(error, 'short-secret-value');
});

test('parseClientSettings without TOKEN_CACHE_KEY names it', async () => {
  await rejectsNaming({ TOKEN_CACHE_KEY: undefined }, 'TOKEN_CACHE_KEY');
});

test('parseClientSettings rejects a bad PROVIDER_TIMEOUT_MS', async () => {
  for (const value of ['abc', '1.5', '50', '60001', '-1', '10s']) {
    await rejectsNaming({ PROVIDER_TIMEOUT_MS: value }, 'PROVIDER_TIMEOUT_MS');
  }
});

test('parseClientSettings rejects a bad PROVIDER_RETRY_DELAY_MS', async () => {
  await rejectsNaming({ PROVIDER_RETRY_DELAY_MS: '10001' }, 'PROVIDER_RETRY_DELAY_MS');
});

test('parseClientSettings rejects a non-string setting without echoing it', async () => {
  await rejectsNaming({ CLIENT_SECRET: { value: CLIENT_SECRET } }, 'CLIENT_SECRET');
});

test('requireSetting trims the value and names a missing setting', () => {
  assertEquals(requireSetting({ A: '  x  ' }, 'A'), 'x');
  const error = assertThrows(() => requireSetting({}, 'MISSING_ONE'), ClientConfigurationError);
  assertEquals(error.setting, 'MISSING_ONE');
});

test('optionalSetting treats undefined, null and the empty string as unset', () => {
  assertEquals(optionalSetting({ A: undefined, B: null, C: '' }, 'A'), undefined);
  assertEquals(optionalSetting({ B: null }, 'B'), undefined);
  assertEquals(optionalSetting({ C: '' }, 'C'), undefined);
  assertThrows(() => optionalSetting({ D: 5 }, 'D'), ClientConfigurationError);
});

test('parseClientSettings treats a whitespace-only optional setting as unset', async () => {
  const parsed = await parseClientSettings(settings({ PROVIDER_RETRY_DELAY_MS: '   ' }));
  assertEquals(parsed.client.retryDelayMs, 1000);
});

test('parseClientSettings rejects an integer setting written as 1e3 or hex', async () => {
  await assertRejects(() => parseClientSettings(settings({ PROVIDER_TIMEOUT_MS: '1e3' })), ClientConfigurationError);
  await assertRejects(() => parseClientSettings(settings({ PROVIDER_TIMEOUT_MS: '0x10' })), ClientConfigurationError);
});
