/** The password grant as a request/process pair: the exact form it sends, and what it accepts back. */
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import type { AuthorizationServer } from 'oauth4webapi';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { passwordRequest, processPasswordResponse } from '../../lib/oauth/password.ts';
import type { TokenEndpoint } from '../../lib/oauth/token-endpoint.ts';
import { NetworkError } from '../../lib/errors.ts';
import { signingProvider as sharedSigningProvider } from './signing-provider.ts';
import { capturingFetch, jsonResponse, sendInit } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
const AS: AuthorizationServer = { issuer: AUTHORITY.issuer, token_endpoint: `${AUTHORITY.url}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY.url}/discovery/v2.0/keys` };
const CLIENT_ID = 'f6d1c1a0-0000-4000-8000-00000000c1d0';
const PASSWORD = 'Pa55-w0rd &=+%/?#';

function endpoint(fetch: typeof globalThis.fetch, method: 'basic' | 'post' = 'post'): TokenEndpoint {
  return { as: AS, authority: AUTHORITY, clientId: CLIENT_ID, credential: { kind: 'secret', secret: 'shh', method }, fetch };
}


function signingProvider() {
  return sharedSigningProvider({ as: AS, authority: AUTHORITY, clientId: CLIENT_ID, tenant: TENANT });
}

test('passwordRequest posts exactly the password grant MSAL sends, the password only in the form body', async () => {
  const { fetch, requests } = capturingFetch();
  await passwordRequest(endpoint(fetch), { username: 'alice@contoso.test', password: PASSWORD, scopes: ['api://a/read', 'api://a/write'] }, sendInit());
  assertEquals(requests.length, 1);
  const sent = requests[0]!;
  assertEquals(sent.url, AS.token_endpoint);
  assertEquals(sent.method, 'POST');
  assertEquals(Object.fromEntries(sent.body), {
    grant_type: 'password',
    username: 'alice@contoso.test',
    password: PASSWORD,
    scope: 'api://a/read api://a/write openid profile offline_access',
    client_info: '1',
    client_id: CLIENT_ID,
    client_secret: 'shh',
  });
  assertEquals(sent.headers.get('client-request-id'), 'corr-1');
  assert(!sent.url.includes('Pa55') && !sent.url.includes(encodeURIComponent(PASSWORD)), 'the password is not in the URL');
  for (const [name, value] of sent.headers) assert(!value.includes('Pa55'), `the password is not in the ${name} header`);
});

test('passwordRequest authenticates the client with basic auth when configured, and sends a claims challenge', async () => {
  const { fetch, requests } = capturingFetch();
  const claims = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}';
  await passwordRequest(endpoint(fetch, 'basic'), { username: 'alice@contoso.test', password: PASSWORD, scopes: ['openid', 'api://a/read'], claims }, sendInit());
  const sent = requests[0]!;
  assertEquals(Object.fromEntries(sent.body), {
    grant_type: 'password',
    username: 'alice@contoso.test',
    password: PASSWORD,
    scope: 'openid api://a/read profile offline_access',
    client_info: '1',
    claims,
  });
  assertEquals(atob(sent.headers.get('authorization')!.slice('Basic '.length)).split(':').map(decodeURIComponent), [CLIENT_ID, 'shh']);
});

test('processPasswordResponse returns the tokens and the verified ID token claims (no nonce expected)', async () => {
  const { checks, idToken } = await signingProvider();
  const tokens = await processPasswordResponse(
    checks,
    jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: '3599', ext_expires_in: 3599, scope: 'api://a/read', refresh_token: 'rt', id_token: await idToken(), client_info: 'ci' }),
    'corr',
  );
  assertEquals(tokens.refresh_token, 'rt');
  assertEquals(tokens.client_info, 'ci');
  assertEquals(tokens.expires_in, 3599);
  assertEquals(tokens.idTokenClaims?.oid, 'oid-1');
  assertEquals(tokens.idTokenClaims?.preferred_username, 'alice@contoso.test');
});

test('processPasswordResponse refuses an answer without an ID token as invalid_id_token', async () => {
  const { checks } = await signingProvider();
  const error = await assertRejects(
    () => processPasswordResponse(checks, jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, refresh_token: 'rt' }), 'corr-4'),
    NetworkError,
    'invalid_id_token',
  );
  assertEquals(error.correlationId, 'corr-4');
});

test('processPasswordResponse refuses an ID token for another client, or not signed by the provider', async () => {
  const { checks, idToken } = await signingProvider();
  await assertRejects(
    async () => processPasswordResponse(checks, jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, id_token: await idToken({}, 'other-app') }), 'c'),
    NetworkError,
    'invalid_id_token',
  );
  const other = await signingProvider();
  await assertRejects(
    async () => processPasswordResponse(checks, jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, id_token: await other.idToken() }), 'c'),
    NetworkError,
    'invalid_id_token',
  );
});

test('processPasswordResponse rejects a body that is not a token response as invalid_provider_response', async () => {
  const { checks, idToken } = await signingProvider();
  await assertRejects(
    async () => processPasswordResponse(checks, jsonResponse({ token_type: 'Bearer', expires_in: 3599, id_token: await idToken() }), 'c'),
    NetworkError,
    'invalid_provider_response',
  );
});
