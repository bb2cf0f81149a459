/**
 * The device code flow at the edge, inside workerd against the local provider: /device/start and
 * /device/poll, the flow's Durable Object polling the provider on its alarm, and the session key the
 * device receives. Alarms are run on demand (runDurableObjectAlarm) so that each test says exactly when
 * the provider is polled; the pacing test lets real alarms run at a one-second interval.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openFlowHandle } from '../../functions/device-flows.ts';
import { readSessionKey } from '../../functions/session-keys.ts';
import { MAX_SESSIONS_PER_ACCOUNT } from '../../functions/workers/account-object.ts';
import { base64url, open, sha256, utf8, type AccountRecord } from '../../lib/mod.ts';
import { parseWebSettings } from '../../functions/web-settings.ts';
import type { Env } from '../../functions/workers/index.ts';
import { bob, randomClientIp, signInSettings } from './browser-driver.ts';
import { DEVICE_SCOPE, verifyAsUser, type DeviceStarted } from '../support/device-user.ts';
import { atStartOfRateLimitWindow, call, idp, jwtPayload, provider, sleep } from './harness.ts';

async function deviceSettings(overrides: Record<string, string | undefined> = {}): Promise<Env> {
  return signInSettings({ DEVICE_SCOPES: `${DEVICE_SCOPE} api://downstream/write`, ...overrides });
}

function start(worker: Env, json: unknown = { scopes: [DEVICE_SCOPE] }, ip = randomClientIp()): Promise<Response> {
  return call(worker, '/device/start', { key: null, json, headers: { 'cf-connecting-ip': ip } });
}

async function started(worker: Env): Promise<DeviceStarted> {
  const response = await start(worker);
  expect(response.status).toBe(200);
  return (await response.json()) as DeviceStarted;
}

function poll(worker: Env, flowId: unknown): Promise<Response> {
  return call(worker, '/device/poll', { key: null, json: { flow_id: flowId } });
}

async function flowObject(worker: Env, handle: string) {
  const opened = await openFlowHandle(await parseWebSettings(worker), handle);
  if (!opened) throw new Error('not a flow handle');
  return worker.DEVICE_FLOWS.get(worker.DEVICE_FLOWS.idFromName(opened.flowId));
}

/** The flow's Durable Object polls the provider once, now. */
async function providerPollNow(worker: Env, handle: string): Promise<void> {
  expect(await runDurableObjectAlarm(await flowObject(worker, handle))).toBe(true);
}

async function providerPolls(): Promise<number> {
  return (await provider.counts())['token:device_code'] ?? 0;
}

async function deviceSignedIn(worker: Env): Promise<{ flow: DeviceStarted; body: Record<string, unknown> }> {
  const flow = await started(worker);
  await verifyAsUser(flow.verification_uri, flow.user_code);
  await providerPollNow(worker, flow.flow_id);
  const response = await poll(worker, flow.flow_id);
  expect(response.status).toBe(200);
  return { flow, body: (await response.json()) as Record<string, unknown> };
}

async function setDeviceInterval(seconds: number): Promise<void> {
  await fetch(`${idp.origin}/_control/device-interval`, { method: 'POST', body: JSON.stringify({ interval: seconds }), headers: { 'content-type': 'application/json' } });
}

beforeEach(async () => {
  // Not freshSignInState(): evicting a flow object that has just validated an ID token waits out jose's
  // key-set fetch timer (10 s). Each test starts its own flow; the provider's counters and faults reset.
  await provider.reset();
  // Long enough that no real alarm polls during the run, this test's or an earlier one's: the tests run
  // them (see the pacing test for real ones).
  await setDeviceInterval(600);
});

afterEach(async () => {
  await setDeviceInterval(5);
});

