/**
 * How a sign-in ends besides sign-out: a revoked grant, a refresh answered for another account, too
 * many sessions. In workerd against the provider, through the account's Durable Object.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { MAX_SESSIONS_PER_ACCOUNT } from '../../functions/workers/account-object.ts';
import { idp, provider, sleep } from './harness.ts';
import { Browser, freshSignInState, signInSettings, type User, alice } from './browser-driver.ts';

beforeEach(freshSignInState);

async function craftIdToken(kind: string): Promise<void> {
  const response = await fetch(`${idp.origin}/_control/id-token`, { method: 'POST', body: JSON.stringify({ kind }), headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw new Error(`craft ${kind} refused: ${response.status}`);
}

/** `count` browsers signed in as one user, whose cached access token is already inside the 5-minute renewal window. */
async function browsersWithExpiringToken(count: number, user: User = alice): Promise<Browser[]> {
  await provider.tokenLifetime({ accessTokenTtl: 302 });
  const browsers: Browser[] = [];
  for (let i = 0; i < count; i++) {
    const browser = new Browser(await signInSettings());
    expect((await browser.signIn(user)).status).toBe(302);
    browsers.push(browser);
  }
  await sleep(2500);
  return browsers;
}

async function status(browser: Browser, path: string): Promise<number> {
  return (await browser.get(path)).status;
}

describe('a revoked grant', () => {
  test('invalid_grant on a refresh ends every session of the account; /auth/me answers 401', async () => {
    const [first, second] = await browsersWithExpiringToken(2);
    await provider.fault({ endpoint: 'token:refresh_token', kind: 'invalid_grant' });
    expect((await first!.token()).status).toBe(401);
    expect(await status(first!, '/auth/me')).toBe(401);
    expect(await status(second!, '/auth/me')).toBe(401);
  });

  test('invalid_grant removes the refresh token: the other session gets no token, and no second refresh is tried', async () => {
    const [first, second] = await browsersWithExpiringToken(2);
    await provider.fault({ endpoint: 'token:refresh_token', kind: 'invalid_grant' });
    await first!.token();
    const response = await second!.token();
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('interaction_required');
    expect((await provider.counts())['token:refresh_token']).toBe(1);
  });

  test('other interaction-required answers keep the account and its sessions', async () => {
    const [browser] = await browsersWithExpiringToken(1);
    await provider.fault({ endpoint: 'token:refresh_token', kind: 'interaction_required' });
    expect((await browser!.token()).status).toBe(401);
    expect(await status(browser!, '/auth/me')).toBe(200);
    const retried = await browser!.token();
    expect(retried.status).toBe(200);
    expect((await provider.counts())['token:refresh_token']).toBe(2);
  });
});

describe('ID-token continuity', () => {
  test("a refresh answered with another user's ID token is refused and ends every session", async () => {
    const [first, second] = await browsersWithExpiringToken(2);
    await craftIdToken('other_subject');
    const response = await first!.token();
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'interaction_required', suberror: 'account_mismatch' });
    expect(await status(first!, '/auth/me')).toBe(401);
    expect(await status(second!, '/auth/me')).toBe(401);
  });

  test('a refresh with the same account keeps the sign-in', async () => {
    const [browser] = await browsersWithExpiringToken(1);
    expect((await browser!.token()).status).toBe(200);
    expect((await provider.counts())['token:refresh_token']).toBe(1);
    expect(await status(browser!, '/auth/me')).toBe(200);
  });
});

describe('sessions per account', () => {
  test(`an account keeps at most ${MAX_SESSIONS_PER_ACCOUNT} sessions: a new sign-in ends the oldest`, async () => {
    const browsers: Browser[] = [];
    for (let i = 0; i <= MAX_SESSIONS_PER_ACCOUNT; i++) {
      const browser = new Browser(await signInSettings());
      await browser.signIn();
      browsers.push(browser);
      // Distinct expiry instants, so "oldest" is unambiguous.
      await sleep(2);
    }
    expect(await status(browsers[0]!, '/auth/me')).toBe(401);
    for (const browser of browsers.slice(1)) expect(await status(browser, '/auth/me')).toBe(200);
  });
});
