import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows, test } from './spec.ts';
import { importCertificateKey, parseThumbprint } from '../../lib/oauth/client-auth.ts';
import { base64url, fromHex } from '../../lib/encoding.ts';
import { ClientConfigurationError } from '../../lib/errors.ts';
import { generatedPem, toPem } from './fakes.ts';

const SHA256_HEX = '5A3F0D2B9C8E7F6A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F607182';
const SHA1_HEX = '0123456789ABCDEF0123456789ABCDEF01234567';

test('parseThumbprint turns 64 hex digits into an x5t#S256 header of those bytes', () => {
  assertEquals(parseThumbprint(SHA256_HEX), { header: 'x5t#S256', value: base64url(fromHex(SHA256_HEX)!) });
});

test('parseThumbprint accepts lower-case hex', () => {
  assertEquals(parseThumbprint(SHA256_HEX.toLowerCase()), parseThumbprint(SHA256_HEX));
});

test('parseThumbprint accepts hex with colons', () => {
  const colons = SHA256_HEX.match(/../g)!.join(':');
  assertEquals(parseThumbprint(colons), parseThumbprint(SHA256_HEX));
});

test('parseThumbprint accepts a base64url SHA-256 thumbprint', () => {
  const value = base64url(fromHex(SHA256_HEX)!);
  assertEquals(parseThumbprint(value), { header: 'x5t#S256', value });
});

test('parseThumbprint turns 40 hex digits into a legacy x5t header', () => {
  assertEquals(parseThumbprint(SHA1_HEX), { header: 'x5t', value: base64url(fromHex(SHA1_HEX)!) });
});

test('parseThumbprint rejects junk with ClientConfigurationError', () => {
  for (const junk of ['', 'not-a-thumbprint', SHA256_HEX.slice(2), `${SHA256_HEX}00`, 'zz'.repeat(32)]) {
    const error = assertThrows(() => parseThumbprint(junk), ClientConfigurationError);
    assertEquals(error.setting, 'CLIENT_CERTIFICATE_THUMBPRINT', junk);
  }
});

test('importCertificateKey imports a PKCS#8 PEM for PS256', async () => {
  const { pem } = await generatedPem();
  const key = await importCertificateKey(pem, 'PS256');
  assertEquals(key.type, 'private');
  assertEquals(key.algorithm.name, 'RSA-PSS');
  assertEquals(key.usages, ['sign']);
  assertEquals(key.extractable, false);
});

test('importCertificateKey imports the same PEM for RS256', async () => {
  const { pem } = await generatedPem();
  const key = await importCertificateKey(pem, 'RS256');
  assertEquals(key.algorithm.name, 'RSASSA-PKCS1-v1_5');
});

test('importCertificateKey accepts a PEM with literal "\\n" sequences', async () => {
  const { pem } = await generatedPem();
  const escaped = pem.trim().replace(/\n/g, '\\n');
  assert(!escaped.includes('\n'));
  const key = await importCertificateKey(escaped, 'PS256');
  assertEquals(key.type, 'private');
});

test('importCertificateKey accepts a PEM on one line and with CRLF line ends', async () => {
  const { pem } = await generatedPem();
  assertEquals((await importCertificateKey(pem.replace(/\n/g, '\r\n'), 'PS256')).type, 'private');
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  assertEquals((await importCertificateKey(`-----BEGIN PRIVATE KEY-----${body}-----END PRIVATE KEY-----`, 'PS256')).type, 'private');
});

test('importCertificateKey rejects junk with ClientConfigurationError naming CLIENT_CERTIFICATE', async () => {
  const junk = ['', 'not a pem', '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----', toPem(new Uint8Array(64).buffer)];
  for (const pem of junk) {
    const error = await assertRejects(() => importCertificateKey(pem, 'PS256'), ClientConfigurationError);
    assertEquals(error.setting, 'CLIENT_CERTIFICATE');
    assertStringIncludes(error.message, 'CLIENT_CERTIFICATE');
  }
});

test('importCertificateKey rejects a PKCS#1 "RSA PRIVATE KEY" PEM', async () => {
  const { pem } = await generatedPem();
  await assertRejects(() => importCertificateKey(pem.replace(/PRIVATE KEY/g, 'RSA PRIVATE KEY'), 'PS256'), ClientConfigurationError);
});

test('importCertificateKey does not echo the key in its error', async () => {
  const { pem } = await generatedPem();
  // A real key body whose DER header is damaged, so that it no longer imports.
  assert(pem.includes('-----\nMII'));
  const broken = pem.replace('-----\nMII', '-----\nAAA');
  const error = await assertRejects(() => importCertificateKey(broken, 'PS256'), ClientConfigurationError);
  const someKeyLine = pem.split('\n')[3]!;
  assert(!error.message.includes(someKeyLine), 'message echoes key material');
});

test('importCertificateKey accepts a PEM pasted with literal \\r\\n sequences', async () => {
  const { pem } = await generatedPem();
  const key = await importCertificateKey(pem.replace(/\n/g, '\\r\\n'), 'PS256');
  assertEquals(key.type, 'private');
});
