/** validateAccessToken: what an API requires of a bearer token, one rule per test, with a local JWKS. */
import * as jose from 'jose';
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { validateAccessToken, type AccessTokenContext, type AccessTokenRequirements } from '../../lib/oauth/access-token.ts';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { CallerError, ClientConfigurationError } from '../../lib/errors.ts';
import { jsonResponse } from './fakes.ts';

const ORIGIN = 'https://login.access-token.test';
const TENANT = '8d3f2b1e-5c4a-4e7b-9a61-0f2d3c4b5a69';
const OTHER_TENANT = '0a1b2c3d-0000-4000-8000-000000000002';
const API = 'api://downstream';
const USER: AccessTokenRequirements = { audience: API, requiredScopes: ['read'] };

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
const publicJwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const fetchKeys = (async () => jsonResponse({ keys: [publicJwk] })) as unknown as typeof fetch;
const metadata = new ProviderMetadataCache();

function context(tenant = TENANT): AccessTokenContext {
  const authority = parseAuthority(`${ORIGIN}/${tenant}`, { knownHosts: [new URL(ORIGIN).host] });
  return {
    as: { issuer: authority.issuer, jwks_uri: `${ORIGIN}/${TENANT}/discovery/v2.0/keys` },
    authority,
    now: Date.now(),
    keys: (uri) => metadata.keySet(uri, { fetch: fetchKeys, timeoutMs: 5000 }),
  };
}

const now = () => Math.floor(Date.now() / 1000);

/** A user token for `read` on the API, as Entra issues it; `claims` override or (undefined) remove claims. */
function userToken(claims: Record<string, unknown> = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    iss: `${ORIGIN}/${TENANT}/v2.0`, aud: API, sub: 'user-sub', oid: 'user-oid', tid: TENANT,
    scp: 'read', iat: now(), nbf: now(), exp: now() + 3600, ...claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete payload[name];
  return new jose.SignJWT(payload as jose.JWTPayload).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).sign(privateKey);
}

/** An app-only token: roles, no scp, `idtyp: app` (Entra's optional claim). */
function appToken(claims: Record<string, unknown> = {}): Promise<string> {
  return userToken({ scp: undefined, roles: ['Data.Read'], idtyp: 'app', sub: 'sp-oid', oid: 'sp-oid', ...claims });
}

async function refused(token: Promise<string>, required: AccessTokenRequirements, code: 'invalid_client' | 'forbidden', ctx = context()): Promise<CallerError> {
  return await assertRejects(async () => validateAccessToken(await token, ctx, required), CallerError, code);
}

test('a user token for the API with the required scope is accepted', async () => {
  const claims = await validateAccessToken(await userToken(), context(), USER);
  assertEquals(claims.oid, 'user-oid');
});

test('a token without exp is refused', async () => {
  await refused(userToken({ exp: undefined }), USER, 'invalid_client');
});

test('an expired token is refused', async () => {
  await refused(userToken({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 }), USER, 'invalid_client');
});

test('a token whose nbf is still in the future (beyond the clock skew) is refused', async () => {
  await refused(userToken({ nbf: now() + 3600 }), USER, 'invalid_client');
});

test('a token for another audience is refused', async () => {
  await refused(userToken({ aud: 'api://other' }), USER, 'invalid_client');
});

test('an empty expected audience is a configuration error, whatever the token', async () => {
  const error = await assertRejects(async () => validateAccessToken(await userToken({ aud: '' }), context(), { ...USER, audience: '' }), ClientConfigurationError);
  assertEquals(error.errorCode, 'server_misconfigured');
  await assertRejects(async () => validateAccessToken(await userToken(), context(), { ...USER, audience: '  ' }), ClientConfigurationError);
});

test('requirements naming no scope and no role are a configuration error', async () => {
  await assertRejects(async () => validateAccessToken(await userToken(), context(), { audience: API }), ClientConfigurationError);
});

test('a single-tenant authority refuses a token of another tenant', async () => {
  await refused(userToken({ tid: OTHER_TENANT }), USER, 'invalid_client');
  await refused(userToken({ tid: undefined }), USER, 'invalid_client');
});

test('a multi-tenant authority refuses to validate without allowed tenants', async () => {
  const common = context('common');
  common.as = { ...common.as, issuer: `${ORIGIN}/{tenantid}/v2.0` };
  await assertRejects(async () => validateAccessToken(await userToken(), common, USER), ClientConfigurationError);
});

test('a multi-tenant authority accepts the allowed tenants only', async () => {
  const common = context('common');
  common.as = { ...common.as, issuer: `${ORIGIN}/{tenantid}/v2.0` };
  assertEquals((await validateAccessToken(await userToken(), common, { ...USER, allowedTenants: [TENANT] })).tid, TENANT);
  const other = userToken({ tid: OTHER_TENANT, iss: `${ORIGIN}/${OTHER_TENANT}/v2.0` });
  await refused(other, { ...USER, allowedTenants: [TENANT] }, 'forbidden', common);
  assertEquals((await validateAccessToken(await other, common, { ...USER, allowedTenants: ['*'] })).tid, OTHER_TENANT);
});

test('a user token without the required scope is refused', async () => {
  await refused(userToken({ scp: 'write' }), USER, 'forbidden');
  await refused(userToken({ scp: 'read' }), { audience: API, requiredScopes: ['read', 'write'] }, 'forbidden');
});

test('a scope is matched as a whole word of scp, not as a substring', async () => {
  await refused(userToken({ scp: 'readwrite' }), USER, 'forbidden');
});

test('a token without the required role is refused', async () => {
  await refused(appToken({ roles: ['Other.Role'] }), { audience: API, requiredRoles: ['Data.Read'], allowAppOnly: true }, 'forbidden');
});

test('an app-only token is refused where a user is required, even with the required role', async () => {
  const error = await refused(appToken(), { audience: API, requiredScopes: ['read'], requiredRoles: ['Data.Read'] }, 'forbidden');
  assert(error.errorMessage.includes('app-only'), error.errorMessage);
});

test('a token without scp is app-only even without idtyp', async () => {
  await refused(appToken({ idtyp: undefined }), { audience: API, requiredRoles: ['Data.Read'] }, 'forbidden');
});

test('a token with scp but idtyp app is app-only', async () => {
  await refused(userToken({ idtyp: 'app' }), USER, 'forbidden');
});

test('an app-only token with the required role is accepted where app-only tokens are allowed', async () => {
  const claims = await validateAccessToken(await appToken(), context(), { audience: API, requiredRoles: ['Data.Read'], allowAppOnly: true });
  assertEquals(claims.roles, ['Data.Read']);
});

test('a token signed with a key the provider does not publish is refused', async () => {
  const { privateKey: attacker } = await jose.generateKeyPair('RS256');
  const forged = new jose.SignJWT({ iss: `${ORIGIN}/${TENANT}/v2.0`, aud: API, tid: TENANT, scp: 'read', exp: now() + 3600 })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .sign(attacker);
  await refused(forged, USER, 'invalid_client');
});
