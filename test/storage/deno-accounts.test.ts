/**
 * DenoKvAccountSessions (functions/deno/kv-account-sessions.ts) as several processes share it: two KV
 * handles on one file, each with its own client (its memory layer, its single-flight) and its own
 * DenoKvLease, against one provider that rotates the refresh token on every use and refuses a replayed
 * one. Deno only.
 */
import { DenoKvCacheStore } from '../../functions/deno/deno-kv-cache-store.ts';
import { DenoKvAccountSessions } from '../../functions/deno/kv-account-sessions.ts';
import { DenoKvLease } from '../../functions/deno/kv-lease.ts';
import type { SessionRef } from '../../functions/sessions.ts';
import { InteractionRequiredError } from '../../lib/errors.ts';
import { assert, assertEquals, assertRejects, denoOnlyTest } from '../lib/spec.ts';
import { jsonResponse } from '../lib/fakes.ts';
import { AUTHORITY, HOME, accountRecord, client } from './accounts.ts';
import { sleep } from './adapters.ts';
import { withKvFile } from './deno-adapters.ts';

/** A token endpoint that rotates the refresh token on every use and refuses any other, as providers that detect reuse do. */
function rotatingProvider(hooks: { beforeAnswer?: () => Promise<void> } = {}) {
  let current = 'rt-0';
  const used: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (request.url.endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: `${AUTHORITY}/v2.0`, authorization_endpoint: `${AUTHORITY}/oauth2/v2.0/authorize`, token_endpoint: `${AUTHORITY}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY}/discovery/v2.0/keys` });
    }
    const body = new URLSearchParams(await request.text());
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await hooks.beforeAnswer?.();
    await sleep(20);
    inFlight--;
    const presented = body.get('refresh_token')!;
    used.push(presented);
    if (presented !== current) return jsonResponse({ error: 'invalid_grant', error_description: 'refresh token already used' }, 400);
    current = `rt-${used.length}`;
    return jsonResponse({ access_token: `at-${used.length}`, token_type: 'Bearer', expires_in: 3600, refresh_token: current, scope: body.get('scope') });
  }) as typeof fetch;
  return { fetch: fetchImpl, used, maxInFlight: () => maxInFlight, revoke: () => (current = 'revoked') };
}

/** One process: its KV handle, cache store, lease and client, and the accounts over them. */
async function startProcess(kv: Deno.Kv, provider: ReturnType<typeof rotatingProvider>): Promise<DenoKvAccountSessions> {
  const app = await client({ cacheStore: new DenoKvCacheStore(kv), fetch: provider.fetch, accountLocks: new DenoKvLease(kv) });
  return new DenoKvAccountSessions(kv, () => Promise.resolve(app));
}

const request = (scope: string) => ({ scopes: [scope], correlationId: crypto.randomUUID() });

denoOnlyTest('DenoKvAccountSessions: 20 callers in two processes make one refresh', () =>
  withKvFile(async (open) => {
    const provider = rotatingProvider();
    const [a, b] = [await startProcess(await open(), provider), await startProcess(await open(), provider)];
    const session: SessionRef = { hid: HOME, sid: await a.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 }), kind: 'browser' };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquireTokenSilent(session, request('api://a/read'))));
    assertEquals(provider.used, ['rt-0']);
    assertEquals(new Set(results.map((r) => r.accessToken)).size, 1);
  }));

denoOnlyTest('DenoKvAccountSessions: refreshes for other scopes in two processes take turns, never replaying a rotated token', () =>
  withKvFile(async (open) => {
    const provider = rotatingProvider();
    const [a, b] = [await startProcess(await open(), provider), await startProcess(await open(), provider)];
    const session: SessionRef = { hid: HOME, sid: await a.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 }), kind: 'browser' };
    await Promise.all([
      a.acquireTokenSilent(session, request('api://a/read')),
      b.acquireTokenSilent(session, request('api://b/read')),
      a.acquireTokenSilent(session, request('api://c/read')),
      b.acquireTokenSilent(session, request('api://d/read')),
    ]);
    assertEquals(provider.used, ['rt-0', 'rt-1', 'rt-2', 'rt-3']);
    assertEquals(provider.maxInFlight(), 1);
    const kv = await open();
    const stored = (await kv.get<{ record: { refreshToken: { secret: string }; accessTokenTargets: string[] } }>(['accounts', HOME, 'record'])).value!;
    assertEquals(stored.record.refreshToken.secret, 'rt-4');
    assertEquals(stored.record.accessTokenTargets.sort(), ['api://a/read', 'api://b/read', 'api://c/read', 'api://d/read']);
  }));

denoOnlyTest('DenoKvAccountSessions: a sign-out in one process while the other refreshes does not bring the account back', () =>
  withKvFile(async (open) => {
    let signOut: Promise<unknown> = Promise.resolve();
    let a!: DenoKvAccountSessions;
    let session!: SessionRef;
    const provider = rotatingProvider({
      beforeAnswer: async () => {
        signOut = a.signOut(session);
        await signOut;
      },
    });
    a = await startProcess(await open(), provider);
    const b = await startProcess(await open(), provider);
    session = { hid: HOME, sid: await a.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 }), kind: 'browser' };
    await b.acquireTokenSilent(session, request('api://a/read'));
    await signOut;
    const kv = await open();
    const left = [];
    for await (const entry of kv.list({ prefix: ['accounts', HOME] })) left.push(entry.key);
    assertEquals(left, []);
    assertEquals(await b.session(session), null);
  }));

denoOnlyTest('DenoKvAccountSessions: a revoked grant ends the sign-in in every process', () =>
  withKvFile(async (open) => {
    const provider = rotatingProvider();
    const [a, b] = [await startProcess(await open(), provider), await startProcess(await open(), provider)];
    const session: SessionRef = { hid: HOME, sid: await a.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 }), kind: 'browser' };
    const key: SessionRef = { hid: HOME, sid: await b.signIn(accountRecord(), { kind: 'device', ttlSeconds: 3600, keyHash: 'key-hash' }), kind: 'device' };
    provider.revoke();
    await assertRejects(() => a.acquireTokenSilent(session, request('api://a/read')), InteractionRequiredError, 'invalid_grant');
    assertEquals(await b.session(key), null);
    await assertRejects(() => b.acquireTokenSilent(key, request('api://a/read')), InteractionRequiredError, 'interaction_required');
  }));

denoOnlyTest('DenoKvAccountSessions: the record lives in KV as long as its longest session', () =>
  withKvFile(async (open) => {
    const kv = await open();
    const accounts = await startProcess(kv, rotatingProvider());
    const before = Date.now();
    await accounts.signIn(accountRecord(), { kind: 'device', ttlSeconds: 90 * 24 * 3600, keyHash: 'long' });
    await accounts.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 });
    const { until } = (await kv.get<{ until: number }>(['accounts', HOME, 'record'])).value!;
    assert(until >= before + 90 * 24 * 3600_000 && until <= Date.now() + 90 * 24 * 3600_000, `until = the key session's expiry (${until})`);
  }));
