/**
 * The kinds of authority and their rules, without a network: URL forms, inference from the host, the
 * trusted-host rule for Entra-family kinds, discovery URLs, the issuer each kind's discovery may announce,
 * the tenant learned from it, B2C's user flow in the ID token, and the account each kind signs in.
 */
import * as jose from 'jose';
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows, test } from './spec.ts';
import { buildAccount, signedInAccount } from '../../lib/account.ts';
import { ClientConfigurationError, NetworkError } from '../../lib/errors.ts';
import { discoveryUrl, issuerMatches, parseAuthority, tenantIdOf, type Authority } from '../../lib/oauth/authority.ts';
import { validateIdToken } from '../../lib/oauth/id-token.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { base64url, utf8 } from '../../lib/encoding.ts';
import { jsonResponse } from './fakes.ts';

const TID = '0b7c2a4e-91d3-4f6a-8e25-3c1d9b7a6f40';
const OTHER = '5e8f1c2d-3a4b-4c6d-9e7f-0a1b2c3d4e5f';

// ---- URL forms and kinds ----------------------------------------------------------------------------

test('an Entra tenant named by domain keeps the domain as its tenant and learns its id from discovery', () => {
  const authority = parseAuthority('https://login.microsoftonline.com/Contoso.onmicrosoft.com/');
  assertEquals([authority.type, authority.tenant, authority.multiTenant], ['entra', 'contoso.onmicrosoft.com', false]);
  assertEquals(discoveryUrl(authority), 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration');
});

test('every sovereign cloud host is an Entra host', () => {
  for (const host of ['login.microsoftonline.us', 'login.partner.microsoftonline.cn', 'login.chinacloudapi.cn', 'login.usgovcloudapi.net', 'login.microsoft.com', 'login.windows.net']) {
    assertEquals(parseAuthority(`https://${host}/${TID}`).type, 'entra', host);
  }
});

test('External ID without a path is completed to its default tenant, as MSAL does', () => {
  const authority = parseAuthority('https://contoso.ciamlogin.com');
  assertEquals([authority.type, authority.url, authority.tenant], ['ciam', 'https://contoso.ciamlogin.com/contoso.onmicrosoft.com', 'contoso.onmicrosoft.com']);
  assertEquals(discoveryUrl(authority), 'https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration');
});

test('External ID by tenant id, and on a custom domain with an explicit type and listed host', () => {
  assertEquals(parseAuthority(`https://contoso.ciamlogin.com/${TID}`).tenant, TID);
  const custom = parseAuthority(`https://login.contoso.com/${TID}`, { type: 'ciam', knownHosts: ['login.contoso.com'] });
  assertEquals([custom.type, custom.tenant], ['ciam', TID]);
});

test('a B2C authority carries its user flow; the tfp form is the same authority', () => {
  const authority = parseAuthority('https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_SignUpSignIn');
  assertEquals([authority.type, authority.tenant, authority.policy], ['b2c', 'contoso.onmicrosoft.com', 'B2C_1_SignUpSignIn']);
  assertEquals(authority.url, 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_SignUpSignIn');
  assertEquals(discoveryUrl(authority), 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_SignUpSignIn/v2.0/.well-known/openid-configuration');
  assertEquals(parseAuthority('https://contoso.b2clogin.com/tfp/contoso.onmicrosoft.com/B2C_1_SignUpSignIn').url, authority.url);
});

test('a B2C authority without a user flow is refused', () => {
  const error = assertThrows(() => parseAuthority('https://contoso.b2clogin.com/contoso.onmicrosoft.com'), ClientConfigurationError);
  assertStringIncludes(error.message, 'user flow');
});

test('AD FS is https://<host>/adfs, declared, with its discovery at the issuer', () => {
  const authority = parseAuthority('https://adfs.contoso.com/adfs/', { type: 'adfs' });
  assertEquals([authority.type, authority.url, authority.tenant, authority.issuer], ['adfs', 'https://adfs.contoso.com/adfs', 'adfs', 'https://adfs.contoso.com/adfs']);
  assertEquals(discoveryUrl(authority), 'https://adfs.contoso.com/adfs/.well-known/openid-configuration');
  assertThrows(() => parseAuthority('https://adfs.contoso.com/other', { type: 'adfs' }), ClientConfigurationError);
});

// ---- which hosts may serve which kind ----------------------------------------------------------------

test('an unknown host needs AUTHORITY_TYPE: its kind cannot be guessed from its path', () => {
  for (const url of [`https://login.contoso.com/${TID}`, 'https://keycloak.contoso.com/realms/main', 'https://adfs.contoso.com/adfs']) {
    const error = assertThrows(() => parseAuthority(url), ClientConfigurationError);
    assertEquals(error.setting, 'AUTHORITY_TYPE', url);
  }
});

test('an Entra-family kind on a host that is not Microsoft\'s is refused unless KNOWN_AUTHORITY_HOSTS lists it', () => {
  for (const type of ['entra', 'ciam'] as const) {
    const error = assertThrows(() => parseAuthority(`https://login.evil.example/${TID}`, { type }), ClientConfigurationError);
    assertStringIncludes(error.message, 'KNOWN_AUTHORITY_HOSTS');
  }
  assertThrows(() => parseAuthority('https://login.evil.example/t.onmicrosoft.com/B2C_1_x', { type: 'b2c' }), ClientConfigurationError);
  assertEquals(parseAuthority(`https://login.evil.example/${TID}`, { type: 'entra', knownHosts: ['LOGIN.EVIL.EXAMPLE'] }).type, 'entra');
});

test('a look-alike of a Microsoft host is not one', () => {
  for (const host of ['login.microsoftonline.com.evil.example', 'evil-login.microsoftonline.com.example', 'ciamlogin.com.evil.example', 'x.b2clogin.com.evil.example']) {
    const error = assertThrows(() => parseAuthority(`https://${host}/${TID}`), ClientConfigurationError);
    assertEquals(error.setting, 'AUTHORITY_TYPE', host);
  }
});

test('a listed host is B2C with two path segments and Entra with one', () => {
  const knownHosts = ['login.contoso.com'];
  assertEquals(parseAuthority(`https://login.contoso.com/${TID}`, { knownHosts }).type, 'entra');
  assertEquals(parseAuthority('https://login.contoso.com/contoso.onmicrosoft.com/B2C_1_susi', { knownHosts }).type, 'b2c');
});

test('any host may be a plain OpenID provider or AD FS when declared', () => {
  assertEquals(parseAuthority('https://keycloak.contoso.com/realms/main', { type: 'oidc' }).type, 'oidc');
  assertEquals(parseAuthority('https://login.microsoftonline.com/common', { type: 'oidc' }).type, 'oidc');
});

test('loopback hosts (development) are inferred: tenant → entra, /adfs → adfs, B2C_ flow → b2c, else oidc', () => {
  assertEquals(parseAuthority(`http://127.0.0.1:9000/${TID}`).type, 'entra');
  assertEquals(parseAuthority('http://127.0.0.1:9000/adfs').type, 'adfs');
  assertEquals(parseAuthority('http://127.0.0.1:9000/contosob2c.onmicrosoft.com/B2C_1_signupsignin').type, 'b2c');
  assertEquals(parseAuthority('http://127.0.0.1:9000/oidc').type, 'oidc');
});

// ---- issuer rules ----------------------------------------------------------------------------------

test('Entra by GUID: exactly its own issuer', () => {
  const authority = parseAuthority(`https://login.microsoftonline.com/${TID}`);
  assert(issuerMatches(authority, `https://login.microsoftonline.com/${TID}/v2.0`));
  assert(!issuerMatches(authority, `https://login.microsoftonline.com/${OTHER}/v2.0`));
  assert(!issuerMatches(authority, `https://login.microsoftonline.com/${TID}/v2.0/`));
});

test('Entra by domain: a tenant id under its own origin, which becomes the tenant', () => {
  const authority = parseAuthority('https://login.microsoftonline.com/contoso.onmicrosoft.com');
  assert(issuerMatches(authority, `https://login.microsoftonline.com/${TID}/v2.0`));
  assert(!issuerMatches(authority, `https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0`));
  assert(!issuerMatches(authority, `https://evil.example/${TID}/v2.0`));
  assert(!issuerMatches(authority, 'https://login.microsoftonline.com/{tenantid}/v2.0'));
  assertEquals(tenantIdOf(authority, { issuer: `https://login.microsoftonline.com/${TID.toUpperCase()}/v2.0` }), TID);
});

test('Entra multi-tenant: the {tenantid} template literally, and no tenant to learn', () => {
  const authority = parseAuthority('https://login.microsoftonline.com/organizations');
  assert(issuerMatches(authority, 'https://login.microsoftonline.com/{tenantid}/v2.0'));
  assert(!issuerMatches(authority, `https://login.microsoftonline.com/${TID}/v2.0`));
  assertEquals(tenantIdOf(authority, { issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' }), undefined);
});

test("External ID: the tenant's ciamlogin.com issuer, its id the configured one when the authority names an id", () => {
  const byName = parseAuthority('https://contoso.ciamlogin.com');
  assert(issuerMatches(byName, `https://${TID}.ciamlogin.com/${TID}/v2.0`));
  assert(!issuerMatches(byName, `https://${TID}.ciamlogin.com/${OTHER}/v2.0`));
  assertEquals(tenantIdOf(byName, { issuer: `https://${TID}.ciamlogin.com/${TID}/v2.0` }), TID);
  const byId = parseAuthority(`https://contoso.ciamlogin.com/${TID}`);
  assert(issuerMatches(byId, `https://${TID}.ciamlogin.com/${TID}/v2.0`));
  assert(!issuerMatches(byId, `https://${OTHER}.ciamlogin.com/${OTHER}/v2.0`));
});

test('B2C: <origin>/<tenant id>/v2.0/ with its trailing slash', () => {
  const authority = parseAuthority('https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi');
  assert(issuerMatches(authority, `https://contoso.b2clogin.com/${TID}/v2.0/`));
  assert(!issuerMatches(authority, `https://contoso.b2clogin.com/${TID}/v2.0`));
  assert(!issuerMatches(authority, `https://other.b2clogin.com/${TID}/v2.0/`));
  assertEquals(tenantIdOf(authority, { issuer: `https://contoso.b2clogin.com/${TID}/v2.0/` }), TID);
});

test('AD FS: exactly the authority; plain OIDC: the authority with or without its trailing slash', () => {
  const adfs = parseAuthority('https://adfs.contoso.com/adfs', { type: 'adfs' });
  assert(issuerMatches(adfs, 'https://adfs.contoso.com/adfs'));
  assert(!issuerMatches(adfs, 'https://adfs.contoso.com/adfs/services/trust'));
  const auth0 = parseAuthority('https://contoso.auth0.com/', { type: 'oidc' });
  assert(issuerMatches(auth0, 'https://contoso.auth0.com/'));
  assert(issuerMatches(auth0, 'https://contoso.auth0.com'));
  assert(!issuerMatches(auth0, 'https://contoso.auth0.com/other'));
  assertEquals(tenantIdOf(adfs, { issuer: adfs.issuer }), undefined);
});

test('discovery refuses a document whose issuer breaks its kind\'s rule', async () => {
  const authority = parseAuthority('https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi');
  const document = (issuer: string) => ({ issuer, token_endpoint: `${authority.url}/oauth2/v2.0/token`, jwks_uri: `${authority.url}/discovery/v2.0/keys` });
  const fetchOf = (issuer: string) => (async () => jsonResponse(document(issuer))) as unknown as typeof fetch;
  const good = await new ProviderMetadataCache().authorizationServer(authority, { fetch: fetchOf(`https://contoso.b2clogin.com/${TID}/v2.0/`), timeoutMs: 5000 }, Date.now());
  assertEquals(good.issuer, `https://contoso.b2clogin.com/${TID}/v2.0/`);
  const error = await assertRejects(
    () => new ProviderMetadataCache().authorizationServer(authority, { fetch: fetchOf('https://evil.example/x'), timeoutMs: 5000 }, Date.now()),
    NetworkError,
    'invalid_provider_response',
  );
  assertStringIncludes(error.message, 'is not the b2c issuer');
});

// ---- ID tokens: tenant and user flow -------------------------------------------------------------------

async function signer() {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const fetchImpl = (async () => jsonResponse({ keys: [jwk] })) as unknown as typeof fetch;
  const sign = (issuer: string, claims: Record<string, unknown>) =>
    new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setSubject('user-1').setAudience('web-app').setIssuedAt().setExpirationTime('1h').sign(privateKey);
  return { fetchImpl, sign };
}

function idTokenContext(authority: Authority, issuer: string, fetchImpl: typeof fetch) {
  const metadata = new ProviderMetadataCache();
  return { as: { issuer, jwks_uri: `${authority.url}/keys` }, authority, clientId: 'web-app', now: Date.now(), keys: (uri: string) => metadata.keySet(uri, { fetch: fetchImpl, timeoutMs: 5000 }) };
}

test('Entra by domain: an ID token of another tenant than the one discovery named is refused', async () => {
  const { fetchImpl, sign } = await signer();
  const authority = parseAuthority('https://login.microsoftonline.com/contoso.onmicrosoft.com');
  const issuer = `https://login.microsoftonline.com/${TID}/v2.0`;
  const ctx = idTokenContext(authority, issuer, fetchImpl);
  assertEquals((await validateIdToken(await sign(issuer, { tid: TID }), ctx, undefined)).tid, TID);
  const error = await assertRejects(() => sign(issuer, { tid: OTHER }).then((t) => validateIdToken(t, ctx, undefined)), NetworkError, 'invalid_id_token');
  assertStringIncludes(error.message, 'tid is not the configured tenant');
});

test("B2C: an ID token of another user flow of the same tenant is refused; tfp or acr, in any case", async () => {
  const { fetchImpl, sign } = await signer();
  const authority = parseAuthority('https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi');
  const issuer = `https://contoso.b2clogin.com/${TID}/v2.0/`;
  const ctx = idTokenContext(authority, issuer, fetchImpl);
  await validateIdToken(await sign(issuer, { tfp: 'b2c_1_SUSI' }), ctx, undefined);
  await validateIdToken(await sign(issuer, { acr: 'B2C_1_susi' }), ctx, undefined);
  for (const claims of [{ tfp: 'B2C_1_passwordreset' }, {}]) {
    const error = await assertRejects(() => sign(issuer, claims).then((t) => validateIdToken(t, ctx, undefined)), NetworkError, 'invalid_id_token');
    assertStringIncludes(error.message, 'not the configured user flow');
  }
});

// ---- accounts --------------------------------------------------------------------------------------------

function clientInfo(uid: string, utid: string): string {
  return base64url(utf8(JSON.stringify({ uid, utid })));
}

test("B2C accounts are MSAL's: <oid>-<user flow>.<tenant id> from client_info, realm the tenant id, username the first email", () => {
  const account = signedInAccount(
    { idTokenClaims: { sub: 'oid-1', oid: 'oid-1', tfp: 'B2C_1_susi', emails: ['alice@contoso.test'] }, client_info: clientInfo('oid-1-b2c_1_susi', TID) },
    parseAuthority('https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi'),
    0,
  );
  assertEquals([account.home_account_id, account.realm, account.username, account.authority_type], [`oid-1-b2c_1_susi.${TID}`, TID, 'alice@contoso.test', 'MSSTS']);
});

test('AD FS accounts: no client_info, so the ID token\'s sub; realm adfs; username the upn; authority type ADFS', () => {
  const account = signedInAccount({ idTokenClaims: { sub: 'Zx9-opaque', upn: 'alice@contoso.com', unique_name: 'CONTOSO\\alice' } }, parseAuthority('https://adfs.contoso.com/adfs', { type: 'adfs' }), 0);
  assertEquals([account.home_account_id, account.realm, account.username, account.local_account_id, account.authority_type], ['Zx9-opaque', 'adfs', 'alice@contoso.com', 'Zx9-opaque', 'ADFS']);
});

test('plain OIDC accounts: the sub of the one issuer this deployment trusts, realm empty', () => {
  const account = signedInAccount({ idTokenClaims: { sub: 'auth0|123', email: 'alice@contoso.test' } }, parseAuthority('https://contoso.auth0.com/', { type: 'oidc' }), 0);
  assertEquals([account.home_account_id, account.realm, account.username, account.environment], ['auth0|123', '', 'alice@contoso.test', 'contoso.auth0.com']);
});

test('buildAccount keeps MSSTS unless told otherwise', () => {
  assertEquals(buildAccount({ claims: { sub: 's' }, clientInfoRaw: undefined, environment: 'e', realm: 'r', now: 0 }).authority_type, 'MSSTS');
});
