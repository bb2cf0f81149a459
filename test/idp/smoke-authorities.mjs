// Smoke test of the real-world authorities on the IdP's origin besides the Entra tenants: tenants by
// domain name, Azure AD B2C (b2c.mjs), AD FS (adfs.mjs) and a plain OpenID provider (plain-oidc.mjs).
// Run: node test/idp/smoke-authorities.mjs   (exits non-zero on failure)

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';

import { CookieJar, loginHeadless, pkcePair } from './headless-login.mjs';
import { startIdp } from './server.mjs';
import { assert, check, finish } from './smoke-checks.mjs';

const idp = await startIdp();
const { webApp } = idp.clients;
const { primary: P, secondary: S } = idp.tenants;
const redirectUri = 'http://localhost:8787/auth/callback';
const basic = `Basic ${Buffer.from(`${webApp.clientId}:${encodeURIComponent(webApp.clientSecret)}`).toString('base64')}`;
const alice = idp.users.find((u) => u.username === 'alice@contoso.test');
const carol = idp.users.find((u) => u.username === 'carol@fabrikam.test');
const { signUpSignIn, passwordReset, profileEdit } = idp.b2c.policies;
const b2cAlice = idp.b2c.users.find((u) => u.username === alice.username);
const adfsAlice = idp.adfs.users.find((u) => u.username === alice.username);
const oidcAlice = idp.oidc.users.find((u) => u.username === alice.username);

const getJson = async (url, init) => {
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { res, json, text };
};
const post = (url, params, headers = {}) => getJson(url, {
  method: 'POST', headers: { authorization: basic, ...headers }, body: new URLSearchParams(params),
});
const discover = async (url) => (await getJson(url)).json;
const decodeClientInfo = (ci) => JSON.parse(Buffer.from(ci, 'base64url').toString('utf8'));

/** Headless sign-in at `endpoint`'s authority; returns the callback's query parameters and the PKCE verifier. */
async function signIn(loginOptions, { user = alice, scopes, extra = {} } = {}) {
  const pkce = pkcePair();
  const callback = new URL(await loginHeadless(idp, {
    clientId: webApp.clientId, redirectUri, scopes, codeChallenge: pkce.challenge, state: 'st-1', nonce: 'n-1',
    username: user.username, password: user.password, extraParams: extra, ...loginOptions,
  }));
  return { params: callback.searchParams, verifier: pkce.verifier };
}

/** Sign-in and code redemption at a token endpoint. */
async function signInAndRedeem(loginOptions, tokenEndpoint, { user, scopes, extra = {}, tokenExtra = {} } = {}) {
  const { params, verifier } = await signIn(loginOptions, { user, scopes, extra });
  assert(params.get('code') && params.get('state') === 'st-1', 'callback has code and state', Object.fromEntries(params));
  const token = await post(tokenEndpoint, {
    grant_type: 'authorization_code', code: params.get('code'), code_verifier: verifier, redirect_uri: redirectUri, ...tokenExtra,
  });
  assert(token.res.status === 200, 'code redeemed', token.json ?? token.text);
  return token.json;
}

