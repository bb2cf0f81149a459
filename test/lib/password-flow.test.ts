/** acquireTokenByUsernamePassword against a fake tenant: how it ends (account, record, cache) and how it fails. */
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { CallerError, InteractionRequiredError, ServerError } from '../../lib/errors.ts';
import { acquireTokenByUsernamePassword } from '../../lib/flows/password.ts';
import { CLIENT_ID, CLIENT_INFO, OID, TENANT, entraError, fakeTenant } from './password-flow-fakes.ts';

const PASSWORD = 'alice-Pa55word!';
const REQUEST = { username: 'alice@contoso.test', password: PASSWORD, scopes: ['api://a/read'] };

function assertNoPassword(error: Error) {
  for (const text of [error.message, JSON.stringify(error), String(error.stack)]) assert(!text.includes(PASSWORD), `the password is echoed: ${text}`);
}

test('acquireTokenByUsernamePassword sends the password grant once and ends like a sign-in', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => tenant.tokens());
  const { result, record } = await acquireTokenByUsernamePassword(tenant.ctx, { ...REQUEST, correlationId: 'corr-1' });
  assertEquals(tenant.forms.length, 1);
  assertEquals(Object.fromEntries(tenant.forms[0]!), {
    grant_type: 'password',
    username: 'alice@contoso.test',
    password: PASSWORD,
    scope: 'api://a/read openid profile offline_access',
    client_info: '1',
    client_id: CLIENT_ID,
    client_secret: 's',
  });
  assertEquals(result.accessToken, 'at-1');
  assertEquals(result.tokenSource, 'identity_provider');
  assertEquals(result.account, { homeAccountId: `${OID}.${TENANT}`, environment: 'login.microsoftonline.com', tenantId: TENANT, username: 'alice@contoso.test', localAccountId: OID, name: 'Alice' });
  assertEquals(result.idTokenClaims.oid, OID);
  assertEquals(record.account.client_info, CLIENT_INFO);
  assertEquals(record.refreshToken?.secret, 'rt-2');
  assertEquals(record.accessTokenTargets, ['api://a/read']);
  assert(!JSON.stringify(record).includes(PASSWORD), 'the password is not in the account record');
  const cached = await tenant.ctx.deps.cache.getAccessToken(
    { homeAccountId: `${OID}.${TENANT}`, environment: 'login.microsoftonline.com', clientId: CLIENT_ID, realm: TENANT, target: 'api://a/read' },
    Date.now(),
  );
  assertEquals(cached?.secret, 'at-1');
  for (const [key, value] of tenant.store.data) assert(!key.includes(PASSWORD) && !value.includes(PASSWORD), 'the password is not in the cache');
});

test('a wrong password is the provider’s invalid_grant as a ServerError (400), not interaction required, and is not retried', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => entraError('invalid_grant', 50126, 'Error validating credentials due to invalid username or password.'));
  const error = await assertRejects(() => acquireTokenByUsernamePassword(tenant.ctx, REQUEST), ServerError, 'invalid_grant');
  assert(!(error instanceof InteractionRequiredError), 'a credential error, not InteractionRequiredError');
  assertEquals(error.providerStatus, 400);
  assertEquals(error.errorCodes, [50126]);
  assertEquals(tenant.forms.length, 1);
  assertNoPassword(error);
});

test('a provider error that echoes the password is redacted', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => entraError('invalid_grant', 50126, `Password ${PASSWORD} is wrong.`));
  const error = await assertRejects(() => acquireTokenByUsernamePassword(tenant.ctx, REQUEST), ServerError, 'invalid_grant');
  assertNoPassword(error);
  assert(error.errorMessage.includes('[redacted]'), error.errorMessage);
});

test('an MFA or Conditional Access answer (invalid_grant with suberror and claims) stays interaction required', async () => {
  const tenant = await fakeTenant();
  const claims = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';
  tenant.answers.push(() => entraError('invalid_grant', 50076, 'you must use multi-factor authentication', { suberror: 'basic_action', claims }));
  const error = await assertRejects(() => acquireTokenByUsernamePassword(tenant.ctx, REQUEST), InteractionRequiredError, 'invalid_grant');
  assertEquals(error.claims, claims);
});

test('missing or malformed username, password or scopes are the caller’s invalid_request, without a provider call or an echo', async () => {
  const tenant = await fakeTenant();
  for (const bad of [
    { ...REQUEST, username: '' },
    { ...REQUEST, username: 'a\nb' },
    { ...REQUEST, password: '' },
    { ...REQUEST, password: undefined as unknown as string },
    { ...REQUEST, password: PASSWORD.repeat(30) },
    { ...REQUEST, scopes: ['openid'] },
    { ...REQUEST, scopes: [] },
  ]) {
    const error = await assertRejects(() => acquireTokenByUsernamePassword(tenant.ctx, bad), CallerError, 'invalid_request');
    assertNoPassword(error);
  }
  assertEquals(tenant.forms.length, 0);
});

test('an ID token without a signature the provider made is refused and nothing is cached', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => tenant.tokens({ id_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }));
  await assertRejects(() => acquireTokenByUsernamePassword(tenant.ctx, REQUEST), Error, 'invalid_id_token');
  assertEquals(tenant.store.data.size, 0);
});

test('a user of a tenant outside ALLOWED_TENANTS is refused (access_denied) before anything is cached', async () => {
  const tenant = await fakeTenant({ ALLOWED_TENANTS: '2f7c9e40-1b3d-4a5e-8c6f-7d9e0a1b2c3d' });
  // A single-tenant authority needs no allow-list, but one that is set is still applied.
  tenant.answers.push(() => tenant.tokens());
  await assertRejects(() => acquireTokenByUsernamePassword(tenant.ctx, REQUEST), CallerError, 'access_denied');
  assertEquals(tenant.store.data.size, 0);
});
