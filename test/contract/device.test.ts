/**
 * The device code flow: POST /device/start, POST /device/poll. The device holds an opaque handle, never the
 * device code; the provider is polled at the flow's interval however many devices poll, and the signed-in
 * device gets its token, account and session key once. Where a test needs the provider polled, the device
 * waits the interval and polls again, as a device does.
 */
import { app, idp, provider, randomKey, type App, type Overrides } from './target.ts';
import { alice, bob, randomClientIp, type User } from './browser.ts';
import { DEVICE_SCOPE, verifyAsUser, type DeviceStarted } from '../support/device-user.ts';
import { assert, assertEquals, assertError, assertMatch, atStartOfRateLimitWindow, json, jwtPayload, send, sleep, test } from './suite.ts';

interface SignedIn {
  access_token: string;
  scope: string;
  account: { username: string; tenantId: string };
  session_key: string;
  session_expires_in: number;
}

function deviceApp(overrides: Overrides = {}): Promise<App> {
  return app({ DEVICE_SCOPES: `${DEVICE_SCOPE} api://downstream/write`, ...overrides });
}

/** A device: its own client address. */
function device(deployment: App, ip = randomClientIp()) {
  return {
    start: (body: unknown = { scopes: [DEVICE_SCOPE] }) => send(deployment, '/device/start', { json: body, headers: { 'cf-connecting-ip': ip } }),
    poll: (flowId: unknown) => send(deployment, '/device/poll', { json: { flow_id: flowId }, headers: { 'cf-connecting-ip': ip } }),
  };
}

async function started(deployment: App): Promise<DeviceStarted> {
  const response = await device(deployment).start();
  assertEquals(response.status, 200, 'POST /device/start');
  return json<DeviceStarted>(response);
}

/**
 * Polls as a well-behaved device (waiting the Retry-After of each answer) while the flow is pending.
 * @returns the first answer that is not 202 / slow_down.
 */
async function pollUntilOver(deployment: App, flow: DeviceStarted, deadlineMs = 20_000): Promise<Response> {
  const poller = device(deployment);
  const until = Date.now() + deadlineMs;
  let wait = flow.interval;
  while (Date.now() < until) {
    await sleep(wait * 1000 + 150);
    const response = await poller.poll(flow.flow_id);
    if (response.status !== 202 && !(response.status === 400 && response.headers.get('retry-after'))) return response;
    wait = Number(response.headers.get('retry-after') ?? flow.interval);
    await response.body?.cancel();
  }
  throw new Error('the device flow was still pending at the deadline');
}

const providerPolls = () => provider.count('token:device_code');

/** A device signed in as the user who verified the code (alice by default). */
async function deviceSignedIn(deployment: App, user: User = alice): Promise<SignedIn> {
  await provider.deviceInterval(1);
  const flow = await started(deployment);
  await verifyAsUser(flow.verification_uri, flow.user_code, 'confirm', user);
  const response = await pollUntilOver(deployment, flow);
  assertEquals(response.status, 200, 'signed in');
  return json<SignedIn>(response);
}

test('POST /device/start answers what the device shows the user and an opaque flow_id, never the device code', async () => {
  await provider.deviceInterval(600);
  const response = await device(await deviceApp()).start();
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('cache-control'), 'no-store');
  const body = await json<DeviceStarted & Record<string, unknown>>(response);
  assertEquals(Object.keys(body).sort(), ['expires_in', 'flow_id', 'interval', 'message', 'user_code', 'verification_uri']);
  assertEquals(body.verification_uri, `${idp.authority}/devicelogin`);
  assert(body.message.includes(body.user_code), 'the message names the code');
  assertEquals(body.interval, 600);
  assert(body.expires_in > 800, 'expires_in');
  assert(!JSON.stringify(body).includes('device_code'), 'no device code');
  assertEquals(await providerPolls(), 0);
});

test('POST /device/start for scopes outside DEVICE_SCOPES is 403 invalid_scope, before the provider is asked', async () => {
  await assertError(await device(await deviceApp()).start({ scopes: ['api://other/.default'] }), 403, 'invalid_scope');
  assertEquals(await provider.count('devicecode'), 0);
});

test('without DEVICE_SCOPES the device code flow is not offered: POST /device/start is 404 not_found', async () => {
  await assertError(await device(await deviceApp({ DEVICE_SCOPES: undefined })).start(), 404, 'not_found');
  assertEquals(await provider.count('devicecode'), 0);
});

