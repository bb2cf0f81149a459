import { assertEquals, assertThrows, test } from './spec.ts';
import { normalizeScopes, scopesToTarget } from '../../lib/scopes.ts';
import { CallerError } from '../../lib/errors.ts';

test('normalizeScopes sorts the scopes', () => {
  assertEquals(normalizeScopes(['user.read', 'openid', 'https://graph.microsoft.com/.default']), [
    'https://graph.microsoft.com/.default',
    'openid',
    'user.read',
  ]);
});

test('normalizeScopes accepts a space-delimited string', () => {
  assertEquals(normalizeScopes('profile openid'), ['openid', 'profile']);
});

test('normalizeScopes does not modify the array it is given', () => {
  const input = ['b', 'a'];
  normalizeScopes(input);
  assertEquals(input, ['b', 'a']);
});

test('normalizeScopes rejects missing scopes as invalid_request', () => {
  assertThrows(() => normalizeScopes(undefined), CallerError, 'invalid_request');
  assertThrows(() => normalizeScopes(null), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a value that is neither string nor array as invalid_request', () => {
  assertThrows(() => normalizeScopes(42), CallerError, 'invalid_request');
  assertThrows(() => normalizeScopes({ scope: 'openid' }), CallerError, 'invalid_request');
});

test('normalizeScopes rejects an empty array as invalid_request', () => {
  assertThrows(() => normalizeScopes([]), CallerError, 'invalid_request');
});

test('normalizeScopes rejects an empty string as invalid_request', () => {
  assertThrows(() => normalizeScopes(''), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a duplicate scope', () => {
  assertThrows(() => normalizeScopes(['openid', 'openid']), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a duplicate scope that differs only in case', () => {
  assertThrows(() => normalizeScopes('User.Read user.read'), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a scope with a control character', () => {
  assertThrows(() => normalizeScopes(['open\nid']), CallerError, 'invalid_request');
  assertThrows(() => normalizeScopes(['openid\u0000']), CallerError, 'invalid_request');
  assertThrows(() => normalizeScopes(['a\tb']), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a quote or backslash in a scope', () => {
  assertThrows(() => normalizeScopes(['a"b']), CallerError, 'invalid_request');
  assertThrows(() => normalizeScopes(['a\\b']), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a double space in a scope string', () => {
  assertThrows(() => normalizeScopes('openid  profile'), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a leading or trailing space in a scope string', () => {
  assertThrows(() => normalizeScopes(' openid'), CallerError, 'invalid_request');
  assertThrows(() => normalizeScopes('openid '), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a non-string entry as invalid_request', () => {
  assertThrows(() => normalizeScopes(['openid', 7]), CallerError, 'invalid_request');
  assertThrows(() => normalizeScopes([null]), CallerError, 'invalid_request');
});

test('normalizeScopes rejects a scope over 512 characters', () => {
  assertThrows(() => normalizeScopes(['a'.repeat(513)]), CallerError, 'invalid_request');
  assertEquals(normalizeScopes(['a'.repeat(512)]).length, 1);
});

test('normalizeScopes accepts 50 scopes', () => {
  assertEquals(normalizeScopes(Array.from({ length: 50 }, (_, i) => `s${i}`)).length, 50);
});

test('normalizeScopes rejects more than 50 scopes as invalid_request', () => {
  assertThrows(() => normalizeScopes(Array.from({ length: 51 }, (_, i) => `s${i}`)), CallerError, 'invalid_request');
});

test('scopesToTarget joins sorted scopes with one space', () => {
  assertEquals(scopesToTarget(['b', 'a', 'c']), 'a b c');
});
