/** The authorization code grant as a request/process pair: the exact redemption form, and its answer's checks. */
import { assertEquals, assertRejects, test } from './spec.ts';
import type { AuthorizationServer } from 'oauth4webapi';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { authorizationCodeRequest, processAuthorizationCodeResponse, validateAuthorizationResponse } from '../../lib/oauth/authorization-code.ts';
import type { TokenEndpoint } from '../../lib/oauth/token-endpoint.ts';
import { CallerError, NetworkError } from '../../lib/errors.ts';
import { signingProvider as sharedSigningProvider } from './signing-provider.ts';
import { capturingFetch, jsonResponse, sendInit } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
const AS: AuthorizationServer = { issuer: AUTHORITY.issuer, token_endpoint: `${AUTHORITY.url}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY.url}/discovery/v2.0/keys` };
const CLIENT_ID = 'web-app';
const FLOW = { redirectUri: 'https://app.example.test/auth/callback', codeVerifier: 'v'.repeat(43), scopes: ['api://a/read'] };


function signingProvider() {
  return sharedSigningProvider({ as: AS, authority: AUTHORITY, clientId: CLIENT_ID, tenant: TENANT });
}

test('authorizationCodeRequest posts exactly the code, the PKCE verifier, the redirect URI and MSAL scopes', async () => {
  const { fetch, requests } = capturingFetch();
  const endpoint: TokenEndpoint = { as: AS, authority: AUTHORITY, clientId: CLIENT_ID, credential: { kind: 'secret', secret: 'shh', method: 'basic' }, fetch };
  const callbackParameters = validateAuthorizationResponse(AS, AUTHORITY, CLIENT_ID, { state: 'state-1' }, new URLSearchParams({ code: 'code-1', state: 'state-1' }));
  await authorizationCodeRequest(endpoint, { flow: FLOW, callbackParameters }, sendInit());
  assertEquals(requests.length, 1);
  const sent = requests[0]!;
  assertEquals(sent.url, AS.token_endpoint);
  assertEquals(Object.fromEntries(sent.body), {
    grant_type: 'authorization_code',
    code: 'code-1',
    redirect_uri: FLOW.redirectUri,
    code_verifier: FLOW.codeVerifier,
    scope: 'api://a/read openid profile offline_access',
    client_info: '1',
  });
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
  assertEquals(atob(sent.headers.get('authorization')!.slice('Basic '.length)).split(':').map(decodeURIComponent), [CLIENT_ID, 'shh']);
  assertEquals(sent.headers.get('client-request-id'), 'corr-1');
});

test('processAuthorizationCodeResponse returns the tokens with the verified ID token claims', async () => {
  const { checks, idToken } = await signingProvider();
  const tokens = await processAuthorizationCodeResponse(
    checks,
    jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, refresh_token: 'rt', id_token: await idToken({ nonce: 'n-1' }), client_info: 'ci' }),
    'n-1',
    'corr',
  );
  assertEquals(tokens.refresh_token, 'rt');
  assertEquals(tokens.client_info, 'ci');
  assertEquals(tokens.idTokenClaims?.oid, 'oid-1');
});

test('processAuthorizationCodeResponse refuses an answer without an ID token', async () => {
  const { checks } = await signingProvider();
  const response = jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599 });
  await assertRejects(() => processAuthorizationCodeResponse(checks, response, 'n-1', 'c'), NetworkError, 'invalid_id_token');
});

test('processAuthorizationCodeResponse refuses an ID token carrying another flow nonce', async () => {
  const { checks, idToken } = await signingProvider();
  const response = jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, id_token: await idToken({ nonce: 'other' }) });
  const error = await assertRejects(() => processAuthorizationCodeResponse(checks, response, 'n-1', 'corr-3'), NetworkError, 'invalid_id_token');
  assertEquals(error.correlationId, 'corr-3');
});

test('validateAuthorizationResponse refuses a success without a code as the caller’s invalid_request', async () => {
  for (const params of [new URLSearchParams({ state: 'state-1' }), new URLSearchParams({ state: 'state-1', code: '' })]) {
    await assertRejects(async () => validateAuthorizationResponse(AS, AUTHORITY, CLIENT_ID, { state: 'state-1' }, params), CallerError, 'invalid_request');
  }
});