test('POST /device/start with bad input is 400 invalid_request; other methods are 405', async () => {
  const deployment = await deviceApp();
  for (const body of [{}, { scopes: 42 }, { scopes: [] }, { scopes: [DEVICE_SCOPE], claims: '[1]' }]) await assertError(await device(deployment).start(body), 400, 'invalid_request');
  const get = await send(deployment, '/device/start', { method: 'GET' });
  await assertError(get, 405, 'method_not_allowed');
  assertEquals(get.headers.get('allow'), 'POST');
});

test('POST /device/start: the 61st start from one client address within a minute is 429 with Retry-After; another address is unaffected', async () => {
  await provider.deviceInterval(600);
  const deployment = await deviceApp();
  const one = device(deployment);
  await atStartOfRateLimitWindow(10_000);
  for (let i = 0; i < 60; i++) assertEquals((await one.start()).status, 200, `start #${i + 1}`);
  const limited = await one.start();
  await assertError(limited, 429, 'rate_limited');
  assertEquals(limited.headers.get('retry-after'), '60');
  assertEquals((await device(deployment).start()).status, 200);
});

test('POST /device/poll while the user has not finished is 202 authorization_pending with Retry-After, and no provider poll is due yet', async () => {
  await provider.deviceInterval(600);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  const response = await device(deployment).poll(flow.flow_id);
  assertEquals(response.status, 202);
  assertEquals(response.headers.get('retry-after'), '600');
  assertEquals((await json(response)).error, 'authorization_pending');
  assertEquals(await providerPolls(), 0);
});

test('POST /device/poll sooner than the interval is 400 slow_down with Retry-After, and the provider is not polled', async () => {
  await provider.deviceInterval(600);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  assertEquals((await device(deployment).poll(flow.flow_id)).status, 202);
  const response = await device(deployment).poll(flow.flow_id);
  await assertError(response, 400, 'slow_down');
  assertEquals(response.headers.get('retry-after'), '600');
  assertEquals(await providerPolls(), 0);
});

test('20 devices polling one flow: the provider sees at most one poll per interval, the devices are told to slow down', async () => {
  await provider.deviceInterval(1);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  const began = Date.now();
  const answers: number[] = [];
  const one = async () => {
    const poller = device(deployment);
    while (Date.now() - began < 3_500) {
      const response = await poller.poll(flow.flow_id);
      answers.push(response.status);
      await response.body?.cancel();
      await sleep(100);
    }
  };
  await Promise.all(Array.from({ length: 20 }, one));
  const seconds = (Date.now() - began) / 1000;
  const polls = await providerPolls();
  assert(polls >= 1 && polls <= Math.floor(seconds) + 1, `${polls} provider polls in ${seconds} s`);
  assert(answers.length > 200, `${answers.length} answers`);
  assert(answers.every((s) => s === 202 || s === 400), `only pending and slow_down: ${[...new Set(answers)].join(', ')}`);
  assert(answers.filter((s) => s === 202).length <= Math.floor(seconds / 0.9) + 1, 'at most one pending answer per interval');
  // The user finishes: the flow ends (and stops polling).
  await verifyAsUser(flow.verification_uri, flow.user_code);
  assertEquals((await pollUntilOver(deployment, flow)).status, 200);
});

test('the whole device flow: the user verifies at the provider, the device gets its token, account and session key — once', async () => {
  await provider.deviceInterval(1);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  assertEquals((await device(deployment).poll(flow.flow_id)).status, 202);
  const page = await verifyAsUser(flow.verification_uri, flow.user_code);
  assertMatch(page.html, /Sign-in Success/i);
  const response = await pollUntilOver(deployment, flow);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('cache-control'), 'no-store');
  const body = await json<SignedIn>(response);
  assertEquals([body.account.username, body.account.tenantId, body.scope], ['alice@contoso.test', idp.tenants.primary, DEVICE_SCOPE]);
  assertEquals(jwtPayload(body.access_token).aud, 'api://downstream');
  assertMatch(body.session_key, /^etfsk_/);
  assertEquals(body.session_expires_in, 90 * 24 * 3600);
  await assertError(await device(deployment).poll(flow.flow_id), 400, 'invalid_grant');
});

