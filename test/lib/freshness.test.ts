import { assertEquals, test } from './spec.ts';
import { accessTokenEntity } from '../../lib/cache/entities.ts';
import { EXPIRY_SKEW_SECONDS, isUsable, shouldRefresh, storeTtlSeconds } from '../../lib/cache/freshness.ts';

const QUERY = { homeAccountId: '', environment: 'login.example.test', clientId: 'c', realm: 't', target: 'scope' };
const T0 = 1_700_000_000_000;

function tokenAt(requestedAtMs: number, expiresIn: number, refreshIn?: number) {
  return accessTokenEntity(QUERY, { access_token: 'at', expires_in: expiresIn, ...(refreshIn !== undefined ? { refresh_in: refreshIn } : {}) }, requestedAtMs);
}

test('EXPIRY_SKEW_SECONDS is MSAL\'s 300 s renewal offset', () => {
  assertEquals(EXPIRY_SKEW_SECONDS, 300);
});

test('isUsable is false for a token with 300 s left', () => {
  assertEquals(isUsable(tokenAt(T0, 300), T0), false);
});

test('isUsable is true for a token with 301 s left', () => {
  assertEquals(isUsable(tokenAt(T0, 301), T0), true);
});

test('isUsable is false for an expired token', () => {
  assertEquals(isUsable(tokenAt(T0, 3600), T0 + 3601_000), false);
});

test('isUsable is false for a token cached far in the future', () => {
  assertEquals(isUsable(tokenAt(T0 + 3600_000, 7200), T0), false);
});

test('isUsable tolerates a cached_at up to 300 s ahead of the clock', () => {
  assertEquals(isUsable(tokenAt(T0 + 300_000, 3600), T0), true);
});

test('shouldRefresh is false before refresh_on', () => {
  assertEquals(shouldRefresh(tokenAt(T0, 3600, 1800), T0 + 1799_000), false);
});

test('shouldRefresh is true once refresh_on has passed', () => {
  assertEquals(shouldRefresh(tokenAt(T0, 3600, 1800), T0 + 1800_000), true);
  assertEquals(shouldRefresh(tokenAt(T0, 3600, 1800), T0 + 2000_000), true);
});

test('shouldRefresh is false without refresh_on', () => {
  assertEquals(shouldRefresh(tokenAt(T0, 3600), T0 + 3500_000), false);
});

test('storeTtlSeconds lasts until the token expires, and at least 1 s', () => {
  assertEquals(storeTtlSeconds(tokenAt(T0, 3600), T0 + 600_000), 3000);
  assertEquals(storeTtlSeconds(tokenAt(T0, 3600), T0 + 7200_000), 1);
});
