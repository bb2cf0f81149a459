/** The on-behalf-of grant as a request/process pair: the exact form Entra expects, and its answer. */
import { assertEquals, assertRejects, test } from './spec.ts';
import type { AuthorizationServer } from 'oauth4webapi';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { onBehalfOfRequest, processOnBehalfOfResponse } from '../../lib/oauth/on-behalf-of.ts';
import type { TokenEndpoint } from '../../lib/oauth/token-endpoint.ts';
import { NetworkError } from '../../lib/errors.ts';
import { capturingFetch, jsonResponse } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
const AS: AuthorizationServer = { issuer: AUTHORITY.issuer, token_endpoint: `${AUTHORITY.url}/oauth2/v2.0/token` };
const CLIENT_ID = 'middle-tier';

function endpoint(fetch: typeof globalThis.fetch): TokenEndpoint {
  return { as: AS, authority: AUTHORITY, clientId: CLIENT_ID, credential: { kind: 'secret', secret: 'shh', method: 'post' }, fetch };
}

function init() {
  return { signal: AbortSignal.timeout(5_000), headers: new Headers({ 'client-request-id': 'corr-1' }) };
}

test('onBehalfOfRequest posts exactly the jwt-bearer grant with requested_token_use=on_behalf_of and no OIDC scopes', async () => {
  const { fetch, requests } = capturingFetch();
  await onBehalfOfRequest(endpoint(fetch), { assertion: 'user.jwt.here', scopes: ['api://downstream/read'] }, init());
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
  await onBehalfOfRequest(endpoint(fetch), { assertion: 'a', scopes: ['api://downstream/read'], claims }, init());
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
