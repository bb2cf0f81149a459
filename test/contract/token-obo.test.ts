/**
 * POST /token/obo (on-behalf-of): a middle tier exchanges its user's access token for a downstream token of
 * the same user. The incoming token is validated before any cache read or exchange. The users' tokens come
 * straight from the provider, as an SPA signed in elsewhere would hold them.
 */
import { app, idp, provider, type App, type Overrides } from './target.ts';
import { alice, bob } from './browser.ts';
import { callersSetting, testCaller, userTokenForThisApi } from './callers.ts';
import { assert, assertEquals, assertError, assertStringIncludes, json, jwtPayload, send, test } from './suite.ts';

const DOWNSTREAM = 'api://downstream/read';
/** This app as a middle tier: its users' tokens for api://web-app (scope access_as_user), exchanged for the downstream API. */
const MIDDLE_TIER: Overrides = { API_SCOPE: 'access_as_user', OBO_SCOPES: DOWNSTREAM };

interface TokenAnswer {
  access_token: string;
  token_source: string;
}

async function middleTier(overrides: Overrides = {}): Promise<App> {
  return app({ ...MIDDLE_TIER, ...overrides });
}

function obo(deployment: App, assertion: string | undefined, body: Record<string, unknown> = { scopes: [DOWNSTREAM] }): Promise<Response> {
  return send(deployment, '/token/obo', { ...(assertion === undefined ? {} : { bearer: assertion }), json: body });
}

const exchanges = () => provider.count('token:jwt-bearer');

/** 401 invalid_token with a Bearer error="invalid_token" challenge, and the provider never asked for an exchange. */
async function assertRefusedToken(response: Response): Promise<void> {
  assertStringIncludes(response.headers.get('www-authenticate') ?? '', 'error="invalid_token"');
  await assertError(response, 401, 'invalid_token');
  assertEquals(await exchanges(), 0);
}

test("POST /token/obo exchanges the user's token for a downstream token of the same user", async () => {
  const assertion = await userTokenForThisApi(alice);
  const response = await obo(await middleTier(), assertion);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('cache-control'), 'no-store');
  const body = await json<TokenAnswer>(response);
  assertEquals(body.token_source, 'identity_provider');
  const [downstream, caller] = [jwtPayload(body.access_token), jwtPayload(assertion)];
  assertEquals([downstream.aud, downstream.sub, downstream.oid, downstream.azp], ['api://downstream', caller.sub, caller.oid, idp.webApp.clientId]);
  assertEquals(await exchanges(), 1);
});

test('POST /token/obo answers the same assertion again from the cache, without another exchange', async () => {
  const deployment = await middleTier();
  const assertion = await userTokenForThisApi(alice);
  const first = await json<TokenAnswer>(await obo(deployment, assertion));
  const second = await json<TokenAnswer>(await obo(deployment, assertion));
  assertEquals([second.access_token, second.token_source], [first.access_token, 'cache']);
  assertEquals(await exchanges(), 1);
});

test("POST /token/obo never serves one user's downstream token for another user's assertion", async () => {
  const deployment = await middleTier();
  const [aliceAssertion, bobAssertion] = [await userTokenForThisApi(alice), await userTokenForThisApi(bob)];
  const aliceToken = (await json<TokenAnswer>(await obo(deployment, aliceAssertion))).access_token;
  const bobBody = await json<TokenAnswer>(await obo(deployment, bobAssertion));
  assertEquals(bobBody.token_source, 'identity_provider');
  assert(bobBody.access_token !== aliceToken, "bob's token is not alice's");
  assertEquals(jwtPayload(bobBody.access_token).oid, jwtPayload(bobAssertion).oid);
});

test('POST /token/obo for scopes outside OBO_SCOPES is 403 invalid_scope, without an exchange', async () => {
  await assertError(await obo(await middleTier(), await userTokenForThisApi(alice), { scopes: ['api://downstream/write'] }), 403, 'invalid_scope');
  assertEquals(await exchanges(), 0);
});

