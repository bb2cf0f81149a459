import { assert, assertEquals, assertNotEquals, assertRejects, test } from './spec.ts';
import type { AuthorizationServer } from 'oauth4webapi';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { importCertificateKey, parseThumbprint, type ClientCredential } from '../../lib/oauth/client-auth.ts';
import { clientCredentialsRequest, processClientCredentialsResponse, type ClientCredentialsGrant } from '../../lib/oauth/client-credentials.ts';
import type { SendInit, TokenEndpoint } from '../../lib/oauth/token-endpoint.ts';
import { NetworkError } from '../../lib/errors.ts';
import { capturingFetch, decodeJwt, generatedPem, jsonResponse } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
const AS: AuthorizationServer = {
  issuer: AUTHORITY.issuer,
  token_endpoint: `${AUTHORITY.url}/oauth2/v2.0/token`,
};
const CLIENT_ID = 'f6d1c1a0-0000-4000-8000-00000000c1d0';
const THUMBPRINT = '5A3F0D2B9C8E7F6A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F607182';

async function certificateCredential(): Promise<ClientCredential> {
  const { pem } = await generatedPem();
  return { kind: 'certificate', privateKey: await importCertificateKey(pem, 'PS256'), thumbprint: parseThumbprint(THUMBPRINT) };
}

/** The three arguments of one request: endpoint, grant parameters, and what provider-http hands an attempt. */
function request(
  credential: ClientCredential,
  fetch: typeof globalThis.fetch,
  extra: { as?: AuthorizationServer; claims?: string } = {},
): [TokenEndpoint, ClientCredentialsGrant, SendInit] {
  const endpoint: TokenEndpoint = { as: extra.as ?? AS, authority: AUTHORITY, clientId: CLIENT_ID, credential, fetch };
  const grant: ClientCredentialsGrant = { scopes: ['https://graph.microsoft.com/.default'], ...(extra.claims ? { claims: extra.claims } : {}) };
  return [endpoint, grant, { signal: AbortSignal.timeout(5_000), headers: new Headers({ 'client-request-id': 'corr-1' }) }];
}