try {
  // ---- Entra tenants by domain name ----
  await check('1. /{domain}/v2.0 discovery = the GUID tenant\'s document (contoso.test, fabrikam.test, *.onmicrosoft.test); unknown domain invalid_tenant', async () => {
    const byGuid = await discover(`${idp.authority(P)}/v2.0/.well-known/openid-configuration`);
    for (const domain of ['contoso.test', 'Contoso.Test', 'contoso.onmicrosoft.test']) {
      const byDomain = await discover(`${idp.origin}/${domain}/v2.0/.well-known/openid-configuration`);
      assert(JSON.stringify(byDomain) === JSON.stringify(byGuid), `${domain}: same document as /${P}`, byDomain);
    }
    assert(byGuid.issuer === `${idp.origin}/${P}/v2.0` && byGuid.token_endpoint === `${idp.origin}/${P}/oauth2/v2.0/token`, 'GUID issuer and endpoints', byGuid);
    const fabrikam = await discover(`${idp.origin}/${idp.tenantDomains.secondary}/v2.0/.well-known/openid-configuration`);
    assert(fabrikam.issuer === `${idp.origin}/${S}/v2.0` && fabrikam.jwks_uri === `${idp.origin}/${S}/discovery/v2.0/keys`, 'fabrikam.test → secondary', fabrikam);
    const unknown = await getJson(`${idp.origin}/nope.test/v2.0/.well-known/openid-configuration`);
    assert(unknown.res.status === 400 && unknown.json.error === 'invalid_tenant' && unknown.json.error_codes?.[0] === 90002, 'unknown domain', unknown.json);
  });

  await check('2. sign-in, refresh and client credentials through /contoso.test and /fabrikam.test → tokens of the GUID tenant', async () => {
    idp.controls.reset();
    const tokens = await signInAndRedeem({ tenant: 'contoso.test' }, `${idp.origin}/contoso.test/oauth2/v2.0/token`,
      { scopes: ['openid', 'profile', 'offline_access', 'api://downstream/read'] });
    const jwks = createRemoteJWKSet(new URL(`${idp.origin}/contoso.test/discovery/v2.0/keys`));
    const { payload: id } = await jwtVerify(tokens.id_token, jwks, { issuer: idp.issuer(P), audience: webApp.clientId });
    assert(id.tid === P && id.oid === alice.oid && id.nonce === 'n-1', 'ID token of the primary tenant', id);
    const refreshed = await post(`${idp.origin}/contoso.test/oauth2/v2.0/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert(refreshed.res.status === 200 && decodeJwt(refreshed.json.access_token).iss === idp.issuer(P), 'refresh by domain', refreshed.json);
    const app = await post(`${idp.origin}/fabrikam.test/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'api://downstream/.default' });
    assert(app.res.status === 200 && decodeJwt(app.json.access_token).tid === S, 'client credentials at fabrikam.test → secondary', app.json);
    const counts = idp.controls.counts();
    assert(counts.authorize === 1 && counts['token:authorization_code'] === 1 && counts['token:client_credentials'] === 1, 'counted under the Entra keys', counts);
  });

  // ---- Azure AD B2C ----
  const b2cToken = (policy) => idp.b2c.tokenEndpoint(policy);
  const b2cJwks = createRemoteJWKSet(new URL(`${idp.b2c.authority(signUpSignIn)}/discovery/v2.0/keys`));

  await check('3. B2C discovery per policy: issuer ${origin}/{guid}/v2.0/ for every policy, endpoints under /{tenant}/{policy}; case-insensitive; unknown policy refused', async () => {
    for (const policy of [signUpSignIn, passwordReset, profileEdit, 'b2c_1_SIGNUPSIGNIN']) {
      const d = await discover(`${idp.b2c.authority(policy)}/v2.0/.well-known/openid-configuration`);
      const base = `${idp.origin}/${idp.b2c.domain}/${policy.toLowerCase()}`;
      assert(d.issuer === `${idp.origin}/${idp.b2c.tenantId}/v2.0/`, `${policy}: issuer with trailing slash`, d.issuer);
      assert(d.authorization_endpoint === `${base}/oauth2/v2.0/authorize` && d.token_endpoint === `${base}/oauth2/v2.0/token`
        && d.end_session_endpoint === `${base}/oauth2/v2.0/logout` && d.jwks_uri === `${base}/discovery/v2.0/keys`, `${policy}: endpoints`, d);
      assert(!d.userinfo_endpoint && !d.device_authorization_endpoint && d.authorization_response_iss_parameter_supported === undefined, 'no userinfo / device endpoints, no RFC 9207 iss', d);
    }
    const byGuid = await discover(`${idp.origin}/${idp.b2c.tenantId}/${signUpSignIn}/v2.0/.well-known/openid-configuration`);
    assert(byGuid.issuer === idp.b2c.issuer, 'tenant GUID as path segment', byGuid);
    const unknown = await getJson(`${idp.b2c.authority('B2C_1_nope')}/v2.0/.well-known/openid-configuration`);
    assert(unknown.res.status === 400 && /^AADB2C\d+: The policy 'B2C_1_nope' does not exist/.test(unknown.json.error_description), 'unknown policy', unknown.json);
    const keys = await discover(`${idp.b2c.authority(signUpSignIn)}/discovery/v2.0/keys`);
    const entraKeys = await discover(`${idp.authority()}/discovery/v2.0/keys`);
    assert(keys.keys.length === 1 && keys.keys[0].kid !== entraKeys.keys[0].kid, 'B2C signs with a key of its own', keys);
  });

  let b2cRefresh;
  await check('4. B2C sign-in (signupsignin, client_info=1): ID token claims, no access token for openid+offline_access, client_info uid "<oid>-<policy>", counts b2c:*', async () => {
    idp.controls.reset();
    const tokens = await signInAndRedeem({ surface: 'b2c', policy: signUpSignIn }, b2cToken(signUpSignIn), {
      scopes: ['openid', 'offline_access'], tokenExtra: { client_info: '1' },
    });
    assert(tokens.access_token === undefined && tokens.expires_in === undefined && tokens.refresh_token && tokens.id_token, 'ID token and refresh token only', tokens);
    assert(tokens.token_type === 'Bearer' && tokens.id_token_expires_in === 3600 && tokens.refresh_token_expires_in > 0 && tokens.ext_expires_in === undefined, 'B2C answer fields', tokens);
    const { payload: id, protectedHeader } = await jwtVerify(tokens.id_token, b2cJwks, { issuer: idp.b2c.issuer, audience: webApp.clientId });
    assert(protectedHeader.alg === 'RS256', 'RS256', protectedHeader);
    assert(id.sub === b2cAlice.oid && id.oid === b2cAlice.oid && id.tfp === signUpSignIn && id.ver === '1.0' && id.name === 'Alice', 'sub/oid/tfp/ver/name', id);
    assert(JSON.stringify(id.emails) === JSON.stringify(['alice@contoso.test']) && id.nonce === 'n-1', 'emails, nonce', id);
    assert(Number.isInteger(id.iat) && Number.isInteger(id.exp) && Number.isInteger(id.auth_time) && Number.isInteger(id.nbf), 'times', id);
    assert(id.tid === undefined && id.preferred_username === undefined, 'no tid, no preferred_username', id);
    const ci = decodeClientInfo(tokens.client_info);
    assert(ci.uid === `${b2cAlice.oid}-${signUpSignIn.toLowerCase()}` && ci.utid === idp.b2c.tenantId, 'client_info', ci);
    const counts = idp.controls.counts();
    assert(counts['b2c:authorize'] === 1 && counts['b2c:token'] === 1 && counts['b2c:token:authorization_code'] === 1 && counts.token === undefined && counts.authorize === undefined,
      'counted under b2c:* only', counts);
    b2cRefresh = tokens.refresh_token;
  });

  await check('5. B2C refresh keeps tfp; an API scope gets an access token (aud = API app id, scp, tfp, ver 1.0); no client_info unless asked', async () => {
    const refreshed = await post(b2cToken(signUpSignIn), { grant_type: 'refresh_token', refresh_token: b2cRefresh });
    assert(refreshed.res.status === 200 && refreshed.json.client_info === undefined && refreshed.json.refresh_token !== b2cRefresh, 'refreshed, rotated, no client_info', refreshed.json);
    assert(decodeJwt(refreshed.json.id_token).tfp === signUpSignIn, 'tfp kept', decodeJwt(refreshed.json.id_token));
    const api = `${idp.b2c.api.resource}/read`;
    const tokens = await signInAndRedeem({ surface: 'b2c', policy: signUpSignIn }, b2cToken(signUpSignIn), {
      scopes: ['openid', 'offline_access', api], tokenExtra: { client_info: '1', scope: `openid offline_access ${api}` },
    });
    const { payload: at, protectedHeader } = await jwtVerify(tokens.access_token, b2cJwks, { issuer: idp.b2c.issuer, audience: idp.b2c.api.appId });
    assert(protectedHeader.typ === 'JWT' && at.scp === 'read' && at.tfp === signUpSignIn && at.ver === '1.0' && at.sub === b2cAlice.oid && at.oid === b2cAlice.oid && at.azp === webApp.clientId,
      'B2C access token', at);
    assert(at.tid === undefined && at.scope === undefined && typeof tokens.expires_in === 'number', 'no tid / RFC 9068 scope', { at, tokens });
    const again = await post(b2cToken(signUpSignIn), { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: api, client_info: '1' });
    assert(again.res.status === 200 && decodeJwt(again.json.access_token).aud === idp.b2c.api.appId && again.json.client_info, 'refresh for the API', again.json);
    const app = await post(b2cToken(signUpSignIn), { grant_type: 'client_credentials', scope: `${idp.b2c.api.resource}/.default` });
    assert(app.res.status === 200 && decodeJwt(app.json.access_token).aud === idp.b2c.api.appId && decodeJwt(app.json.access_token).scp === undefined && !app.json.client_info,
      'client credentials for the B2C API', app.json);
    // B2C's idiom for an access token to the app's own back end: its client id as a scope.
    const own = await signInAndRedeem({ surface: 'b2c', policy: signUpSignIn }, b2cToken(signUpSignIn), { scopes: ['openid', 'offline_access', webApp.clientId] });
    const ownAt = decodeJwt(own.access_token);
    assert(ownAt.aud === webApp.clientId && ownAt.tfp === signUpSignIn && ownAt.scp === undefined && own.scope === webApp.clientId, 'client id as scope → aud = client id', { own, ownAt });
  });

  await check('6. b2c_forgot_password fault: next sign-in-policy authorize → redirect_uri?error=access_denied&error_description=AADB2C90118…&state (query, form_post); password reset flow untouched, tfp B2C_1_passwordreset', async () => {
    idp.controls.reset();
    const bad = await getJson(`${idp.origin}/_control/fault`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpoint: 'authorize', kind: 'b2c_forgot_password' }) });
    assert(bad.res.status === 400, 'only on b2c:authorize', bad.json);
    idp.controls.fault({ endpoint: 'b2c:authorize', kind: 'b2c_forgot_password', times: 2 });
    // A password-reset authorize neither triggers nor consumes it.
    const reset = await signInAndRedeem({ surface: 'b2c', policy: passwordReset }, b2cToken(passwordReset), { scopes: ['openid'] });
    assert(decodeJwt(reset.id_token).tfp === passwordReset, 'password reset flow: tfp', decodeJwt(reset.id_token));
    const { params } = await signIn({ surface: 'b2c', policy: signUpSignIn }, { scopes: ['openid', 'offline_access'] });
    assert(params.get('error') === 'access_denied' && params.get('state') === 'st-1' && !params.get('code'), 'query answer', Object.fromEntries(params));
    assert(params.get('error_description').startsWith('AADB2C90118: The user has forgotten their password.\r\nCorrelation ID: '), 'AADB2C90118', params.get('error_description'));
    const state = 'a&b"<c>\'';
    const viaForm = await signIn({ surface: 'b2c', policy: signUpSignIn }, { scopes: ['openid'], extra: { response_mode: 'form_post', state } });
    assert(viaForm.params.get('error') === 'access_denied' && viaForm.params.get('state') === state && /^AADB2C90118/.test(viaForm.params.get('error_description')), 'form_post answer', Object.fromEntries(viaForm.params));
    const after = await signIn({ surface: 'b2c', policy: signUpSignIn }, { scopes: ['openid'] });
    assert(after.params.get('code') && !after.params.has('iss'), 'fault used up: sign-in works again (no iss, as B2C)', Object.fromEntries(after.params));
    assert(idp.controls.counts()['b2c:authorize'] === 4, 'every authorize counted', idp.controls.counts());
  });

  await check('7. B2C errors in B2C\'s shape (AADB2C…, Correlation ID = client-request-id, no error_codes); faults too; carol is not in the directory', async () => {
    const cid = 'c0ffee00-0000-4000-8000-0000000000b2';
    const badCode = await post(b2cToken(signUpSignIn), { grant_type: 'authorization_code', code: 'nope', redirect_uri: redirectUri, code_verifier: 'x'.repeat(43) }, { 'client-request-id': cid });
    assert(badCode.res.status === 400 && badCode.json.error === 'invalid_grant' && Object.keys(badCode.json).join() === 'error,error_description', 'invalid_grant, two fields', badCode.json);
    assert(new RegExp(`^AADB2C90\\d{3}: .*\\r\\nCorrelation ID: ${cid}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\r\\n$`).test(badCode.json.error_description), 'B2C description', badCode.json);
    const badSecret = await post(b2cToken(signUpSignIn), { grant_type: 'client_credentials', scope: `${idp.b2c.api.resource}/.default` },
      { authorization: `Basic ${Buffer.from(`${webApp.clientId}:wrong`).toString('base64')}` });
    assert(badSecret.res.status === 401 && badSecret.json.error === 'invalid_client' && badSecret.json.error_description.startsWith('AADB2C90081: '), 'invalid_client', badSecret.json);
    idp.controls.fault({ endpoint: 'b2c:token', kind: '503', retryAfter: 2 });
    const faulted = await post(b2cToken(signUpSignIn), { grant_type: 'client_credentials', scope: `${idp.b2c.api.resource}/.default` });
    assert(faulted.res.status === 503 && faulted.res.headers.get('retry-after') === '2' && /^AADB2C90085: /.test(faulted.json.error_description) && !faulted.json.error_codes, '503 fault, B2C shape', faulted.json);
    let refused;
    try { await signIn({ surface: 'b2c', policy: signUpSignIn }, { user: carol, scopes: ['openid'] }); } catch (err) { refused = err; }
    assert(/invalid username or password/.test(String(refused?.message)), 'carol refused', String(refused));
  });

  // ---- AD FS ----
  const adfsJwks = createRemoteJWKSet(new URL(`${idp.adfs.authority}/discovery/keys`));
  let adfsTokens;
  await check('8. AD FS: discovery, sign-in (client_info=1 ignored), ID token sub/upn/unique_name/sid/ver 1.0 (no oid/tid/preferred_username), access token aud/scp, token_type bearer', async () => {
    idp.controls.reset();
    const d = await discover(`${idp.origin}/adfs/.well-known/openid-configuration`);
    assert(d.issuer === `${idp.origin}/adfs` && d.authorization_endpoint === `${idp.origin}/adfs/oauth2/authorize` && d.token_endpoint === `${idp.origin}/adfs/oauth2/token`
      && d.end_session_endpoint === `${idp.origin}/adfs/oauth2/logout` && d.jwks_uri === `${idp.origin}/adfs/discovery/keys`, 'AD FS discovery', d);
    assert(d.access_token_issuer === idp.adfs.accessTokenIssuer && d.scopes_supported.includes('allatclaims'), 'access_token_issuer, allatclaims', d);
    adfsTokens = await signInAndRedeem({ surface: 'adfs' }, idp.adfs.tokenEndpoint(), {
      scopes: ['openid', 'profile', 'offline_access', 'api://downstream/read', 'allatclaims'], extra: { client_info: '1' }, tokenExtra: { client_info: '1' },
    });
    assert(adfsTokens.client_info === undefined && adfsTokens.token_type === 'bearer' && adfsTokens.resource === 'api://downstream' && adfsTokens.refresh_token_expires_in > 0, 'AD FS answer', adfsTokens);
    assert(adfsTokens.ext_expires_in === undefined, 'no ext_expires_in', adfsTokens);
    const { payload: id } = await jwtVerify(adfsTokens.id_token, adfsJwks, { issuer: idp.adfs.issuer, audience: webApp.clientId });
    assert(id.sub === adfsAlice.sub && id.upn === alice.username && id.unique_name === 'CONTOSO\\alice' && id.sid === adfsAlice.sid && id.ver === '1.0', 'AD FS identity', id);
    assert(id.nonce === 'n-1' && Number.isInteger(id.auth_time) && id.appid === webApp.clientId && id.apptype === 'Confidential', 'nonce, auth_time, allatclaims', id);
    assert(id.oid === undefined && id.tid === undefined && id.preferred_username === undefined, 'no oid/tid/preferred_username', id);
    const { payload: at } = await jwtVerify(adfsTokens.access_token, adfsJwks, { issuer: idp.adfs.accessTokenIssuer, audience: 'api://downstream' });
    assert(at.scp === 'read' && at.appid === webApp.clientId && at.upn === alice.username && at.ver === '1.0' && at.oid === undefined && at.tid === undefined, 'AD FS access token', at);
    assert(decodeProtectedHeader(adfsTokens.access_token).typ === 'JWT', 'typ JWT');
    const counts = idp.controls.counts();
    assert(counts['adfs:discovery'] === 1 && counts['adfs:authorize'] === 1 && counts['adfs:token:authorization_code'] === 1 && counts.token === undefined, 'counted under adfs:*', counts);
  });

  await check('9. AD FS refresh (never client_info), client credentials, trailing slash; errors {error, error_description: "MSIS…"} only, faults too', async () => {
    const refreshed = await post(`${idp.adfs.tokenEndpoint()}/`, { grant_type: 'refresh_token', refresh_token: adfsTokens.refresh_token, client_info: '1' });
    assert(refreshed.res.status === 200 && !refreshed.json.client_info && decodeJwt(refreshed.json.id_token).sub === adfsAlice.sub, 'refresh', refreshed.json);
    const app = await post(idp.adfs.tokenEndpoint(), { grant_type: 'client_credentials', scope: 'api://downstream/.default' });
    const appAt = decodeJwt(app.json.access_token);
    assert(app.res.status === 200 && appAt.aud === 'api://downstream' && appAt.appid === webApp.clientId && appAt.scp === undefined && app.json.resource === 'api://downstream', 'client credentials', app.json);
    const twoFields = (r, error, code) => {
      assert(r.json?.error === error && Object.keys(r.json).join() === 'error,error_description' && r.json.error_description.startsWith(`MSIS${code}: `), `${error} MSIS${code}`, r.json);
    };
    twoFields(await post(idp.adfs.tokenEndpoint(), { grant_type: 'authorization_code', code: 'nope', redirect_uri: redirectUri, code_verifier: 'x'.repeat(43) }), 'invalid_grant', 9612);
    twoFields(await post(idp.adfs.tokenEndpoint(), { grant_type: 'refresh_token', refresh_token: adfsTokens.refresh_token }), 'invalid_grant', 9615);
    twoFields(await post(idp.adfs.tokenEndpoint(), { grant_type: 'client_credentials', scope: 'api://downstream/.default' }, { authorization: `Basic ${Buffer.from(`${webApp.clientId}:wrong`).toString('base64')}` }), 'invalid_client', 9622);
    idp.controls.fault({ endpoint: 'adfs:token', kind: '500' });
    const faulted = await post(idp.adfs.tokenEndpoint(), { grant_type: 'client_credentials', scope: 'api://downstream/.default' });
    assert(faulted.res.status === 500, '500 fault', faulted.res.status);
    twoFields(faulted, 'server_error', 9604);
  });

  // ---- plain OpenID provider ----
  await check('10. plain OIDC: discovery, sign-in, refresh, client credentials; oidc-provider\'s own shapes (no client_info/tid/oid/ext_expires_in), plain errors', async () => {
    idp.controls.reset();
    const d = await discover(`${idp.origin}/oidc/.well-known/openid-configuration`);
    assert(d.issuer === `${idp.origin}/oidc` && d.authorization_endpoint === `${idp.origin}/oidc/auth` && d.token_endpoint === `${idp.origin}/oidc/token`, 'discovery', d);
    const jwks = createRemoteJWKSet(new URL(d.jwks_uri));
    const tokens = await signInAndRedeem({ surface: 'oidc' }, d.token_endpoint, {
      scopes: ['openid', 'profile', 'email', 'offline_access', 'api://downstream/read'], tokenExtra: { client_info: '1' },
    });
    assert(tokens.client_info === undefined && tokens.ext_expires_in === undefined && tokens.token_type === 'Bearer' && tokens.refresh_token, 'plain answer', tokens);
    const { payload: id } = await jwtVerify(tokens.id_token, jwks, { issuer: idp.oidc.issuer, audience: webApp.clientId });
    assert(id.sub === oidcAlice.sub && id.nonce === 'n-1' && id.tid === undefined && id.oid === undefined, 'ID token', id);
    const { payload: at, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: idp.oidc.issuer, audience: 'api://downstream', typ: 'at+jwt' });
    assert(protectedHeader.typ === 'at+jwt' && at.scope === 'api://downstream/read' && at.client_id === webApp.clientId && at.tid === undefined, 'RFC 9068 access token', at);
    const refreshed = await post(d.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert(refreshed.res.status === 200 && refreshed.json.access_token, 'refresh', refreshed.json);
    const app = await post(d.token_endpoint, { grant_type: 'client_credentials', scope: 'api://downstream/read' });
    assert(app.res.status === 200 && decodeJwt(app.json.access_token).aud === 'api://downstream', 'client credentials', app.json);
    const bad = await post(d.token_endpoint, { grant_type: 'authorization_code', code: 'nope', redirect_uri: redirectUri, code_verifier: 'x'.repeat(43) });
    assert(bad.res.status === 400 && bad.json.error === 'invalid_grant' && !/AADSTS|MSIS|AADB2C/.test(bad.json.error_description) && bad.json.error_codes === undefined, 'plain error', bad.json);
    idp.controls.fault({ endpoint: 'oidc:token:client_credentials', kind: '429', retryAfter: 1 });
    const throttled = await post(d.token_endpoint, { grant_type: 'client_credentials', scope: 'api://downstream/read' });
    assert(throttled.res.status === 429 && throttled.json.error === 'temporarily_unavailable' && throttled.json.error_codes === undefined && throttled.json.trace_id === undefined, '429 fault, plain shape', throttled.json);
    const counts = idp.controls.counts();
    assert(counts['oidc:authorize'] === 1 && counts['oidc:token:client_credentials'] === 2 && counts['oidc:keys'] >= 1, 'counted under oidc:*', counts);
  });

  await check('11. controls on every surface: token lifetime, crafted ID token (wrong_nonce), reset', async () => {
    idp.controls.reset();
    idp.controls.setTokenLifetime({ accessTokenTtl: 1234 });
    const b2cApp = await post(b2cToken(signUpSignIn), { grant_type: 'client_credentials', scope: `${idp.b2c.api.resource}/.default` });
    const adfsApp = await post(idp.adfs.tokenEndpoint(), { grant_type: 'client_credentials', scope: 'api://downstream/.default' });
    const oidcApp = await post(idp.oidc.tokenEndpoint(), { grant_type: 'client_credentials', scope: 'api://downstream/read' });
    for (const [what, r] of [['b2c', b2cApp], ['adfs', adfsApp], ['oidc', oidcApp]]) assert(r.json.expires_in === 1234, `${what}: expires_in`, r.json);
    idp.controls.craftIdToken({ kind: 'wrong_nonce' });
    const tokens = await signInAndRedeem({ surface: 'b2c', policy: profileEdit }, b2cToken(profileEdit), { scopes: ['openid'] });
    const id = decodeJwt(tokens.id_token);
    assert(id.nonce === 'not-the-nonce' && id.tfp === profileEdit, 'crafted on B2C, re-signed with the B2C key', id);
    await jwtVerify(tokens.id_token, b2cJwks, { issuer: idp.b2c.issuer, audience: webApp.clientId });
    idp.controls.reset();
    assert(Object.keys(idp.controls.counts()).length === 0, 'reset clears counts', idp.controls.counts());
  });

  await check('12. loginHeadless({ surface }) as in the README; SSO per surface with one jar', async () => {
    const jar = new CookieJar();
    const pkce = pkcePair();
    const callback = await loginHeadless(idp, {
      surface: 'b2c', policy: idp.b2c.policies.signUpSignIn, clientId: webApp.clientId, redirectUri,
      scopes: ['openid', 'offline_access'], codeChallenge: pkce.challenge, username: 'alice@contoso.test', password: 'alice-password', jar,
    });
    assert(new URL(callback).searchParams.get('code'), 'B2C code', callback);
    for (const surface of ['adfs', 'oidc']) {
      const url = await loginHeadless(idp, {
        surface, clientId: webApp.clientId, redirectUri, scopes: ['openid'], codeChallenge: pkce.challenge, username: 'bob@contoso.test', password: 'bob-password', jar,
      });
      const params = new URL(url).searchParams;
      assert(params.get('code'), `${surface} code`, url);
      // RFC 9207 `iss`: oidc-provider's own behaviour at /oidc; AD FS sends none.
      assert(surface === 'oidc' ? params.get('iss') === idp.oidc.issuer : !params.has('iss'), `${surface}: iss parameter`, url);
    }
  });

  await check('13. sign-out at each surface (id_token_hint, post_logout_redirect_uri, state), counted as <surface>:logout', async () => {
    idp.controls.reset();
    const endSession = { b2c: `${idp.b2c.authority(signUpSignIn)}/oauth2/v2.0/logout`, adfs: `${idp.origin}/adfs/oauth2/logout`, oidc: `${idp.origin}/oidc/session/end` };
    for (const [surface, logout] of Object.entries(endSession)) {
      const jar = new CookieJar();
      const pkce = pkcePair();
      const callback = new URL(await loginHeadless(idp, {
        surface, clientId: webApp.clientId, redirectUri, scopes: ['openid'], codeChallenge: pkce.challenge, username: alice.username, password: alice.password, jar,
      }));
      const tokens = await post(idp[surface].tokenEndpoint(), { grant_type: 'authorization_code', code: callback.searchParams.get('code'), code_verifier: pkce.verifier, redirect_uri: redirectUri });
      const url = new URL(logout);
      url.search = new URLSearchParams({ id_token_hint: tokens.json.id_token, post_logout_redirect_uri: 'http://localhost:8787/', state: 'bye' }).toString();
      const page = await fetch(url, { headers: { cookie: jar.header() }, redirect: 'manual' });
      const html = await page.text();
      const action = /action="([^"]+)"/.exec(html)?.[1];
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
      const done = await fetch(new URL(action, url), {
        method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf, logout: 'yes' }),
      });
      assert(done.status === 303 && done.headers.get('location') === 'http://localhost:8787/?state=bye', `${surface}: back to the app`, { status: done.status, location: done.headers.get('location') });
    }
    const counts = idp.controls.counts();
    assert(counts['b2c:logout'] === 1 && counts['adfs:logout'] === 1 && counts['oidc:logout'] === 1 && counts.logout === undefined, 'counted per surface', counts);
  });
} finally {
  await idp.close();
}

