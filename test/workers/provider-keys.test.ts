/**
 * The provider's signing keys, through the Worker against the local provider: a rotated key is taken
 * up after one refetch that respects the cooldown, and an ID token without `kid` is verified only when
 * a single key could have signed it.
 *
 * jose's key set reads Date.now for its cooldown (60 s) and maximum age (10 min), so these tests run on
 * a clock that only moves forward: each starts 11 minutes after the last, when the Worker's cached key
 * set is stale and is fetched again, whatever an earlier test left in it.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { idp, provider } from './harness.ts';
import { Browser, WORKER_ORIGIN, freshSignInState, signInSettings } from './browser-driver.ts';

const realNow = Date.now;
let offsetMs = 0;

function advance(ms: number): void {
  offsetMs += ms;
}

beforeEach(async () => {
  await freshSignInState();
  Date.now = () => realNow() + offsetMs;
  advance(11 * 60_000);
});

afterEach(() => {
  Date.now = realNow;
});

async function control(path: string, body: unknown = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${idp.origin}/_control/${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw new Error(`${path} refused: ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

async function keyFetches(): Promise<number> {
  return (await provider.counts()).keys ?? 0;
}

async function expectRefused(response: Response, reason: RegExp): Promise<void> {
  expect(response.status).toBe(502);
  const page = await response.text();
  expect(page).toContain('invalid_id_token');
  expect(page).toMatch(reason);
}

test('a rotated provider signing key is accepted after one key refetch, and not before the refetch cooldown', async () => {
  expect((await new Browser(await signInSettings()).signIn()).status).toBe(302);
  const fetchedBefore = await keyFetches();
  await control('rotate-signing-key');

  // Seconds later the new kid is unknown and the cooldown forbids a refetch: refused, nothing fetched.
  await expectRefused(await new Browser(await signInSettings()).signIn(), /kid|key/);
  expect(await keyFetches()).toBe(fetchedBefore);

  advance(61_000);
  const browser = new Browser(await signInSettings());
  expect((await browser.signIn()).status).toBe(302);
  expect(await keyFetches()).toBe(fetchedBefore + 1);

  // A refresh whose ID token the new key signed needs no further fetch.
  const refreshed = await browser.post('/auth/token', {
    json: { scopes: ['api://downstream/read'], force_refresh: true },
    headers: { origin: WORKER_ORIGIN, 'x-requested-with': 'fetch' },
  });
  expect(refreshed.status).toBe(200);
  expect((await provider.counts())['token:refresh_token']).toBe(1);
  expect(await keyFetches()).toBe(fetchedBefore + 1);
});

test('an ID token without kid is accepted while the provider publishes a single key', async () => {
  const browser = new Browser(await signInSettings());
  const answer = await browser.authenticate(await browser.startSignIn());
  await control('id-token', { kind: 'missing_kid' });
  expect((await browser.complete(answer)).status).toBe(302);
});

test('an ID token without kid is refused while the provider publishes several keys', async () => {
  await control('rotate-signing-key');
  const browser = new Browser(await signInSettings());
  const answer = await browser.authenticate(await browser.startSignIn());
  await control('id-token', { kind: 'missing_kid' });
  const fetchedBefore = await keyFetches();
  await expectRefused(await browser.complete(answer), /no kid/);
  expect(await keyFetches()).toBe(fetchedBefore + 1);
  expect((await browser.get('/auth/me')).status).toBe(401);
});

test('a key set over 256 KiB (valid JSON, padded) refuses the sign-in, and is not kept', async () => {
  await provider.fault({ endpoint: 'keys', kind: 'oversize' });
  const fetchedBefore = await keyFetches();
  await expectRefused(await new Browser(await signInSettings()).signIn(), /256 KiB|ERR_JOSE_GENERIC/);
  expect((await new Browser(await signInSettings()).signIn()).status).toBe(302);
  expect(await keyFetches()).toBe(fetchedBefore + 2);
});

test('a key set dripping in slower than the provider timeout refuses the sign-in when the timeout ends, and is not kept', async () => {
  // One byte every 100 ms: ~45 s for the key set, far beyond the 10 s default PROVIDER_TIMEOUT_MS that the
  // isolate's key set was created with.
  await control('fault', { endpoint: 'keys', kind: 'slow_drip', dripBytes: 1, dripIntervalMs: 100 });
  const fetchedBefore = await keyFetches();
  // Refused because the timeout ended the read ("in time"), not because the drip finished: no clock bound here.
  await expectRefused(await new Browser(await signInSettings()).signIn(), /in time/);
  expect((await new Browser(await signInSettings()).signIn()).status).toBe(302);
  expect(await keyFetches()).toBe(fetchedBefore + 2);
});
