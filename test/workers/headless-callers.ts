/**
 * For the tests of the headless sign-in routes (/token/password, /accounts/import): callers with grants,
 * real refresh tokens straight from the local provider (its password grant, as another MSAL deployment
 * would have obtained them), and generated requests by a caller with the grant.
 */
import type { CallerGrant } from '../../functions/callers.ts';
import type { Env } from '../../functions/workers/index.ts';
import { sha256, utf8 } from '../../lib/mod.ts';
import type { User } from './browser-driver.ts';
import { Rng, headlessBody } from './fuzz-inputs.ts';
import { call, idp } from './harness.ts';

export interface TestCaller {
  /** The caller id in CALLERS: unique per test, so that per-caller rate limits start empty. */
  id: string;
  key: string;
  scopes: string[];
  grants: CallerGrant[];
}

/** A caller with these grants and allowed scopes, and a key of its own. */
export function testCaller(grants: CallerGrant[], scopes: string[] = ['api://downstream/read']): TestCaller {
  const run = crypto.randomUUID();
  return { id: `${grants.join('+')}-${run.slice(0, 8)}`, key: `caller-key-${run}`, scopes, grants };
}

/** The CALLERS setting naming these callers. */
export async function callersSettingOf(...callers: TestCaller[]): Promise<string> {
  const entries = await Promise.all(
    callers.map(async (c) => {
      const digest = [...(await sha256(utf8(c.key)))].map((b) => b.toString(16).padStart(2, '0')).join('');
      return [c.id, { key_sha256: digest, scopes: c.scopes, grants: c.grants }] as const;
    }),
  );
  return JSON.stringify(Object.fromEntries(entries));
}

/** A refresh token the provider issues to the web app for this user (password grant, at the provider itself). */
export async function providerRefreshToken(user: User, scope = 'openid profile offline_access api://downstream/read'): Promise<string> {
  const response = await fetch(`${idp.authority}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${btoa(`${encodeURIComponent(idp.webApp.clientId)}:${encodeURIComponent(idp.webApp.clientSecret)}`)}` },
    body: new URLSearchParams({ grant_type: 'password', username: user.username, password: user.password, scope, client_info: '1' }),
  });
  const json = (await response.json()) as { refresh_token?: string };
  if (!response.ok || !json.refresh_token) throw new Error(`the provider issued no refresh token: ${response.status}`);
  return json.refresh_token;
}

const ERROR_KEYS = new Set(['error', 'error_description', 'correlation_id', 'error_codes', 'suberror', 'claims', 'trace_id']);

/**
 * `count` generated bodies (fuzz-inputs.ts `headlessBody`, seeded) sent to `path` by a caller that has the
 * grant, so that they reach the route's own parsing, not only caller authentication as in the fuzz suite.
 * @returns what is wrong with the answers (empty: nothing): a 5xx, an error not in the documented JSON
 *   shape, or an answer holding the password it was sent.
 */
export async function generatedRequestProblems(settings: Env, caller: TestCaller, path: '/token/password' | '/accounts/import', count: number, seed = 9): Promise<string[]> {
  const problems: string[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Rng(seed * 100_003 + i);
    const { headers, body, variant } = headlessBody(rng, path, new URL(idp.origin).host);
    const payload = body === undefined || typeof body === 'string' || body instanceof Uint8Array ? (body ?? null) : body.stream;
    const response = await call(settings, path, { key: caller.key, headers, body: payload });
    const text = await response.text();
    const where = `#${i} ${variant} → ${response.status}`;
    if (response.status >= 500) problems.push(`${where}: ${text.slice(0, 200)}`);
    if (response.status >= 400) {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        problems.push(`${where}: the error is not JSON`);
      }
      if (json && (typeof json.error !== 'string' || typeof json.error_description !== 'string' || Object.keys(json).some((k) => !ERROR_KEYS.has(k)))) {
        problems.push(`${where}: the error is not in the documented shape`);
      }
    }
    const password = typeof body === 'string' ? passwordIn(body) : undefined;
    if (password !== undefined && password.length >= 16 && text.includes(password)) problems.push(`${where}: the answer holds the password`);
  }
  return problems;
}

/** The password of a JSON body, when it has one. */
function passwordIn(body: string): string | undefined {
  try {
    const value = (JSON.parse(body) as { password?: unknown }).password;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