describe('POST /device/start', () => {
  test('answers what the device shows the user and an opaque flow_id; the device code is not in it', async () => {
    const response = await start(await deviceSettings());
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as DeviceStarted & Record<string, unknown>;
    expect(body.verification_uri).toBe(`${idp.authority}/devicelogin`);
    expect(body.message).toContain(body.user_code);
    expect(body.interval).toBe(600);
    expect(body.expires_in).toBeGreaterThan(800);
    expect(Object.keys(body).sort()).toEqual(['expires_in', 'flow_id', 'interval', 'message', 'user_code', 'verification_uri'].sort());
    expect(JSON.stringify(body)).not.toMatch(/device_code/);
    expect(await providerPolls()).toBe(0);
  });

  test('scopes outside DEVICE_SCOPES are refused before the provider is asked', async () => {
    const response = await start(await deviceSettings(), { scopes: ['api://other/.default'] });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_scope');
    expect((await provider.counts()).devicecode ?? 0).toBe(0);
  });

  test('without DEVICE_SCOPES the device code flow is not offered: 404', async () => {
    const response = await start(await deviceSettings({ DEVICE_SCOPES: undefined }));
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe('not_found');
  });

  test('bad input is a 400 invalid_request', async () => {
    const worker = await deviceSettings();
    for (const json of [{}, { scopes: 42 }, { scopes: [] }, { scopes: [DEVICE_SCOPE], claims: '[1]' }]) {
      const response = await start(worker, json);
      expect(response.status, JSON.stringify(json)).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    }
    expect((await call(worker, '/device/start', { key: null, method: 'GET' })).status).toBe(405);
  });

  test('is rate limited per client address: the 61st start in a minute is 429 with Retry-After', async () => {
    const worker = await deviceSettings();
    const ip = randomClientIp();
    await atStartOfRateLimitWindow(20_000);
    for (let i = 0; i < 60; i++) expect((await start(worker, undefined, ip)).status).toBe(200);
    const limited = await start(worker, undefined, ip);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect((await start(worker, undefined, randomClientIp())).status).toBe(200);
  });
});

