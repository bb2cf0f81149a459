// Smoke checks for the password grant (password-grant.mjs). Run from smoke.mjs (`node test/idp/smoke.mjs`),
// which hands in its helpers.

import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

import { assert, check } from './smoke-checks.mjs';

/**
 * @param {import('./server.mjs').Idp} idp  an http IdP
 * @param {{ postToken: Function, assertEntraError: Function, basic: (id: string, secret: string) => string }} h
 */
export async function passwordChecks(idp, { postToken, assertEntraError, basic }) {
  const { webApp, middleTier } = idp.clients;
  const T = idp.tenants.primary;
  const alice = idp.users.find((u) => u.username === 'alice@contoso.test');
  const carol = idp.users.find((u) => u.username === 'carol@fabrikam.test');
  const asWebApp = { headers: { authorization: basic(webApp.clientId, webApp.clientSecret) } };
  const jwks = createRemoteJWKSet(new URL(`${idp.authority()}/discovery/v2.0/keys`));
  const scope = 'openid profile offline_access api://downstream/read';
  const password = (user, secret, opts = asWebApp, extra = {}) =>
    postToken(idp, { grant_type: 'password', username: user, password: secret, scope, client_info: '1', ...extra }, opts);

  await check('20. password grant: access token, ID token (no nonce), refresh token, client_info', async () => {
    idp.controls.reset();
    const r = await password(alice.username, alice.password);
    assert(r.res.status === 200, '200', r.json);
    const { access_token, id_token, refresh_token, client_info, token_type, expires_in, ext_expires_in } = r.json;
    assert(token_type === 'Bearer' && expires_in > 0 && ext_expires_in === expires_in && refresh_token, 'response fields', r.json);
    const { payload: at, protectedHeader } = await jwtVerify(access_token, jwks, { issuer: idp.issuer(), audience: 'api://downstream' });
    assert(protectedHeader.typ === 'JWT' && at.scp === 'read' && at.sub === alice.oid && at.oid === alice.oid && at.tid === T && at.azp === 'web-app',
      'user access token', at);
    const { payload: id } = await jwtVerify(id_token, jwks, { issuer: idp.issuer(), audience: webApp.clientId });
    assert(id.sub === alice.oid && id.oid === alice.oid && id.tid === T && id.preferred_username === alice.username && id.nonce === undefined,
      'ID token claims', id);
    const ci = JSON.parse(Buffer.from(client_info, 'base64url').toString());
    assert(ci.uid === alice.oid && ci.utid === T, 'client_info', ci);
    // The refresh token is a real one: the ordinary refresh grant redeems (and rotates) it.
    const refreshed = await postToken(idp, { grant_type: 'refresh_token', refresh_token, scope }, asWebApp);
    assert(refreshed.res.status === 200 && refreshed.json.refresh_token && refreshed.json.refresh_token !== refresh_token, 'refresh works', refreshed.json);
    assert(decodeJwt(refreshed.json.id_token).sub === alice.oid && decodeJwt(refreshed.json.access_token).aud === 'api://downstream', 'refreshed tokens', refreshed.json);
    const replay = await postToken(idp, { grant_type: 'refresh_token', refresh_token, scope }, asWebApp);
    assertEntraError(replay.json, 'invalid_grant', 'rotated refresh token replayed');
    const counts = idp.controls.counts();
    assert(counts['token:password'] === 1, 'counted as token:password', counts);
  });

  await check('21. password grant refusals: wrong password AADSTS50126, unknown / foreign user AADSTS50034, missing parameter, client not allowed', async () => {
    const wrong = await password(alice.username, 'not-alice-password');
    assert(wrong.res.status === 400, 'wrong password: 400', wrong.res.status);
    assertEntraError(wrong.json, 'invalid_grant', 'wrong password');
    assert(wrong.json.error_codes[0] === 50126 && !wrong.text.includes('not-alice-password'), 'AADSTS50126, password not echoed', wrong.json);
    const unknown = await password('nobody@contoso.test', 'x');
    assertEntraError(unknown.json, 'invalid_grant', 'unknown user');
    assert(unknown.json.error_codes[0] === 50034, 'unknown user: AADSTS50034', unknown.json);
    const foreign = await password(carol.username, carol.password);
    assert(foreign.json.error_codes?.[0] === 50034, 'carol at the primary tenant: AADSTS50034', foreign.json);
    const secondary = await postToken(idp, { grant_type: 'password', username: carol.username, password: carol.password, scope }, { ...asWebApp, tenant: idp.tenants.secondary });
    assert(secondary.res.status === 200 && decodeJwt(secondary.json.id_token).tid === idp.tenants.secondary, 'carol at her own tenant', secondary.json);
    const noPassword = await postToken(idp, { grant_type: 'password', username: alice.username, scope }, asWebApp);
    assertEntraError(noPassword.json, 'invalid_request', 'missing password');
    const notAllowed = await password(alice.username, alice.password, { headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { client_id: middleTier.clientId, client_secret: middleTier.clientSecret });
    // oidc-provider's refusal, in Entra's shape (its detail names the reason).
    assert(notAllowed.res.status === 400 && /grant type is not allowed for this client/.test(notAllowed.json.error_description) && !notAllowed.json.access_token,
      'middle-tier may not use the grant', notAllowed.json);
    const badSecret = await password(alice.username, alice.password, { headers: { authorization: basic(webApp.clientId, 'wrong') } });
    assert(badSecret.res.status === 401 && badSecret.json.error === 'invalid_client', 'client authentication still required', badSecret.json);
  });
}