test('POST /token/obo without a bearer token is 401 invalid_token', async () => {
  await assertRefusedToken(await obo(await middleTier(), undefined));
});

test('POST /token/obo refuses a token for another audience (the downstream API itself) with 401 invalid_token', async () => {
  const foreign = await userTokenForThisApi(alice, DOWNSTREAM);
  await provider.reset();
  await assertRefusedToken(await obo(await middleTier(), foreign));
});

test('POST /token/obo refuses a wrongly signed token with 401 invalid_token', async () => {
  const [h, p, s] = (await userTokenForThisApi(alice)).split('.');
  await assertRefusedToken(await obo(await middleTier(), `${h}.${p}.${s!.slice(0, 10)}${s![10] === 'A' ? 'B' : 'A'}${s!.slice(11)}`));
});

test("POST /token/obo refuses a token issued by another tenant than this API's with 401 invalid_token", async () => {
  const assertion = await userTokenForThisApi(alice);
  await provider.reset();
  await assertRefusedToken(await obo(await middleTier({ AUTHORITY: idp.authoritySecondary }), assertion));
});

test('POST /token/obo refuses an app-only token (client credentials for this API) with 401 invalid_token', async () => {
  const daemon = testCaller(['client_credentials'], ['api://web-app/.default']);
  const deployment = await middleTier(await callersSetting(daemon));
  const appToken = (await json<TokenAnswer>(await send(deployment, '/token/client', { bearer: daemon.key, json: { scopes: ['api://web-app/.default'] } }))).access_token;
  assertEquals(jwtPayload(appToken).aud, 'api://web-app');
  await provider.reset();
  await assertRefusedToken(await obo(deployment, appToken));
});

test('POST /token/obo refuses a token without API_SCOPE in scp with 401 invalid_token', async () => {
  const assertion = await userTokenForThisApi(alice);
  await provider.reset();
  await assertRefusedToken(await obo(await middleTier({ API_SCOPE: 'admin_as_user' }), assertion));
});

test('POST /token/obo refuses a bearer token over 16 KiB with 401 invalid_token', async () => {
  await assertRefusedToken(await obo(await middleTier(), `${'a'.repeat(17 * 1024)}.b.c`));
});

test('POST /token/obo carries a Conditional Access step-up back: 401 with WWW-Authenticate insufficient_claims and the challenge', async () => {
  const assertion = await userTokenForThisApi(alice);
  await provider.fault({ endpoint: 'token:jwt-bearer', kind: 'step_up' });
  const response = await obo(await middleTier(), assertion);
  const challenge = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';
  assertStringIncludes(response.headers.get('www-authenticate') ?? '', `error="insufficient_claims", claims="${btoa(challenge)}"`);
  const body = await assertError(response, 401, 'interaction_required');
  assertEquals([body.suberror, body.claims, body.error_codes], ['basic_action', challenge, [50076]]);
});

test('POST /token/obo: other methods are 405 with Allow: POST', async () => {
  const response = await send(await middleTier(), '/token/obo', { method: 'GET', bearer: await userTokenForThisApi(alice) });
  await assertError(response, 405, 'method_not_allowed');
  assertEquals(response.headers.get('allow'), 'POST');
});

test('GET /api/profile (the demo middle tier) answers who called and what the downstream API saw, as that user', async () => {
  const assertion = await userTokenForThisApi(alice);
  const response = await send(await middleTier(), '/api/profile', { method: 'GET', bearer: assertion });
  assertEquals(response.status, 200);
  const body = await json<{ caller: { oid: string }; downstream: { status: number; body: { aud: string; oid: string } } }>(response);
  assertEquals(body.caller.oid, jwtPayload(assertion).oid);
  assertEquals([body.downstream.status, body.downstream.body.aud, body.downstream.body.oid], [200, 'api://downstream', jwtPayload(assertion).oid]);
});
