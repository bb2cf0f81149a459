/**
 * The device code flow against a fake provider, with a fake clock and an injected sleep: the flow object,
 * one poll step (pending, slow_down, done, the errors that end it), and the MSAL-style polling loop.
 */
import * as jose from 'jose';
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { InteractionRequiredError, ServerError, ThrottlingError } from '../../lib/errors.ts';
import { acquireTokenByDeviceFlow, initiateDeviceFlow, pollDeviceFlow, type DeviceCodeFlow } from '../../lib/flows/device-code.ts';
import { jsonResponse } from './fakes.ts';
import { clientContext } from './client-context.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;
const ISSUER = `${AUTHORITY}/v2.0`;
const CLIENT_ID = 'web-app';
const CLIENT_INFO = btoa(JSON.stringify({ uid: 'oid-1', utid: TENANT })).replace(/=+$/, '');
const DEVICE_ANSWER = { user_code: 'ABCD-EFGH', device_code: 'dc-1', verification_uri: 'https://microsoft.com/devicelogin', expires_in: 900, interval: 5 };

const pending = () => jsonResponse({ error: 'authorization_pending', error_description: 'AADSTS70016: pending', error_codes: [70016] }, 400);
const slowDown = () => jsonResponse({ error: 'slow_down', error_description: 'AADSTS70016: slow down', error_codes: [70016] }, 400);
const providerError = (error: string, code: number) => () => jsonResponse({ error, error_description: `AADSTS${code}: ${error}`, error_codes: [code] }, 400);

/** A provider whose devicecode endpoint answers DEVICE_ANSWER and whose token endpoint answers `polls` in turn (the last repeats). */
async function setup(polls: ((tokens: () => Response) => Response)[], deviceAnswer: unknown = DEVICE_ANSWER) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const idToken = await new jose.SignJWT({ sub: 'sub-1', oid: 'oid-1', tid: TENANT, preferred_username: 'alice@contoso.test', name: 'Alice' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(CLIENT_ID)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  const tokens = () => jsonResponse({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, scope: 'api://a/read', refresh_token: 'rt-1', id_token: idToken, client_info: CLIENT_INFO });
  const sent: { url: string; body: URLSearchParams }[] = [];
  let tokenCalls = 0;
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = request.url;
    if (url.endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: ISSUER, token_endpoint: `${AUTHORITY}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY}/discovery/v2.0/keys` });
    }
    if (url.endsWith('/keys')) return jsonResponse({ keys: [jwk] });
    sent.push({ url, body: new URLSearchParams(await request.text()) });
    if (url.endsWith('/devicecode')) return jsonResponse(deviceAnswer);
    return polls[Math.min(tokenCalls++, polls.length - 1)]!(tokens);
  }) as typeof globalThis.fetch;
  const clock = { now: Date.now() };
  const { ctx, store } = await clientContext({ AUTHORITY, CLIENT_ID }, fetch, clock);
  const waits: number[] = [];
  /** The injected sleep: no real waiting, the clock moves instead. */
  const sleep = (ms: number) => {
    waits.push(ms);
    clock.now += ms;
    return Promise.resolve();
  };
  return { ctx, clock, sent, store, waits, sleep, polls: () => sent.filter((s) => s.url.endsWith('/token')).length };
}

