/**
 * Abuse limits on the anonymous sign-in routes: each /auth/login creates durable state and each
 * /auth/callback consumes some, so both are limited per client address (the SIGN_IN_RATE_LIMIT binding,
 * 60 a minute, from wrangler.toml); and one browser holds a bounded number of transaction cookies.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { clientAddressKey } from '../../functions/rate-limits.ts';
import { env, atStartOfRateLimitWindow } from './harness.ts';
import { Browser, freshSignInState, randomClientIp, signInSettings } from './browser-driver.ts';

beforeEach(freshSignInState);

const LIMIT = 60;

describe('sign-in rate limits (per client address, per minute)', () => {
  test('the binding the limits use exists in this Worker', () => {
    // From wrangler.toml's [[ratelimits]], which the test pool reads (test/env.d.ts does not list it).
    const binding = (env as unknown as { SIGN_IN_RATE_LIMIT?: RateLimit }).SIGN_IN_RATE_LIMIT;
    expect(typeof binding?.limit).toBe('function');
  });

  test(`the ${LIMIT + 1}st /auth/login from one address is 429 with Retry-After; another address is unaffected`, async () => {
    const settings = await signInSettings();
    const ip = randomClientIp();
    await atStartOfRateLimitWindow(20_000);
    const statuses = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await new Browser(settings, { ip }).get('/auth/login?returnTo=/')).status);
    expect(statuses).toEqual(Array(LIMIT).fill(302));
    const limited = await new Browser(settings, { ip }).get('/auth/login?returnTo=/');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('location')).toBeNull();
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await limited.text()).toContain('rate_limited');
    expect((await new Browser(settings).get('/auth/login?returnTo=/')).status).toBe(302);
  }, 60_000);

  test(`the ${LIMIT + 1}st /auth/callback from one address is 429 with Retry-After`, async () => {
    const settings = await signInSettings();
    const ip = randomClientIp();
    await atStartOfRateLimitWindow(20_000);
    for (let i = 0; i < LIMIT; i++) expect((await new Browser(settings, { ip }).get('/auth/callback?code=x')).status).toBe(400);
    const limited = await new Browser(settings, { ip }).post('/auth/callback', { body: 'code=x', contentType: 'application/x-www-form-urlencoded' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await new Browser(settings).get('/auth/callback?code=x')).status).toBe(400);
  }, 60_000);

  test('IPv6 addresses count by their /64, IPv4 addresses each on their own', () => {
    expect(clientAddressKey('2001:db8:1:2:aaaa::1')).toBe(clientAddressKey('2001:0db8:0001:0002:bbbb:0:0:7'));
    expect(clientAddressKey('2001:db8:1:2::1')).not.toBe(clientAddressKey('2001:db8:1:3::1'));
    expect(clientAddressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddressKey('192.0.2.1')).not.toBe(clientAddressKey('192.0.2.2'));
    expect(clientAddressKey(undefined)).toBe('unknown');
  });
});

describe('transaction cookies per browser', () => {
  const txnNames = (browser: Browser) => [...browser.worker.cookies.keys()].filter((name) => name.startsWith('__Host-txn-'));

  test('at most 5: starting a sixth sign-in expires the oldest', async () => {
    const browser = new Browser(await signInSettings());
    const states: string[] = [];
    for (let i = 0; i < 8; i++) {
      states.push(new URL(await browser.startSignIn()).searchParams.get('state')!);
      expect(txnNames(browser).length).toBe(Math.min(i + 1, 5));
    }
    expect(txnNames(browser).sort()).toEqual(states.slice(3).map((state) => `__Host-txn-${state.slice(0, 16)}`).sort());
  });

  test('the newest sign-ins still complete; a dropped one is refused', async () => {
    const browser = new Browser(await signInSettings());
    const oldest = await browser.startSignIn();
    for (let i = 0; i < 5; i++) await browser.startSignIn();
    const newest = await browser.startSignIn();
    expect((await browser.complete(await browser.authenticate(oldest))).status).toBe(400);
    expect((await browser.complete(await browser.authenticate(newest))).status).toBe(302);
  });

  test('unreadable transaction cookies are expired first', async () => {
    const browser = new Browser(await signInSettings());
    const real = new URL(await browser.startSignIn()).searchParams.get('state')!;
    for (let i = 0; i < 4; i++) browser.worker.cookies.set(`__Host-txn-forged${i}`, 'v1.AAAA');
    await browser.startSignIn();
    expect(txnNames(browser)).toContain(`__Host-txn-${real.slice(0, 16)}`);
    expect(txnNames(browser).filter((name) => name.includes('forged'))).toHaveLength(3);
  });
});
