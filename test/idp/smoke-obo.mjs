// Smoke checks for the on-behalf-of grant (obo-grant.mjs), the `api://web-app` resource and the
// `step_up` fault. Run from smoke.mjs (`node test/idp/smoke.mjs`), which hands in its helpers.

import { setTimeout as sleep } from 'node:timers/promises';

import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

import { loginHeadless, pkcePair } from './headless-login.mjs';
import { assert, check } from './smoke-checks.mjs';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const STEP_UP_CLAIMS = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';

/**
 * @param {import('./server.mjs').Idp} idp  an http IdP
 * @param {{ postToken: Function, assertEntraError: Function, basic: (id: string, secret: string) => string }} h
 */
export async function oboChecks(idp, { postToken, assertEntraError, basic }) {
  const { webApp, middleTier } = idp.clients;
  const T = idp.tenants.primary;
  const alice = idp.users.find((u) => u.username === 'alice@contoso.test');
  const redirectUri = 'http://localhost:8787/auth/callback';
  const asWebApp = { headers: { authorization: basic(webApp.clientId, webApp.clientSecret) } };
  const jwks = createRemoteJWKSet(new URL(`${idp.authority()}/discovery/v2.0/keys`));
  const obo = (assertion, scope = 'api://downstream/read', opts = asWebApp, extra = {}) => postToken(idp, {
    grant_type: JWT_BEARER, requested_token_use: 'on_behalf_of', assertion, scope, ...extra,
  }, opts);
  const invalidGrant = (r, what, code, reason) => {
    assert(r.res.status === 400, `${what}: 400`, { status: r.res.status, body: r.json });
    assertEntraError(r.json, 'invalid_grant', what);
    if (code) assert(r.json.error_codes[0] === code, `${what}: AADSTS${code}`, r.json);
    if (reason) assert(reason.test(r.json.error_description), `${what}: for the right reason ${reason}`, r.json.error_description);
    assert(r.json.access_token === undefined, `${what}: no token`, r.json);
  };

  // Alice signs in to the web app asking for its own API and the downstream API; the code is redeemed
  // for the web app's API (one resource per token, as at Entra); a refresh gets the other one.
  let session;
  await check('10. sign-in for api://web-app/access_as_user (+ api://downstream/read) → user token aud api://web-app', async () => {
    idp.controls.reset();
    const pkce = pkcePair();
    const scopes = ['openid', 'profile', 'offline_access', 'api://web-app/access_as_user', 'api://downstream/read'];
    const cb = new URL(await loginHeadless(idp, {
      clientId: webApp.clientId, redirectUri, scopes, codeChallenge: pkce.challenge, username: alice.username, password: alice.password,
    }));
    const tok = await postToken(idp, {
      grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: pkce.verifier,
      scope: 'openid profile offline_access api://web-app/access_as_user',
    }, asWebApp);
    assert(tok.res.status === 200 && tok.json.refresh_token && tok.json.id_token, 'code redeemed', tok.json);
    const { payload } = await jwtVerify(tok.json.access_token, jwks, { issuer: idp.issuer(), audience: 'api://web-app' });
    assert(payload.scp === 'access_as_user' && payload.sub === alice.oid && payload.oid === alice.oid && payload.tid === T && payload.azp === 'web-app',
      'user token for the web app API', payload);
    const down = await postToken(idp, { grant_type: 'refresh_token', refresh_token: tok.json.refresh_token, scope: 'api://downstream/read' }, asWebApp);
    assert(down.res.status === 200 && decodeJwt(down.json.access_token).aud === 'api://downstream' && decodeJwt(down.json.access_token).scp === 'read',
      'refresh → downstream token', down.json);
    const back = await postToken(idp, { grant_type: 'refresh_token', refresh_token: down.json.refresh_token, scope: 'openid offline_access api://web-app/access_as_user' }, asWebApp);
    const again = decodeJwt(back.json.access_token);
    assert(back.res.status === 200 && again.aud === 'api://web-app' && again.scp === 'access_as_user', 'refresh → web-app API token', back.json);
    session = { userToken: back.json.access_token, downstreamToken: down.json.access_token, idToken: back.json.id_token, refreshToken: back.json.refresh_token };
  });
  if (!session) return;

  await check('11. OBO: web-app exchanges the user token for api://downstream/read → same user, no refresh token', async () => {
    idp.controls.reset();
    const d = await (await fetch(`${idp.authority()}/v2.0/.well-known/openid-configuration`)).json();
    assert(d.grant_types_supported.includes(JWT_BEARER), 'discovery lists jwt-bearer', d.grant_types_supported);
    const r = await obo(session.userToken);
    assert(r.res.status === 200, 'status 200', r.json);
    const b = r.json;
    assert(b.token_type === 'Bearer' && b.expires_in === 3600 && b.ext_expires_in === 3600 && b.scope === 'api://downstream/read', 'response fields', b);
    assert(b.refresh_token === undefined && b.id_token === undefined, 'no refresh_token, no id_token', b);
    const ci = JSON.parse(Buffer.from(b.client_info, 'base64url').toString('utf8'));
    assert(ci.uid === alice.oid && ci.utid === T, 'client_info', ci);
    const { payload, protectedHeader } = await jwtVerify(b.access_token, jwks, { issuer: idp.issuer(), audience: 'api://downstream' });
    assert(protectedHeader.alg === 'RS256' && protectedHeader.typ === 'JWT', 'header', protectedHeader);
    assert(payload.sub === alice.oid && payload.oid === alice.oid && payload.tid === T && payload.scp === 'read', 'same user, scp', payload);
    assert(payload.azp === 'web-app' && payload.appid === 'web-app' && payload.ver === '2.0' && payload.preferred_username === alice.username, 'azp/appid', payload);
    assert(payload.idtyp === undefined && payload.roles === undefined, 'a user token', payload);
    // .default: every delegated scope of the API; requested through /common it is routed by the assertion's tid.
    const all = await postToken(idp, { grant_type: JWT_BEARER, requested_token_use: 'on_behalf_of', assertion: session.userToken, scope: 'api://downstream/.default' },
      { ...asWebApp, tenant: 'common' });
    assert(all.res.status === 200 && decodeJwt(all.json.access_token).scp === 'read write' && decodeJwt(all.json.access_token).iss === idp.issuer(), '.default via /common', all.json);
    // middle-tier holds the grant too (its API: api://middle-tier).
    const pkce = pkcePair();
    const cb = new URL(await loginHeadless(idp, {
      clientId: webApp.clientId, redirectUri, scopes: ['openid', 'api://middle-tier/access_as_user'], codeChallenge: pkce.challenge, username: alice.username, password: alice.password,
    }));
    const mt = await postToken(idp, {
      grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: pkce.verifier, scope: 'openid api://middle-tier/access_as_user',
    }, asWebApp);
    const viaMiddle = await obo(mt.json.access_token, 'api://downstream/write', { headers: {} }, { client_id: middleTier.clientId, client_secret: middleTier.clientSecret });
    assert(viaMiddle.res.status === 200 && decodeJwt(viaMiddle.json.access_token).azp === 'middle-tier' && decodeJwt(viaMiddle.json.access_token).sub === alice.oid,
      'middle-tier OBO', viaMiddle.json);
    const counts = idp.controls.counts();
    assert(counts['token:jwt-bearer'] === 3, 'counted as token:jwt-bearer', counts);
    return `counts ${JSON.stringify(counts)}`;
  });

  await check('12. OBO refusals: app-only, other API, wrong caller, id_token, tampered, other tenant, expired → invalid_grant', async () => {
    idp.controls.reset();
    const appOnly = await postToken(idp, { grant_type: 'client_credentials', scope: 'api://web-app/.default' }, asWebApp);
    assert(appOnly.res.status === 200 && decodeJwt(appOnly.json.access_token).aud === 'api://web-app', 'app token for api://web-app', appOnly.json);
    invalidGrant(await obo(appOnly.json.access_token), 'app-only token', 50013, /app-only/);
    invalidGrant(await obo(session.downstreamToken), 'token for api://downstream', 50013, /audience in the assertion was 'api:\/\/downstream'/);
    invalidGrant(await obo(session.userToken, 'api://downstream/read', { headers: {} }, { client_id: middleTier.clientId, client_secret: middleTier.clientSecret }),
      'middle-tier presenting a token for api://web-app', 50013, /expected audience is 'api:\/\/middle-tier'/);
    invalidGrant(await obo(session.idToken), 'an id_token (aud web-app, no scp)', 50013, /no scp/);
    const [h, p, s] = session.userToken.split('.');
    const flipped = `${s.slice(0, 40)}${s[40] === 'A' ? 'B' : 'A'}${s.slice(41)}`;
    invalidGrant(await obo(`${h}.${p}.${flipped}`), 'bad signature', 50013, /signature validation.*SIGNATURE_VERIFICATION_FAILED/);
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(session.userToken), sub: 'someone-else' })).toString('base64url');
    invalidGrant(await obo(`${h}.${forged}.${s}`), 'changed payload', 50013, /SIGNATURE_VERIFICATION_FAILED/);
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    invalidGrant(await obo(`${none}.${p}.`), 'alg none', 50013, /signature validation/);
    invalidGrant(await obo('not-a-jwt'), 'garbage', 50013, /signature validation/);
    invalidGrant(await obo(session.userToken, 'api://downstream/read', { ...asWebApp, tenant: idp.tenants.secondary }), 'primary-tenant token at the secondary tenant', 50013, /issuer/);

    // Parameter and scope errors.
    const noUse = await postToken(idp, { grant_type: JWT_BEARER, assertion: session.userToken, scope: 'api://downstream/read' }, asWebApp);
    assert(noUse.res.status === 400, 'missing requested_token_use', noUse.json);
    assertEntraError(noUse.json, 'invalid_request', 'missing requested_token_use');
    assertEntraError((await obo(session.userToken, 'api://downstream/nope')).json, 'invalid_scope', 'unknown scope');
    assertEntraError((await obo(session.userToken, 'api://nope/read')).json, 'invalid_resource', 'unknown API');
    assertEntraError((await obo(session.userToken, 'api://downstream/read api://other/read')).json, 'invalid_scope', 'two APIs');

    // Expired: a one-second token, presented after it ran out (no clock skew allowed).
    idp.controls.setTokenLifetime({ accessTokenTtl: 1 });
    const short = await postToken(idp, { grant_type: 'refresh_token', refresh_token: session.refreshToken, scope: 'api://web-app/access_as_user' }, asWebApp);
    assert(short.res.status === 200 && short.json.expires_in === 1, 'one-second token', short.json);
    session.refreshToken = short.json.refresh_token;
    await sleep(2100);
    const expired = await obo(short.json.access_token);
    invalidGrant(expired, 'expired token', 500133, /not within its valid time range/);
    idp.controls.reset();
    assert((await obo(session.userToken)).res.status === 200, 'the valid token still works');
    return `expired: ${expired.json.error_description.split('\r\n')[0].slice(0, 90)}…`;
  });

  await check('13. step_up fault on token:jwt-bearer → 400 invalid_grant, suberror basic_action, claims, AADSTS50076', async () => {
    idp.controls.reset();
    const ctl = await fetch(`${idp.origin}/_control/fault`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpoint: 'token:jwt-bearer', kind: 'step_up' }),
    });
    assert(ctl.status === 200, 'fault queued', await ctl.text());
    const refresh = await postToken(idp, { grant_type: 'refresh_token', refresh_token: session.refreshToken, scope: 'api://web-app/access_as_user' }, asWebApp);
    assert(refresh.res.status === 200, 'other grants unaffected', refresh.json);
    session.refreshToken = refresh.json.refresh_token;
    const r = await obo(session.userToken);
    assert(r.res.status === 400, 'status 400', r.json);
    assertEntraError(r.json, 'invalid_grant', 'step_up');
    assert(r.json.suberror === 'basic_action' && r.json.claims === STEP_UP_CLAIMS, 'suberror + claims', r.json);
    assert(JSON.stringify(r.json.error_codes) === '[50076]' && r.json.error_description.startsWith('AADSTS50076: '), 'AADSTS50076', r.json);
    assert(r.res.headers.get('content-type').startsWith('application/json') && r.res.headers.get('x-ms-request-id') === r.json.trace_id, 'headers', Object.fromEntries(r.res.headers));
    assert((await obo(session.userToken)).res.status === 200, 'fault used once');
    // A custom challenge; the JS control takes an object.
    idp.controls.fault({ endpoint: 'token:jwt-bearer', kind: 'step_up', claims: { access_token: { acrs: { essential: true, value: 'c2' } } } });
    const custom = await obo(session.userToken);
    assert(custom.json.claims === '{"access_token":{"acrs":{"essential":true,"value":"c2"}}}', 'custom claims', custom.json);
    const counts = idp.controls.counts();
    assert(counts['token:jwt-bearer'] === 3, 'faulted requests counted', counts);
    return `answer: ${JSON.stringify({ ...r.json, error_description: `${r.json.error_description.split('\r\n')[0]}…` })}`;
  });
}
