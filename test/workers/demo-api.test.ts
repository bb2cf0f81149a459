/** The demo API (/api/demo) validates bearer access tokens as a protected API must: user tokens for its scope only. */
import { beforeEach, expect, test } from 'vitest';
import { callers, clientToken } from './harness.ts';
import { Browser, freshSignInState, signInSettings } from './browser-driver.ts';

beforeEach(freshSignInState);

async function callDemo(browser: Browser, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await browser.get('/api/demo', { authorization: `Bearer ${token}` });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function appToken(env: Awaited<ReturnType<typeof signInSettings>>, scope: string, key: string): Promise<string> {
  const response = await clientToken(env, [scope], { key });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

test('accepts a signed-in user\'s token for its scope', async () => {
  const browser = new Browser(await signInSettings());
  await browser.signIn();
  const token = ((await (await browser.token()).json()) as { access_token: string }).access_token;
  const { status, body } = await callDemo(browser, token);
  expect(status).toBe(200);
  expect(body.scp).toBe('read');
});

test('refuses an app-only token for its audience (roles, no scp) with 403: a user is required', async () => {
  const env = await signInSettings();
  const token = await appToken(env, 'api://downstream/.default', callers.orders.key);
  const { status, body } = await callDemo(new Browser(env), token);
  expect(status).toBe(403);
  expect(body.error).toBe('forbidden');
  expect(String(body.error_description)).toContain('app-only');
  expect(JSON.stringify(body)).not.toContain(token);
});

test('refuses a token for another API with 401 invalid_client', async () => {
  const env = await signInSettings();
  const token = await appToken(env, 'api://other/.default', callers.reports.key);
  const { status, body } = await callDemo(new Browser(env), token);
  expect(status).toBe(401);
  expect(body.error).toBe('invalid_client');
});

test('refuses a malformed bearer token with 401, never a 500', async () => {
  const browser = new Browser(await signInSettings());
  for (const token of ['abc', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.']) {
    expect((await callDemo(browser, token)).status).toBe(401);
  }
});