test("the device's session key is the account's: GET /auth/me names whoever verified the code", async () => {
  const deployment = await deviceApp();
  const { session_key: key } = await deviceSignedIn(deployment, bob);
  const me = await send(deployment, '/auth/me', { method: 'GET', bearer: key });
  assertEquals(me.status, 200);
  assertEquals((await json<{ account: { username: string } }>(me)).account.username, bob.username);
});

test('a flow the user declines at the provider is 400 access_denied, from then on', async () => {
  await provider.deviceInterval(1);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  await verifyAsUser(flow.verification_uri, flow.user_code, 'abort');
  await assertError(await pollUntilOver(deployment, flow), 400, 'access_denied');
  await sleep(1100);
  await assertError(await device(deployment).poll(flow.flow_id), 400, 'access_denied');
});

test("the provider's expired_token ends the flow: 400 expired_token", async () => {
  await provider.deviceInterval(1);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  await provider.fault({ endpoint: 'token:device_code', kind: 'expired_token' });
  await assertError(await pollUntilOver(deployment, flow), 400, 'expired_token');
});

test('a provider failure while polling is tried again at the next interval, not the end of the flow', async () => {
  await provider.deviceInterval(1);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  await provider.fault({ endpoint: 'token:device_code', kind: '503' });
  const poller = device(deployment);
  // Until the provider has been polled (and failed), the device is told to wait.
  for (let i = 0; i < 20 && (await providerPolls()) === 0; i++) {
    await sleep(1150);
    assertEquals((await poller.poll(flow.flow_id)).status, 202);
  }
  assert((await providerPolls()) >= 1, 'the provider was polled');
  await verifyAsUser(flow.verification_uri, flow.user_code);
  assertEquals((await pollUntilOver(deployment, flow)).status, 200);
});

test("the provider's slow_down widens the flow's interval by 5 seconds: devices are told to wait that long", async () => {
  await provider.deviceInterval(1);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  await provider.fault({ endpoint: 'token:device_code', kind: 'slow_down' });
  const poller = device(deployment);
  let retryAfter = '1';
  for (let i = 0; i < 10 && retryAfter !== '6'; i++) {
    await sleep(Number(retryAfter) * 1000 + 150);
    const response = await poller.poll(flow.flow_id);
    assert(response.status === 202 || response.status === 400, `pending or slow_down, not ${response.status}`);
    retryAfter = response.headers.get('retry-after') ?? '';
    await response.body?.cancel();
  }
  assertEquals(retryAfter, '6');
  assertEquals(await providerPolls(), 1);
  // The flow goes on at the wider interval.
  await verifyAsUser(flow.verification_uri, flow.user_code);
  assertEquals((await pollUntilOver(deployment, { ...flow, interval: 6 })).status, 200);
});

test('POST /device/poll with an unknown, altered or malformed flow_id is 400 invalid_grant; without a string flow_id 400 invalid_request', async () => {
  await provider.deviceInterval(600);
  const deployment = await deviceApp();
  const flow = await started(deployment);
  const poller = device(deployment);
  const altered = flow.flow_id.slice(0, -2) + (flow.flow_id.endsWith('AA') ? 'BB' : 'AA');
  for (const handle of [altered, 'v1.AAAA', 'x'.repeat(5000), `${flow.flow_id}x`]) await assertError(await poller.poll(handle), 400, 'invalid_grant');
  for (const flowId of [undefined, 42, '']) await assertError(await poller.poll(flowId), 400, 'invalid_request');
  assertEquals(await providerPolls(), 0);
});

test("POST /device/poll with another deployment's handle (another SESSION_KEY) is 400 invalid_grant", async () => {
  await provider.deviceInterval(600);
  const flow = await started(await deviceApp());
  await assertError(await device(await deviceApp({ SESSION_KEY: randomKey() })).poll(flow.flow_id), 400, 'invalid_grant');
});

test('POST /device/poll: an address presenting refused handles is stopped, the 61st within a minute is 429', async () => {
  const poller = device(await deviceApp());
  await atStartOfRateLimitWindow(10_000);
  for (let i = 0; i < 60; i++) assertEquals((await poller.poll(`v1.${crypto.randomUUID()}`)).status, 400, `refused #${i + 1}`);
  const limited = await poller.poll(`v1.${crypto.randomUUID()}`);
  await assertError(limited, 429, 'rate_limited');
  assertEquals(limited.headers.get('retry-after'), '60');
});