test('clientCredentialsRequest with a certificate posts the client_credentials grant to the token endpoint', async () => {
  const { fetch, requests } = capturingFetch();
  await clientCredentialsRequest(...request(await certificateCredential(), fetch));
  assertEquals(requests.length, 1);
  const sent = requests[0]!;
  assertEquals(sent.url, AS.token_endpoint);
  assertEquals(sent.method, 'POST');
  assertEquals(sent.body.get('grant_type'), 'client_credentials');
  assertEquals(sent.body.get('scope'), 'https://graph.microsoft.com/.default');
  assertEquals(sent.body.get('client_id'), CLIENT_ID);
  assertEquals(sent.body.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  assertEquals(sent.headers.get('authorization'), null);
  assertEquals(sent.headers.get('client-request-id'), 'corr-1');
});

test('clientCredentialsRequest signs a PS256 assertion with x5t#S256, aud = token endpoint and iss = sub = client id', async () => {
  const { fetch, requests } = capturingFetch();
  await clientCredentialsRequest(...request(await certificateCredential(), fetch));
  const assertion = requests[0]!.body.get('client_assertion')!;
  const { header, payload } = decodeJwt(assertion);
  assertEquals(header.alg, 'PS256');
  assertEquals(header['x5t#S256'], parseThumbprint(THUMBPRINT).value);
  assertEquals(payload.aud, AS.token_endpoint);
  assertEquals(payload.iss, CLIENT_ID);
  assertEquals(payload.sub, CLIENT_ID);
  assert(typeof payload.jti === 'string' && payload.jti.length > 0);
  assert(typeof payload.exp === 'number' && typeof payload.iat === 'number' && payload.exp > payload.iat);
});

test('clientCredentialsRequest signs an assertion that the public key verifies', async () => {
  const { fetch, requests } = capturingFetch();
  await clientCredentialsRequest(...request(await certificateCredential(), fetch));
  const [h, p, s] = requests[0]!.body.get('client_assertion')!.split('.');
  const signature = Uint8Array.from(atob(s!.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const { publicKey } = await generatedPem();
  const valid = await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, publicKey, signature, new TextEncoder().encode(`${h}.${p}`));
  assertEquals(valid, true);
});

test('clientCredentialsRequest puts a new jti in every assertion', async () => {
  const { fetch, requests } = capturingFetch();
  const credential = await certificateCredential();
  await clientCredentialsRequest(...request(credential, fetch));
  await clientCredentialsRequest(...request(credential, fetch));
  const jti = requests.map((r) => decodeJwt(r.body.get('client_assertion')!).payload.jti);
  assertNotEquals(jti[0], jti[1]);
});

test('clientCredentialsRequest with a legacy SHA-1 thumbprint sends x5t', async () => {
  const { fetch, requests } = capturingFetch();
  const { pem } = await generatedPem();
  const credential: ClientCredential = {
    kind: 'certificate',
    privateKey: await importCertificateKey(pem, 'RS256'),
    thumbprint: parseThumbprint('0123456789ABCDEF0123456789ABCDEF01234567'),
  };
  await clientCredentialsRequest(...request(credential, fetch));
  const { header } = decodeJwt(requests[0]!.body.get('client_assertion')!);
  assertEquals(header.alg, 'RS256');
  assert(typeof header.x5t === 'string');
  assertEquals(header['x5t#S256'], undefined);
});

test('clientCredentialsRequest with a basic secret sends an Authorization: Basic header', async () => {
  const { fetch, requests } = capturingFetch();
  await clientCredentialsRequest(...request({ kind: 'secret', secret: 'shh-secret', method: 'basic' }, fetch));
  const authorization = requests[0]!.headers.get('authorization')!;
  assert(authorization.startsWith('Basic '), authorization);
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
  const [user, password] = atob(authorization.slice(6)).split(':').map(decodeURIComponent);
  assertEquals([user, password], [CLIENT_ID, 'shh-secret']);
  assertEquals(requests[0]!.body.get('client_secret'), null);
  assertEquals(requests[0]!.body.get('client_assertion'), null);
});

test('clientCredentialsRequest with a post secret sends client_secret in the body', async () => {
  const { fetch, requests } = capturingFetch();
  await clientCredentialsRequest(...request({ kind: 'secret', secret: 'shh-secret', method: 'post' }, fetch));
  assertEquals(requests[0]!.body.get('client_secret'), 'shh-secret');
  assertEquals(requests[0]!.headers.get('authorization'), null);
});

test('clientCredentialsRequest sends a claims challenge as the claims parameter', async () => {
  const { fetch, requests } = capturingFetch();
  const claims = '{"access_token":{"xms_cc":{"values":["cp1"]}}}';
  await clientCredentialsRequest(...request({ kind: 'secret', secret: 's', method: 'post' }, fetch, { claims }));
  assertEquals(requests[0]!.body.get('claims'), claims);
});

test('clientCredentialsRequest refuses an http token endpoint for a non-loopback authority', async () => {
  const { fetch, requests } = capturingFetch();
  const as = { ...AS, token_endpoint: 'http://login.microsoftonline.com/token' };
  await assertRejects(() => clientCredentialsRequest(...request({ kind: 'secret', secret: 's', method: 'post' }, fetch, { as })), Error);
  assertEquals(requests.length, 0);
});

// ---- processClientCredentialsResponse ----------------------------------------------------------------

const processRequest = { as: AS, clientId: CLIENT_ID };

test('processClientCredentialsResponse returns the token fields', async () => {
  const tokens = await processClientCredentialsResponse(
    processRequest,
    jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599, ext_expires_in: 7199, refresh_in: 1800, scope: 'a b' }),
    'corr',
  );
  assertEquals(tokens, { access_token: 'at', token_type: 'bearer', expires_in: 3599, ext_expires_in: 7199, refresh_in: 1800, scope: 'a b' });
});

test('processClientCredentialsResponse coerces string expires_in, ext_expires_in and refresh_in', async () => {
  const tokens = await processClientCredentialsResponse(
    processRequest,
    jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: '3599', ext_expires_in: '7199', refresh_in: '1800' }),
    'corr',
  );
  assertEquals(tokens.expires_in, 3599);
  assertEquals(tokens.ext_expires_in, 7199);
  assertEquals(tokens.refresh_in, 1800);
});

test('processClientCredentialsResponse rejects a response without expires_in as invalid_provider_response', async () => {
  const error = await assertRejects(
    () => processClientCredentialsResponse(processRequest, jsonResponse({ access_token: 'at', token_type: 'Bearer' }), 'corr-9'),
    NetworkError,
    'invalid_provider_response',
  );
  assertEquals(error.correlationId, 'corr-9');
});

test('processClientCredentialsResponse rejects a zero or negative expires_in', async () => {
  for (const expiresIn of [0, -5]) {
    await assertRejects(
      () => processClientCredentialsResponse(processRequest, jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: expiresIn }), 'c'),
      NetworkError,
      'invalid_provider_response',
    );
  }
});

test('processClientCredentialsResponse rejects a text/html body as NetworkError', async () => {
  const response = new Response('<html><body>Sign in</body></html>', { status: 200, headers: { 'content-type': 'text/html' } });
  await assertRejects(() => processClientCredentialsResponse(processRequest, response, 'c'), NetworkError, 'invalid_provider_response');
});

test('processClientCredentialsResponse rejects a body without access_token', async () => {
  await assertRejects(
    () => processClientCredentialsResponse(processRequest, jsonResponse({ token_type: 'Bearer', expires_in: 3599 }), 'c'),
    NetworkError,
    'invalid_provider_response',
  );
});