test('initiateDeviceFlow asks Entra\'s /devicecode for the scopes and returns the flow', async () => {
  const { ctx, clock, sent } = await setup([pending]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  assertEquals(sent[0]!.url, `${AUTHORITY}/oauth2/v2.0/devicecode`);
  assertEquals(sent[0]!.body.get('scope'), 'api://a/read openid profile offline_access');
  assertEquals(flow, {
    deviceCode: 'dc-1',
    userCode: 'ABCD-EFGH',
    verificationUri: 'https://microsoft.com/devicelogin',
    message: 'To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.',
    interval: 5,
    expiresAt: clock.now + 900_000,
    scopes: ['api://a/read'],
  });
});

test('initiateDeviceFlow keeps the provider\'s message and verification_uri_complete', async () => {
  const { ctx } = await setup([pending], { ...DEVICE_ANSWER, message: 'Go there.', verification_uri_complete: 'https://x/?code=ABCD' });
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  assertEquals(flow.message, 'Go there.');
  assertEquals(flow.verificationUriComplete, 'https://x/?code=ABCD');
});

test('initiateDeviceFlow refuses a provider error as a ServerError', async () => {
  const { ctx } = await setup([pending], undefined);
  ctx.deps.fetch = (async () => jsonResponse({ error: 'invalid_scope', error_description: 'AADSTS70011' }, 400)) as typeof fetch;
  await assertRejects(() => initiateDeviceFlow(ctx, { scopes: ['api://a/read'] }), ServerError, 'invalid_scope');
});

test('pollDeviceFlow: authorization_pending and slow_down are statuses, neither thrown, interaction-required nor throttled', async () => {
  const { ctx, polls } = await setup([pending, slowDown, pending]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  assertEquals(await pollDeviceFlow(ctx, flow), { status: 'pending' });
  assertEquals(await pollDeviceFlow(ctx, flow), { status: 'slow_down' });
  assertEquals(await pollDeviceFlow(ctx, flow), { status: 'pending' });
  assertEquals(polls(), 3);
});

test('pollDeviceFlow sends the device code grant with the flow\'s scopes', async () => {
  const { ctx, sent } = await setup([pending]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  await pollDeviceFlow(ctx, flow);
  const body = Object.fromEntries(sent[1]!.body);
  assertEquals(body.grant_type, 'urn:ietf:params:oauth:grant-type:device_code');
  assertEquals(body.device_code, 'dc-1');
  assertEquals(body.scope, 'api://a/read openid profile offline_access');
  assertEquals(body.client_info, '1');
});

test('pollDeviceFlow done: the result, the account and the account record as a sign-in builds them; the token is cached', async () => {
  const { ctx, store } = await setup([(t) => t()]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  const poll = await pollDeviceFlow(ctx, flow, 'corr-d');
  assert(poll.status === 'done');
  assertEquals(poll.result.accessToken, 'at-1');
  assertEquals(poll.result.tokenSource, 'identity_provider');
  assertEquals(poll.result.account, {
    homeAccountId: `oid-1.${TENANT}`,
    environment: 'login.microsoftonline.com',
    tenantId: TENANT,
    username: 'alice@contoso.test',
    localAccountId: 'oid-1',
    name: 'Alice',
  });
  assertEquals(poll.record.account.home_account_id, `oid-1.${TENANT}`);
  assertEquals(poll.record.refreshToken?.secret, 'rt-1');
  assertEquals(poll.record.idTokenClaims.preferred_username, 'alice@contoso.test');
  assertEquals(poll.record.accessTokenTargets, ['api://a/read']);
  assertEquals(store.puts, 1);
});

test('pollDeviceFlow throws the errors that end the flow as ServerErrors; Entra\'s authorization_declined is access_denied', async () => {
  for (const [answer, code] of [
    [providerError('expired_token', 70019), 'expired_token'],
    [providerError('authorization_declined', 70020), 'access_denied'],
    [providerError('access_denied', 70020), 'access_denied'],
    [providerError('bad_verification_code', 70021), 'bad_verification_code'],
  ] as const) {
    const { ctx } = await setup([answer]);
    const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
    const error = await assertRejects(() => pollDeviceFlow(ctx, flow), ServerError, code);
    assert(!(error instanceof InteractionRequiredError), code);
    assertEquals(error.providerStatus, 400);
    assert(error.errorCodes !== undefined && error.errorCodes.length === 1, code);
  }
});

test('pollDeviceFlow does not poll an expired flow', async () => {
  const { ctx, clock, polls } = await setup([pending]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  clock.now = flow.expiresAt;
  await assertRejects(() => pollDeviceFlow(ctx, flow), ServerError, 'expired_token');
  assertEquals(polls(), 0);
});

test('pollDeviceFlow: a redeemed device code (invalid_grant) needs the user back', async () => {
  const { ctx } = await setup([providerError('invalid_grant', 70000)]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  await assertRejects(() => pollDeviceFlow(ctx, flow), InteractionRequiredError, 'invalid_grant');
});

test('pollDeviceFlow: a throttled poll (Retry-After) blocks that device code only, and a 429 slow_down is a slow_down', async () => {
  const throttled = () => jsonResponse({ error: 'temporarily_unavailable', error_description: 'AADSTS90055' }, 429, { 'retry-after': '30' });
  const { ctx, polls } = await setup([throttled, pending]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  await assertRejects(() => pollDeviceFlow(ctx, flow), ServerError, 'temporarily_unavailable');
  // Replayed from the throttling cache without a provider call.
  await assertRejects(() => pollDeviceFlow(ctx, flow), ThrottlingError, 'temporarily_unavailable');
  assertEquals(polls(), 1);
  const other: DeviceCodeFlow = { ...flow, deviceCode: 'dc-2' };
  assertEquals(await pollDeviceFlow(ctx, other), { status: 'pending' });
  assertEquals(polls(), 2);

  const slowWithRetryAfter = () => jsonResponse({ error: 'slow_down', error_description: 'x' }, 400, { 'retry-after': '10' });
  const second = await setup([slowWithRetryAfter, pending]);
  const flow2 = await initiateDeviceFlow(second.ctx, { scopes: ['api://a/read'] });
  assertEquals(await pollDeviceFlow(second.ctx, flow2), { status: 'slow_down' });
  // The replay is a slow_down too, not an error.
  assertEquals(await pollDeviceFlow(second.ctx, flow2), { status: 'slow_down' });
  assertEquals(second.polls(), 1);
});

test('acquireTokenByDeviceFlow polls at the interval, 5 s slower after each slow_down, through pending, until done', async () => {
  const { ctx, waits, sleep, polls } = await setup([pending, slowDown, pending, slowDown, pending, (t) => t()]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  const { result, record } = await acquireTokenByDeviceFlow(ctx, flow, { sleep });
  assertEquals(result.accessToken, 'at-1');
  assertEquals(record.account.username, 'alice@contoso.test');
  assertEquals(waits, [5_000, 5_000, 10_000, 10_000, 15_000, 15_000]);
  assertEquals(polls(), 6);
});

test('acquireTokenByDeviceFlow stops on access_denied', async () => {
  const { ctx, sleep, polls } = await setup([pending, providerError('authorization_declined', 70020)]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  await assertRejects(() => acquireTokenByDeviceFlow(ctx, flow, { sleep }), ServerError, 'access_denied');
  assertEquals(polls(), 2);
});

test('acquireTokenByDeviceFlow stops when the flow expires, without polling past it', async () => {
  const { ctx, sleep, waits, polls } = await setup([pending], { ...DEVICE_ANSWER, expires_in: 12 });
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  await assertRejects(() => acquireTokenByDeviceFlow(ctx, flow, { sleep }), ServerError, 'expired_token');
  assertEquals(waits, [5_000, 5_000, 2_000]);
  assertEquals(polls(), 2);
});

test('acquireTokenByDeviceFlow stops when the signal aborts', async () => {
  const { ctx, polls } = await setup([pending]);
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  const controller = new AbortController();
  let slept = 0;
  const sleep = () => {
    if (++slept === 3) controller.abort(new Error('cancelled by the user'));
    return Promise.resolve();
  };
  const error = await assertRejects(() => acquireTokenByDeviceFlow(ctx, flow, { sleep, signal: controller.signal }), Error);
  assertEquals(error.message, 'cancelled by the user');
  assert(!(error instanceof ServerError));
  assertEquals(polls(), 2);
});

test('acquireTokenByDeviceFlow with the real sleep: an abort ends the wait at once', async () => {
  const { ctx, polls } = await setup([pending], { ...DEVICE_ANSWER, interval: 60 });
  const flow = await initiateDeviceFlow(ctx, { scopes: ['api://a/read'] });
  const started = Date.now();
  const error = await assertRejects(() => acquireTokenByDeviceFlow(ctx, flow, { signal: AbortSignal.timeout(50) }), Error);
  assertEquals(error.name, 'TimeoutError');
  assert(Date.now() - started < 5_000);
  assertEquals(polls(), 0);
});

test('ThrottlingError is a ServerError (what makes the replayed slow_down a status)', () => {
  assert(new ThrottlingError({ error: 'slow_down' }, 429, 1) instanceof ServerError);
});
