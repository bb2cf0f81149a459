/** The on-behalf-of grant as a request/process pair: the exact form Entra expects, and its answer. */
import * as jose from 'jose';
import { assertEquals, assertRejects, test } from './spec.ts';
import { ConfidentialClientApplication } from '../../lib/confidential-client.ts';
import type { AuthorizationServer } from 'oauth4webapi';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { onBehalfOfRequest, processOnBehalfOfResponse } from '../../lib/oauth/on-behalf-of.ts';
import type { TokenEndpoint } from '../../lib/oauth/token-endpoint.ts';
import { CallerError, ClientConfigurationError, NetworkError } from '../../lib/errors.ts';
import { MemoryCacheStore, SEALING_SECRET, capturingFetch, jsonResponse, sendInit } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
const AS: AuthorizationServer = { issuer: AUTHORITY.issuer, token_endpoint: `${AUTHORITY.url}/oauth2/v2.0/token` };
const CLIENT_ID = 'middle-tier';

function endpoint(fetch: typeof globalThis.fetch): TokenEndpoint {
  return { as: AS, authority: AUTHORITY, clientId: CLIENT_ID, credential: { kind: 'secret', secret: 'shh', method: 'post' }, fetch };
}


test('onBehalfOfRequest posts exactly the jwt-bearer grant with requested_token_use=on_behalf_of and no OIDC scopes', async () => {
  const { fetch, requests } = capturingFetch();
  await onBehalfOfRequest(endpoint(fetch), { assertion: 'user.jwt.here', scopes: ['api://downstream/read'] }, sendInit());
  assertEquals(requests.length, 1);
  assertEquals(requests[0]!.url, AS.token_endpoint);
  assertEquals(Object.fromEntries(requests[0]!.body), {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: 'user.jwt.here',
    requested_token_use: 'on_behalf_of',
    scope: 'api://downstream/read',
    client_id: CLIENT_ID,
    client_secret: 'shh',
  });
  assertEquals(requests[0]!.headers.get('client-request-id'), 'corr-1');
});

test('onBehalfOfRequest sends a claims challenge as the claims parameter', async () => {
  const { fetch, requests } = capturingFetch();
  const claims = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';
  await onBehalfOfRequest(endpoint(fetch), { assertion: 'a', scopes: ['api://downstream/read'], claims }, sendInit());
  assertEquals(requests[0]!.body.get('claims'), claims);
});

test('processOnBehalfOfResponse returns the token fields, with Entra numbers coerced', async () => {
  const tokens = await processOnBehalfOfResponse(
    { as: AS, clientId: CLIENT_ID },
    jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: '3599', ext_expires_in: 0, scope: 'api://downstream/read' }),
    'c',
  );
  assertEquals(tokens, { access_token: 'at', token_type: 'bearer', expires_in: 3599, ext_expires_in: 0, scope: 'api://downstream/read' });
});

test('processOnBehalfOfResponse rejects a body that is not a token response', async () => {
  await assertRejects(() => processOnBehalfOfResponse({ as: AS, clientId: CLIENT_ID }, jsonResponse({ token_type: 'Bearer' }), 'c'), NetworkError, 'invalid_provider_response');
});

// ---- acquireTokenOnBehalfOf: the incoming token is validated before anything else ------------------

async function middleTier() {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let tokenRequests = 0;
  const fetch = (async (input: RequestInfo | URL) => {
    const url = new Request(input).url;
    if (url.endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: AUTHORITY.issuer, token_endpoint: AS.token_endpoint, jwks_uri: `${AUTHORITY.url}/discovery/v2.0/keys` });
    }
    if (url.endsWith('/keys')) return jsonResponse({ keys: [jwk] });
    tokenRequests++;
    return jsonResponse({ access_token: `downstream-${tokenRequests}`, token_type: 'Bearer', expires_in: 3600 });
  }) as typeof globalThis.fetch;
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY: AUTHORITY.url, CLIENT_ID, CLIENT_SECRET: 's', TOKEN_CACHE_KEY: SEALING_SECRET, API_SCOPE: 'access_as_user' },
    { cacheStore: new MemoryCacheStore(), fetch },
  );
  const userToken = (claims: Record<string, unknown> = {}, expiresAt: number | string = '1h') =>
    new jose.SignJWT({ tid: TENANT, oid: 'oid-1', scp: 'access_as_user', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(AUTHORITY.issuer)
      .setSubject('sub-1')
      .setAudience(`api://${CLIENT_ID}`)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(privateKey);
  return { app, userToken, tokenRequests: () => tokenRequests };
}

test('acquireTokenOnBehalfOf exchanges a valid user token once, then serves the cache', async () => {
  const { app, userToken, tokenRequests } = await middleTier();
  const assertion = await userToken();
  assertEquals((await app.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: ['api://downstream/read'] })).accessToken, 'downstream-1');
  assertEquals((await app.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: ['api://downstream/read'] })).tokenSource, 'cache');
  assertEquals(tokenRequests(), 1);
});

test('acquireTokenOnBehalfOf refuses an expired user token (beyond the 5-minute skew) without a token request', async () => {
  const { app, userToken, tokenRequests } = await middleTier();
  const expired = await userToken({}, Math.floor(Date.now() / 1000) - 600);
  await assertRejects(() => app.acquireTokenOnBehalfOf({ userAssertion: expired, scopes: ['api://downstream/read'] }), CallerError, 'invalid_token');
  assertEquals(tokenRequests(), 0);
});

test('acquireTokenOnBehalfOf refuses a token without API_SCOPE, or app-only, without a token request', async () => {
  const { app, userToken, tokenRequests } = await middleTier();
  for (const claims of [{ scp: 'other_scope' }, { scp: undefined, roles: ['Data.Read'], idtyp: 'app' }]) {
    await assertRejects(async () => app.acquireTokenOnBehalfOf({ userAssertion: await userToken(claims), scopes: ['api://downstream/read'] }), CallerError, 'invalid_token');
  }
  assertEquals(tokenRequests(), 0);
});

test("one user's token is never served for another user's assertion", async () => {
  const { app, userToken } = await middleTier();
  const first = await app.acquireTokenOnBehalfOf({ userAssertion: await userToken({ oid: 'oid-1' }), scopes: ['api://downstream/read'] });
  const second = await app.acquireTokenOnBehalfOf({ userAssertion: await userToken({ oid: 'oid-2', sub: 'sub-2' }), scopes: ['api://downstream/read'] });
  assertEquals([first.accessToken, second.accessToken, second.tokenSource], ['downstream-1', 'downstream-2', 'identity_provider']);
});

test('without API_SCOPE the middle tier is misconfigured, named, before any token request', async () => {
  const { userToken } = await middleTier();
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY: AUTHORITY.url, CLIENT_ID, CLIENT_SECRET: 's', TOKEN_CACHE_KEY: SEALING_SECRET },
    { cacheStore: new MemoryCacheStore(), fetch: () => Promise.reject(new Error('no request expected')) },
  );
  const error = await assertRejects(async () => app.acquireTokenOnBehalfOf({ userAssertion: await userToken(), scopes: ['api://downstream/read'] }), ClientConfigurationError);
  assertEquals(error.setting, 'API_SCOPE');
});
