import { assert, assertEquals, test } from './spec.ts';
import { base64url, constantTimeEqual, fromBase64url, fromHex, fromUtf8, sha256, sha256Sync, utf8 } from '../../lib/encoding.ts';

test('base64url round-trips every byte value without padding or + and /', () => {
  const bytes = new Uint8Array(256).map((_, i) => i);
  const text = base64url(bytes);
  assert(/^[A-Za-z0-9_-]+$/.test(text), `not base64url: ${text}`);
  assertEquals(fromBase64url(text), bytes);
});

test('base64url round-trips lengths that need 0, 1 and 2 padding characters', () => {
  for (const length of [0, 1, 2, 3, 4, 5]) {
    const bytes = new Uint8Array(length).map((_, i) => 250 + i);
    assertEquals(fromBase64url(base64url(bytes)), bytes, `length ${length}`);
  }
});

test('base64url encodes a known vector as RFC 4648 §5 does', () => {
  assertEquals(base64url(new Uint8Array([0xfb, 0xff, 0xbf])), '-_-_');
  assertEquals(base64url(utf8('hi')), 'aGk');
});

test('fromBase64url rejects characters outside the base64url alphabet', () => {
  assertEquals(fromBase64url('ab+c'), null);
  assertEquals(fromBase64url('ab/c'), null);
  assertEquals(fromBase64url('abc='), null);
  assertEquals(fromBase64url('not base64!'), null);
});

test('fromBase64url rejects an impossible length', () => {
  assertEquals(fromBase64url('a'), null);
});

test('fromHex decodes upper- and lower-case hex', () => {
  assertEquals(fromHex('00ff10Ab'), new Uint8Array([0x00, 0xff, 0x10, 0xab]));
});

test('fromHex rejects odd length, non-hex characters and the empty string', () => {
  assertEquals(fromHex('abc'), null);
  assertEquals(fromHex('zz'), null);
  assertEquals(fromHex(''), null);
});

test('utf8 and fromUtf8 round-trip non-ASCII text', () => {
  assertEquals(fromUtf8(utf8('Grüße, 世界 🙂')), 'Grüße, 世界 🙂');
});

test('sha256 of "abc" is the FIPS 180-2 test vector', async () => {
  const digest = await sha256('abc');
  assertEquals([...digest].map((b) => b.toString(16).padStart(2, '0')).join(''), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('constantTimeEqual is true for equal arrays', () => {
  assertEquals(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])), true);
});

test('constantTimeEqual is false when one byte differs', () => {
  assertEquals(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])), false);
});

test('constantTimeEqual is false for different lengths', () => {
  assertEquals(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])), false);
  assertEquals(constantTimeEqual(new Uint8Array([]), new Uint8Array([0])), false);
});

test('sha256Sync is sha256, for the empty string, a one-block and a two-block input, and non-ASCII text', async () => {
  for (const input of ['', 'abc', 'x'.repeat(55), 'x'.repeat(56), 'x'.repeat(64), 'x'.repeat(1000), 'Grüße, 世界 😀']) {
    assertEquals([...sha256Sync(input)], [...(await sha256(input))], `length ${input.length}`);
  }
});
