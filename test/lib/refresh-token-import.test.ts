/** acquireTokenByRefreshToken (MSAL's migration API) against a fake tenant: redeemed once, rotated, ends like a sign-in. */
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { CallerError, InteractionRequiredError, NetworkError, ServerError } from '../../lib/errors.ts';
import { acquireTokenByRefreshToken } from '../../lib/flows/refresh-token-import.ts';
import { CLIENT_ID, OID, TENANT, entraError, fakeTenant } from './password-flow-fakes.ts';

const REQUEST = { refreshToken: 'rt-imported', scopes: ['api://a/read'] };

test('acquireTokenByRefreshToken redeems the token once and keeps the rotated one in the account record', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => tenant.tokens());
  const { result, record } = await acquireTokenByRefreshToken(tenant.ctx, { ...REQUEST, correlationId: 'corr-1' });
  assertEquals(tenant.forms.length, 1);
  assertEquals(Object.fromEntries(tenant.forms[0]!), {
    grant_type: 'refresh_token',
    refresh_token: 'rt-imported',
    scope: 'api://a/read openid profile offline_access',
    client_info: '1',
    client_id: CLIENT_ID,
    client_secret: 's',
  });
  assertEquals(result.account.homeAccountId, `${OID}.${TENANT}`);
  assertEquals(result.idTokenClaims.preferred_username, 'alice@contoso.test');
  assertEquals(result.accessToken, 'at-1');
  assertEquals(record.refreshToken?.secret, 'rt-2');
  assertEquals(record.idTokenClaims.oid, OID);
  const cached = await tenant.ctx.deps.cache.getAccessToken(
    { homeAccountId: `${OID}.${TENANT}`, environment: 'login.microsoftonline.com', clientId: CLIENT_ID, realm: TENANT, target: 'api://a/read' },
    Date.now(),
  );
  assertEquals(cached?.secret, 'at-1');
});

test('a provider that does not rotate leaves the imported refresh token in the record', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => tenant.tokens({ refresh_token: undefined }));
  const { record } = await acquireTokenByRefreshToken(tenant.ctx, REQUEST);
  assertEquals(record.refreshToken?.secret, 'rt-imported');
});

test('a refused refresh token is invalid_grant, interaction required, not retried, not echoed', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => entraError('invalid_grant', 70000, 'The provided authorization code or refresh token is invalid or expired.'));
  const error = await assertRejects(() => acquireTokenByRefreshToken(tenant.ctx, REQUEST), InteractionRequiredError, 'invalid_grant');
  assert(error instanceof ServerError && !error.message.includes('rt-imported'));
  assertEquals(tenant.forms.length, 1);
  assertEquals(tenant.store.data.size, 0);
});

test('an answer without an ID token is refused (it names the account) and nothing is cached', async () => {
  const tenant = await fakeTenant();
  tenant.answers.push(() => tenant.tokens({ id_token: undefined }));
  const error = await assertRejects(() => acquireTokenByRefreshToken(tenant.ctx, { ...REQUEST, correlationId: 'corr-9' }), NetworkError, 'invalid_id_token');
  assertEquals(error.correlationId, 'corr-9');
  assertEquals(tenant.store.data.size, 0);
});

test('a user of a tenant outside ALLOWED_TENANTS is refused before anything is cached', async () => {
  const tenant = await fakeTenant({ ALLOWED_TENANTS: '2f7c9e40-1b3d-4a5e-8c6f-7d9e0a1b2c3d' });
  tenant.answers.push(() => tenant.tokens());
  await assertRejects(() => acquireTokenByRefreshToken(tenant.ctx, REQUEST), CallerError, 'access_denied');
  assertEquals(tenant.store.data.size, 0);
});

test('a missing or malformed refresh token or scopes are the caller’s invalid_request, without a provider call', async () => {
  const tenant = await fakeTenant();
  for (const bad of [{ ...REQUEST, refreshToken: '' }, { ...REQUEST, refreshToken: 'a b' }, { ...REQUEST, refreshToken: 7 as unknown as string }, { ...REQUEST, scopes: ['offline_access'] }]) {
    await assertRejects(() => acquireTokenByRefreshToken(tenant.ctx, bad), CallerError, 'invalid_request');
  }
  assertEquals(tenant.forms.length, 0);
});