// 14. msal-node over HTTPS, in a child process (global fetch + NODE_EXTRA_CA_CERTS)
const tlsIdp = await startIdp({ https: true });
try {
  await check('14. msal-node 7.2.3 auth code + silent refresh at B2C, AD FS, plain OIDC (protocolMode OIDC) and /contoso.test', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      fileURLToPath(new URL('./smoke-msal-authorities.mjs', import.meta.url)),
      JSON.stringify({
        origin: tlsIdp.origin, certificatePath: tlsIdp.tlsCertificatePath, clientId: webApp.clientId, clientSecret: webApp.clientSecret,
        redirectUri, username: alice.username, password: alice.password,
        authorities: [
          { name: 'b2c', authority: tlsIdp.b2c.authority(), scopes: [`${tlsIdp.b2c.api.resource}/read`] },
          { name: 'adfs', authority: `${tlsIdp.adfs.authority}/`, scopes: ['api://downstream/read'] },
          { name: 'oidc', authority: `${tlsIdp.oidc.authority}/`, scopes: ['api://downstream/read'], protocolMode: 'OIDC' },
          { name: 'domain', authority: `${tlsIdp.origin}/${tlsIdp.tenantDomains.primary}/`, scopes: ['api://downstream/read'] },
        ],
      }),
    ], { env: { ...process.env, NODE_EXTRA_CA_CERTS: tlsIdp.tlsCertificatePath }, timeout: 60_000 });
    const out = JSON.parse(stdout);
    for (const [name, r] of Object.entries(out)) assert(r.ok && r.accessToken && r.refreshed, `${name}: signed in and refreshed`, r);
    const b2cOid = tlsIdp.b2c.users.find((u) => u.username === alice.username).oid;
    assert(out.b2c.homeAccountId === `${b2cOid}-${signUpSignIn.toLowerCase()}.${tlsIdp.b2c.tenantId}` && out.b2c.tfp === signUpSignIn, 'B2C account (client_info)', out.b2c);
    assert(out.adfs.authorityType === 'ADFS' && out.adfs.homeAccountId === tlsIdp.adfs.users.find((u) => u.username === alice.username).sub, 'AD FS account (sub)', out.adfs);
    assert(out.oidc.homeAccountId === tlsIdp.oidc.users.find((u) => u.username === alice.username).sub, 'OIDC account (sub)', out.oidc);
    assert(out.domain.homeAccountId === `${alice.oid}.${P}` && out.domain.tenantId === P, 'Entra by domain: the GUID tenant', out.domain);
    return JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.homeAccountId])));
  });
} finally {
  await tlsIdp.close();
}
finish();
