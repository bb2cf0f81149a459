/** The refresh token grant as a request/process pair: the exact form it sends, and what it accepts back. */
import { assertEquals, assertRejects, test } from './spec.ts';
import type { AuthorizationServer } from 'oauth4webapi';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { processRefreshTokenResponse, refreshTokenRequest } from '../../lib/oauth/refresh.ts';
import type { IdTokenContext } from '../../lib/oauth/id-token.ts';
import type { TokenEndpoint } from '../../lib/oauth/token-endpoint.ts';
import { NetworkError } from '../../lib/errors.ts';
import { capturingFetch, jsonResponse, sendInit } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
const AS: AuthorizationServer = { issuer: AUTHORITY.issuer, token_endpoint: `${AUTHORITY.url}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY.url}/discovery/v2.0/keys` };
const CLIENT_ID = 'f6d1c1a0-0000-4000-8000-00000000c1d0';

function endpoint(fetch: typeof globalThis.fetch): TokenEndpoint {
  return { as: AS, authority: AUTHORITY, clientId: CLIENT_ID, credential: { kind: 'secret', secret: 'shh', method: 'post' }, fetch };
}


const checks: IdTokenContext = {
  as: AS,
  authority: AUTHORITY,
  clientId: CLIENT_ID,
  now: Date.now(),
  keys: () => {
    throw new Error('no key lookup expected');
  },
};

test('refreshTokenRequest posts exactly the refresh_token grant MSAL sends', async () => {
  const { fetch, requests } = capturingFetch();
  await refreshTokenRequest(endpoint(fetch), { refreshToken: 'rt-1', scopes: ['api://a/read', 'api://a/write'] }, sendInit());
  assertEquals(requests.length, 1);
  const sent = requests[0]!;
  assertEquals(sent.url, AS.token_endpoint);
  assertEquals(sent.method, 'POST');
  assertEquals(Object.fromEntries(sent.body), {
    grant_type: 'refresh_token',
    refresh_token: 'rt-1',
    scope: 'api://a/read api://a/write openid profile offline_access',
    client_info: '1',
    client_id: CLIENT_ID,
    client_secret: 'shh',
  });
  assertEquals(sent.headers.get('client-request-id'), 'corr-1');
});

test('refreshTokenRequest sends a claims challenge as the claims parameter', async () => {
  const { fetch, requests } = capturingFetch();
  const claims = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}';
  await refreshTokenRequest(endpoint(fetch), { refreshToken: 'rt-1', scopes: ['api://a/read'], claims }, sendInit());
  assertEquals(requests[0]!.body.get('claims'), claims);
});

test('refreshTokenRequest does not repeat an OIDC scope the caller already named', async () => {
  const { fetch, requests } = capturingFetch();
  await refreshTokenRequest(endpoint(fetch), { refreshToken: 'rt-1', scopes: ['openid', 'api://a/read'] }, sendInit());
  assertEquals(requests[0]!.body.get('scope'), 'openid api://a/read profile offline_access');
});

test('processRefreshTokenResponse keeps the rotated refresh token and Entra fields of an answer without an ID token', async () => {
  const tokens = await processRefreshTokenResponse(
    checks,
    jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: '3599', refresh_token: 'rt-2', client_info: 'ci', foci: '1', scope: 'api://a/read' }),
    'corr',
  );
  assertEquals(tokens, { access_token: 'at', token_type: 'bearer', expires_in: 3599, scope: 'api://a/read', refresh_token: 'rt-2', client_info: 'ci', foci: '1' });
});

test('processRefreshTokenResponse rejects a body that is not a token response as invalid_provider_response', async () => {
  const error = await assertRejects(
    () => processRefreshTokenResponse(checks, jsonResponse({ token_type: 'Bearer', expires_in: 3599 }), 'corr-7'),
    NetworkError,
    'invalid_provider_response',
  );
  assertEquals(error.correlationId, 'corr-7');
});

test('processRefreshTokenResponse validates an ID token when the answer has one', async () => {
  await assertRejects(
    () => processRefreshTokenResponse(checks, jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, id_token: 'not-a-jwt' }), 'c'),
    NetworkError,
    'invalid_id_token',
  );
});
