import { assert, assertEquals, assertNotEquals, assertRejects, assertStringIncludes, test } from './spec.ts';
import { deriveSealingKey, open, seal } from '../../lib/cache/seal.ts';
import { base64url, fromBase64url } from '../../lib/encoding.ts';
import { ClientConfigurationError } from '../../lib/errors.ts';
import { SEALING_SECRET } from './fakes.ts';

const STORAGE_KEY = 'at1:storage-key-a';

test('seal then open returns the plaintext', async () => {
  const key = await deriveSealingKey(SEALING_SECRET);
  const sealed = await seal(key, STORAGE_KEY, '{"secret":"token ✓"}');
  assertEquals(await open(key, STORAGE_KEY, sealed), '{"secret":"token ✓"}');
});

test('seal output is versioned base64url and does not contain the plaintext', async () => {
  const key = await deriveSealingKey(SEALING_SECRET);
  const sealed = await seal(key, STORAGE_KEY, 'plain-access-token');
  assert(/^v1\.[A-Za-z0-9_-]+$/.test(sealed), sealed);
  assert(!sealed.includes('plain-access-token'));
});

test('seal uses a fresh IV, so the same plaintext seals differently', async () => {
  const key = await deriveSealingKey(SEALING_SECRET);
  assertNotEquals(await seal(key, STORAGE_KEY, 'same'), await seal(key, STORAGE_KEY, 'same'));
});

test('open returns null when one byte of the sealed value is flipped', async () => {
  const key = await deriveSealingKey(SEALING_SECRET);
  const sealed = await seal(key, STORAGE_KEY, 'payload');
  const bytes = fromBase64url(sealed.slice(3))!;
  for (const index of [0, 12, bytes.length - 1]) {
    const tampered = bytes.slice();
    tampered[index]! ^= 0x01;
    assertEquals(await open(key, STORAGE_KEY, `v1.${base64url(tampered)}`), null, `byte ${index}`);
  }
});

test('open returns null for a value sealed under another storage key', async () => {
  const key = await deriveSealingKey(SEALING_SECRET);
  const sealed = await seal(key, STORAGE_KEY, 'payload');
  assertEquals(await open(key, 'at1:storage-key-b', sealed), null);
});

test('open returns null under a key derived from a different secret', async () => {
  const key = await deriveSealingKey(SEALING_SECRET);
  const other = await deriveSealingKey(SEALING_SECRET.replace(/.$/, 'X'));
  const sealed = await seal(key, STORAGE_KEY, 'payload');
  assertEquals(await open(other, STORAGE_KEY, sealed), null);
});

test('open returns null for garbage', async () => {
  const key = await deriveSealingKey(SEALING_SECRET);
  for (const junk of ['', 'v1.', 'v1.!!!', 'v2.AAAA', 'v1.AAAA', `v1.${'A'.repeat(40)}`, 'null', '{"secret":"x"}']) {
    assertEquals(await open(key, STORAGE_KEY, junk), null, junk);
  }
});

test('deriveSealingKey with fewer than 32 characters throws ClientConfigurationError naming TOKEN_CACHE_KEY', async () => {
  const secret = 'short-but-secret-value-31-chars';
  assertEquals(secret.length, 31);
  const error = await assertRejects(() => deriveSealingKey(secret), ClientConfigurationError);
  assertEquals(error.setting, 'TOKEN_CACHE_KEY');
  assertStringIncludes(error.message, 'TOKEN_CACHE_KEY');
  assert(!error.message.includes(secret), 'message echoes the secret');
  assert(!error.errorMessage.includes(secret), 'errorMessage echoes the secret');
});

test('deriveSealingKey accepts exactly 32 characters', async () => {
  const key = await deriveSealingKey('x'.repeat(32));
  assertEquals(key.type, 'secret');
  assertEquals(key.extractable, false);
});
