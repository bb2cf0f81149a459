/** The device code grant as two request/process pairs: the exact forms they send, and what they accept back. */
import { assertEquals, assertRejects, test } from './spec.ts';
import type { AuthorizationServer } from 'oauth4webapi';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import {
  deviceAuthorizationEndpoint,
  deviceAuthorizationRequest,
  deviceCodeRequest,
  processDeviceAuthorizationResponse,
  processDeviceCodeResponse,
} from '../../lib/oauth/device-code.ts';
import type { IdTokenContext } from '../../lib/oauth/id-token.ts';
import type { TokenEndpoint } from '../../lib/oauth/token-endpoint.ts';
import { NetworkError } from '../../lib/errors.ts';
import { capturingFetch, jsonResponse, sendInit } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
const AS: AuthorizationServer = { issuer: AUTHORITY.issuer, token_endpoint: `${AUTHORITY.url}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY.url}/discovery/v2.0/keys` };
const CLIENT_ID = 'f6d1c1a0-0000-4000-8000-00000000c1d0';

function endpoint(fetch: typeof globalThis.fetch, as: AuthorizationServer = AS, authority = AUTHORITY): TokenEndpoint {
  return { as, authority, clientId: CLIENT_ID, credential: { kind: 'secret', secret: 'shh', method: 'post' }, fetch };
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

const ENTRA_ANSWER = {
  user_code: 'GXQ7LKBZC',
  device_code: 'DAQABAAEAAAD',
  verification_uri: 'https://microsoft.com/devicelogin',
  expires_in: 900,
  interval: 5,
  message: 'To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code GXQ7LKBZC to authenticate.',
};

test('deviceAuthorizationRequest posts exactly what MSAL sends to Entra\'s /devicecode, derived when discovery has no endpoint', async () => {
  const { fetch, requests } = capturingFetch(() => jsonResponse(ENTRA_ANSWER));
  await deviceAuthorizationRequest(endpoint(fetch), { scopes: ['api://a/read', 'api://a/write'] }, sendInit());
  assertEquals(requests.length, 1);
  const sent = requests[0]!;
  assertEquals(sent.url, `${AUTHORITY.url}/oauth2/v2.0/devicecode`);
  assertEquals(sent.method, 'POST');
  assertEquals(Object.fromEntries(sent.body), {
    scope: 'api://a/read api://a/write openid profile offline_access',
    client_info: '1',
    client_id: CLIENT_ID,
    client_secret: 'shh',
  });
  assertEquals(sent.headers.get('client-request-id'), 'corr-1');
});

test('deviceAuthorizationRequest uses an advertised device_authorization_endpoint and sends claims', async () => {
  const { fetch, requests } = capturingFetch(() => jsonResponse(ENTRA_ANSWER));
  const as = { ...AS, device_authorization_endpoint: 'https://login.microsoftonline.com/x/oauth2/v2.0/devicecode?advertised' };
  await deviceAuthorizationRequest(endpoint(fetch, as), { scopes: ['api://a/read'], claims: '{"id_token":{}}' }, sendInit());
  assertEquals(requests[0]!.url, as.device_authorization_endpoint);
  assertEquals(requests[0]!.body.get('claims'), '{"id_token":{}}');
});

test('deviceAuthorizationEndpoint: derived for Entra only; a plain OIDC provider must advertise it', async () => {
  assertEquals(deviceAuthorizationEndpoint(AS, AUTHORITY), `${AUTHORITY.url}/oauth2/v2.0/devicecode`);
  const oidc = parseAuthority('https://idp.example.com/realms/x', { type: 'oidc' });
  await assertRejects(async () => deviceAuthorizationEndpoint({ issuer: oidc.issuer, token_endpoint: 'https://idp.example.com/token' }, oidc), NetworkError, 'invalid_provider_response');
});

test('processDeviceAuthorizationResponse reads Entra\'s answer', async () => {
  const answer = await processDeviceAuthorizationResponse(endpoint(fetch), jsonResponse(ENTRA_ANSWER), 'corr');
  assertEquals(answer, ENTRA_ANSWER);
});

test('processDeviceAuthorizationResponse coerces v1-style string numbers and defaults the interval to 5 s', async () => {
  const { interval: _, ...withoutInterval } = ENTRA_ANSWER;
  const answer = await processDeviceAuthorizationResponse(endpoint(fetch), jsonResponse({ ...withoutInterval, expires_in: '900' }), 'corr');
  assertEquals(answer.expires_in, 900);
  assertEquals(answer.interval, 5);
});

test('processDeviceAuthorizationResponse refuses an answer without a device code or a lifetime', async () => {
  for (const body of [{ ...ENTRA_ANSWER, device_code: undefined }, { ...ENTRA_ANSWER, expires_in: 0 }, { ...ENTRA_ANSWER, verification_uri: 7 }]) {
    const error = await assertRejects(() => processDeviceAuthorizationResponse(endpoint(fetch), jsonResponse(body), 'corr-9'), NetworkError, 'invalid_provider_response');
    assertEquals(error.correlationId, 'corr-9');
  }
});

test('deviceCodeRequest polls the token endpoint with the RFC 8628 grant, MSAL\'s scopes and client_info', async () => {
  const { fetch, requests } = capturingFetch();
  await deviceCodeRequest(endpoint(fetch), { deviceCode: 'DAQABAAEAAAD', scopes: ['api://a/read'] }, sendInit());
  const sent = requests[0]!;
  assertEquals(sent.url, AS.token_endpoint);
  assertEquals(sent.method, 'POST');
  assertEquals(Object.fromEntries(sent.body), {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: 'DAQABAAEAAAD',
    scope: 'api://a/read openid profile offline_access',
    client_info: '1',
    client_id: CLIENT_ID,
    client_secret: 'shh',
  });
  assertEquals(sent.headers.get('client-request-id'), 'corr-1');
});

test('processDeviceCodeResponse requires an ID token: a sign-in builds the account from it', async () => {
  await assertRejects(
    () => processDeviceCodeResponse(checks, jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, refresh_token: 'rt' }), 'c'),
    NetworkError,
    'invalid_id_token',
  );
});

test('processDeviceCodeResponse validates the ID token', async () => {
  await assertRejects(
    () => processDeviceCodeResponse(checks, jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, id_token: 'not-a-jwt' }), 'c'),
    NetworkError,
    'invalid_id_token',
  );
});

test('processDeviceCodeResponse rejects a body that is not a token response as invalid_provider_response', async () => {
  const error = await assertRejects(() => processDeviceCodeResponse(checks, jsonResponse({ token_type: 'Bearer', expires_in: 3599 }), 'corr-7'), NetworkError, 'invalid_provider_response');
  assertEquals(error.correlationId, 'corr-7');
});