describe('POST /device/poll', () => {
  test('while the user has not finished: 202 authorization_pending with Retry-After, and no provider call', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    const response = await poll(worker, flow.flow_id);
    expect(response.status).toBe(202);
    expect(response.headers.get('retry-after')).toBe('600');
    const body = (await response.json()) as Record<string, string>;
    expect(body.error).toBe('authorization_pending');
    expect(body.correlation_id).toBeTruthy();
    expect(await providerPolls()).toBe(0);
  });

  test('polling again sooner than the interval is 400 slow_down, without a provider call', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    expect((await poll(worker, flow.flow_id)).status).toBe(202);
    const response = await poll(worker, flow.flow_id);
    expect(response.status).toBe(400);
    expect(response.headers.get('retry-after')).toBe('600');
    expect(((await response.json()) as { error: string }).error).toBe('slow_down');
    expect(await providerPolls()).toBe(0);
  });

  test('the whole flow: the user verifies at the provider, the object polls once, the device gets its token, account and session key once', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    await providerPollNow(worker, flow.flow_id);
    expect((await poll(worker, flow.flow_id)).status).toBe(202);
    const page = await verifyAsUser(flow.verification_uri, flow.user_code);
    expect(page.html).toMatch(/Sign-in Success/i);
    await providerPollNow(worker, flow.flow_id);
    expect(await providerPolls()).toBe(2);

    const response = await poll(worker, flow.flow_id);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; scope: string; account: { username: string; tenantId: string }; session_key: string; session_expires_in: number };
    expect(body.account.username).toBe('alice@contoso.test');
    expect(body.account.tenantId).toBe(idp.tenants.primary);
    expect(body.scope).toBe(DEVICE_SCOPE);
    expect(jwtPayload(body.access_token).aud).toBe('api://downstream');
    expect(body.session_key).toMatch(/^etfsk_/);
    expect(body.session_expires_in).toBe(90 * 24 * 3600);

    const again = await poll(worker, flow.flow_id);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
  });

  test("the provider's slow_down widens the object's interval by 5 seconds", async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    await provider.fault({ endpoint: 'token:device_code', kind: 'slow_down' });
    const before = Date.now();
    await providerPollNow(worker, flow.flow_id);
    const alarm = await runInDurableObject(await flowObject(worker, flow.flow_id), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before + 605_000);
    const response = await poll(worker, flow.flow_id);
    expect(response.status).toBe(202);
    expect(response.headers.get('retry-after')).toBe('605');
  });

  test('a flow the user declines is 400 access_denied, from then on', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    await verifyAsUser(flow.verification_uri, flow.user_code, 'abort');
    await providerPollNow(worker, flow.flow_id);
    for (let i = 0; i < 2; i++) {
      const response = await poll(worker, flow.flow_id);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('access_denied');
    }
    // The object stops polling: its only alarm left is the one that forgets the flow.
    const polls = await providerPolls();
    await providerPollNow(worker, flow.flow_id);
    expect(await providerPolls()).toBe(polls);
  });

  test("the provider's expired_token ends the flow: 400 expired_token", async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    await provider.fault({ endpoint: 'token:device_code', kind: 'expired_token' });
    await providerPollNow(worker, flow.flow_id);
    const response = await poll(worker, flow.flow_id);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('expired_token');
  });

  test('a flow past its expiry is expired_token without another provider poll', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    const object = await flowObject(worker, flow.flow_id);
    await runInDurableObject(object, async (_instance, state) => {
      const stored = (await state.storage.get<{ expiresAt: number }>('flow'))!;
      await state.storage.put('flow', { ...stored, expiresAt: Date.now() - 1 });
    });
    const response = await poll(worker, flow.flow_id);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('expired_token');
    await providerPollNow(worker, flow.flow_id);
    expect(await providerPolls()).toBe(0);
    expect(((await (await poll(worker, flow.flow_id)).json()) as { error: string }).error).toBe('expired_token');
    // Its next alarm forgets it: nothing of the flow (the device code) stays behind.
    await providerPollNow(worker, flow.flow_id);
    expect(await runInDurableObject(object, async (_instance, state) => (await state.storage.list()).size)).toBe(0);
    expect(((await (await poll(worker, flow.flow_id)).json()) as { error: string }).error).toBe('invalid_grant');
  });

  test('a provider failure is tried again at the next interval, not the end of the flow', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    await provider.fault({ endpoint: 'token:device_code', kind: '503' });
    await providerPollNow(worker, flow.flow_id);
    expect((await poll(worker, flow.flow_id)).status).toBe(202);
    await verifyAsUser(flow.verification_uri, flow.user_code);
    await providerPollNow(worker, flow.flow_id);
    expect((await poll(worker, flow.flow_id)).status).toBe(200);
  });

  test('unknown, altered and malformed flow handles are 400, and never reach storage', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    const altered = flow.flow_id.slice(0, -2) + (flow.flow_id.endsWith('AA') ? 'BB' : 'AA');
    for (const handle of [altered, 'v1.AAAA', 'x'.repeat(5000), flow.flow_id + 'x']) {
      const response = await poll(worker, handle);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
    }
    for (const json of [{}, { flow_id: 42 }, { flow_id: '' }]) {
      const response = await call(worker, '/device/poll', { key: null, json });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    }
  });

  test('an address presenting refused handles is stopped: the 61st in a minute is 429', async () => {
    const worker = await deviceSettings();
    const ip = randomClientIp();
    const refused = (handle: string) => call(worker, '/device/poll', { key: null, json: { flow_id: handle }, headers: { 'cf-connecting-ip': ip } });
    await atStartOfRateLimitWindow(20_000);
    for (let i = 0; i < 60; i++) expect((await refused(`v1.${crypto.randomUUID()}`)).status).toBe(400);
    const limited = await refused(`v1.${crypto.randomUUID()}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
  });

  test('a handle of another deployment (another SESSION_KEY) is not a handle here', async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    const other = await deviceSettings({ SESSION_KEY: crypto.randomUUID() + crypto.randomUUID() });
    const response = await poll(other, flow.flow_id);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
  });

  test('20 devices polling one flow: the provider sees at most one poll per interval', async () => {
    await setDeviceInterval(1);
    const worker = await deviceSettings();
    const flow = await started(worker);
    const began = Date.now();
    const answers: number[] = [];
    const device = async () => {
      while (Date.now() - began < 3_500) {
        answers.push((await poll(worker, flow.flow_id)).status);
        await sleep(100);
      }
    };
    await Promise.all(Array.from({ length: 20 }, device));
    const seconds = (Date.now() - began) / 1000;
    const polls = await providerPolls();
    expect(polls).toBeGreaterThanOrEqual(1);
    expect(polls).toBeLessThanOrEqual(Math.floor(seconds) + 1);
    // The devices were answered all along, mostly told to slow down: at most one 202 per interval (less
    // the tenth of it allowed for network jitter).
    expect(answers.length).toBeGreaterThan(200);
    expect(answers.filter((s) => s === 202).length).toBeLessThanOrEqual(Math.floor(seconds / 0.9) + 1);
    expect(answers.every((s) => s === 202 || s === 400)).toBe(true);
    // Nobody completes this flow: stop its object polling every second, or later tests would count its polls.
    await runInDurableObject(await flowObject(worker, flow.flow_id), async (_instance, state) => {
      await state.storage.deleteAlarm();
      await state.storage.deleteAll();
    });
  });
});

describe('session keys', () => {
  test('a session key gets silent tokens at /auth/token, without cookie, Origin or CSRF header', async () => {
    const worker = await deviceSettings();
    const { body } = await deviceSignedIn(worker);
    const polls = await provider.counts();
    const response = await call(worker, '/auth/token', { key: body.session_key as string, json: { scopes: [DEVICE_SCOPE] } });
    expect(response.status).toBe(200);
    const token = (await response.json()) as { access_token: string; token_source: string };
    expect(token.token_source).toBe('cache');
    expect(jwtPayload(token.access_token).preferred_username ?? jwtPayload(token.access_token).sub).toBeTruthy();
    expect(await provider.counts()).toEqual(polls);
  });

  test('a session key names its account at /auth/me', async () => {
    const worker = await deviceSettings();
    const { body } = await deviceSignedIn(worker);
    const response = await call(worker, '/auth/me', { key: body.session_key as string, method: 'GET' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { account: { username: string } }).account.username).toBe('alice@contoso.test');
  });

  test('POST /auth/logout with the key ends that session: the key is refused afterwards', async () => {
    const worker = await deviceSettings();
    const { body } = await deviceSignedIn(worker);
    const key = body.session_key as string;
    const out = await call(worker, '/auth/logout', { key });
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ signed_out: true });
    const token = await call(worker, '/auth/token', { key, json: { scopes: [DEVICE_SCOPE] } });
    expect(token.status).toBe(401);
    expect(((await token.json()) as { error: string }).error).toBe('interaction_required');
    expect((await call(worker, '/auth/logout', { key })).status).toBe(401);
  });

  test('ending one device session leaves the account\'s other sessions signed in', async () => {
    const worker = await deviceSettings();
    const first = (await deviceSignedIn(worker)).body.session_key as string;
    const second = (await deviceSignedIn(worker)).body.session_key as string;
    expect((await call(worker, '/auth/logout', { key: first })).status).toBe(200);
    expect((await call(worker, '/auth/token', { key: second, json: { scopes: [DEVICE_SCOPE] } })).status).toBe(200);
  });

  test('an altered, forged or foreign key is 401 invalid_token with a Bearer challenge', async () => {
    const worker = await deviceSettings();
    const { body } = await deviceSignedIn(worker);
    const key = body.session_key as string;
    const altered = key.slice(0, -3) + (key.endsWith('AAA') ? 'BBB' : 'AAA');
    for (const bad of [altered, 'etfsk_v1.AAAA', 'not-a-key', `${key}x`]) {
      const response = await call(worker, '/auth/token', { key: bad, json: { scopes: [DEVICE_SCOPE] } });
      expect(response.status, bad.slice(0, 12)).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_token');
      expect(response.headers.get('www-authenticate')).toMatch(/invalid_token/);
    }
    const foreign = await deviceSettings({ SESSION_KEY: crypto.randomUUID() + crypto.randomUUID() });
    expect((await call(foreign, '/auth/me', { key, method: 'GET' })).status).toBe(401);
  });

  test('the account keeps only a hash of the key, with DEVICE_SESSION_TTL as its lifetime', async () => {
    const worker = await deviceSettings({ DEVICE_SESSION_TTL: '3600' });
    const before = Date.now();
    const { body } = await deviceSignedIn(worker);
    expect(body.session_expires_in).toBe(3600);
    const key = body.session_key as string;
    const web = await parseWebSettings(worker);
    const secret = (JSON.parse((await open(web.sessionKey, 'session-key/v1', key.slice('etfsk_'.length)))!) as { s: string }).s;
    const session = (await readSessionKey(web, key))!;
    expect(session.sid).toBe(base64url(await sha256(utf8(secret))));
    const account = body.account as { homeAccountId: string };
    const stored = await runInDurableObject(env.ACCOUNTS.get(env.ACCOUNTS.idFromName(account.homeAccountId)), async (_i, state) => [...(await state.storage.list())]);
    const expiry = stored.find(([k]) => k === `device:${session.sid}`)?.[1] as number;
    expect(expiry).toBeGreaterThanOrEqual(before + 3600_000);
    expect(expiry).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  test('an account keeps at most 10 session keys: more sign-ins end the oldest key, never a browser session', async () => {
    const worker = await deviceSettings();
    const { body } = await deviceSignedIn(worker);
    const oldest = body.session_key as string;
    const hid = (body.account as { homeAccountId: string }).homeAccountId;
    const account = env.ACCOUNTS.get(env.ACCOUNTS.idFromName(hid));
    const { browser, devices } = await runInDurableObject(account, async (instance, state) => {
      const record = (await state.storage.get<AccountRecord>('account'))!;
      const sid = await instance.signIn(record, { kind: 'browser', ttlSeconds: 3600 });
      // Each later than the last, so the earliest expiry is the oldest.
      for (let i = 1; i <= MAX_SESSIONS_PER_ACCOUNT; i++) await instance.signIn(record, { kind: 'device', ttlSeconds: 90 * 24 * 3600 + i, keyHash: `hash-${i}` });
      const browserView = await instance.session({ hid, sid, kind: 'browser' });
      return { browser: browserView !== null, devices: (await state.storage.list({ prefix: 'device:' })).size };
    });
    expect(devices).toBe(MAX_SESSIONS_PER_ACCOUNT);
    expect(browser).toBe(true);
    expect((await call(worker, '/auth/me', { key: oldest, method: 'GET' })).status).toBe(401);
  });

  test('scopes for a session key stay within the app\'s allow-list (SPA_SCOPES)', async () => {
    const worker = await deviceSettings();
    const { body } = await deviceSignedIn(worker);
    const response = await call(worker, '/auth/token', { key: body.session_key as string, json: { scopes: ['api://other/.default'] } });
    expect(response.status).toBe(403);
  });

  test("a user of the flow is whoever verified: bob's verification gives bob's key", async () => {
    const worker = await deviceSettings();
    const flow = await started(worker);
    await verifyAsUser(flow.verification_uri, flow.user_code, 'confirm', bob);
    await providerPollNow(worker, flow.flow_id);
    const body = (await (await poll(worker, flow.flow_id)).json()) as { session_key: string };
    const me = (await (await call(worker, '/auth/me', { key: body.session_key, method: 'GET' })).json()) as { account: { username: string } };
    expect(me.account.username).toBe('bob@contoso.test');
  });
});
