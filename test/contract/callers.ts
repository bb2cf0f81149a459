/**
 * Callers with grants of their own (CALLERS entries made per test), and what another MSAL deployment or a
 * user's SPA would hold, straight from the local provider: refresh tokens and user access tokens.
 */
import type { User } from './browser.ts';
import { idp, sha256Hex } from './target.ts';

export type Grant = 'client_credentials' | 'password' | 'account_import';

export interface TestCaller {
  /** The caller id in CALLERS: unique per test, so that per-caller rate limits start empty. */
  id: string;
  key: string;
  scopes: string[];
  grants: Grant[];
  tenants?: string[];
}

/** A caller with these grants and allowed scopes, and a key of its own. */
export function testCaller(grants: Grant[], scopes: string[] = ['api://downstream/read'], tenants?: string[]): TestCaller {
  const run = crypto.randomUUID();
  return { id: `${grants.join('+')}-${run.slice(0, 8)}`, key: `caller-key-${run}`, scopes, grants, ...(tenants ? { tenants } : {}) };
}

/** `{ CALLERS }` naming these callers: an override for `app()`. */
export async function callersSetting(...callers: TestCaller[]): Promise<{ CALLERS: string }> {
  const entries = await Promise.all(
    callers.map(async (c) => [c.id, { key_sha256: await sha256Hex(c.key), scopes: c.scopes, grants: c.grants, ...(c.tenants ? { tenants: c.tenants } : {}) }] as const),
  );
  return { CALLERS: JSON.stringify(Object.fromEntries(entries)) };
}

/** The provider's password grant for the web app, at the provider itself (as another deployment signs users in). */
async function providerPasswordGrant(user: User, scope: string): Promise<{ access_token: string; refresh_token?: string }> {
  const response = await fetch(`${idp.authority}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${btoa(`${encodeURIComponent(idp.webApp.clientId)}:${encodeURIComponent(idp.webApp.clientSecret)}`)}` },
    body: new URLSearchParams({ grant_type: 'password', username: user.username, password: user.password, scope, client_info: '1' }),
  });
  const body = (await response.json()) as { access_token?: string; refresh_token?: string };
  if (!response.ok || !body.access_token) throw new Error(`the provider issued no token: ${response.status} ${JSON.stringify(body)}`);
  return body as { access_token: string; refresh_token?: string };
}

/** A refresh token the provider issued to the web app for this user, as another MSAL deployment holds it. */
export async function providerRefreshToken(user: User, scope = 'openid profile offline_access api://downstream/read'): Promise<string> {
  const { refresh_token: token } = await providerPasswordGrant(user, scope);
  if (!token) throw new Error('the provider issued no refresh token');
  return token;
}

/** The user's access token for this app's own API (api://web-app), as the SPA would present it to the middle tier. */
export async function userTokenForThisApi(user: User, scope = 'api://web-app/access_as_user'): Promise<string> {
  return (await providerPasswordGrant(user, scope)).access_token;
}
