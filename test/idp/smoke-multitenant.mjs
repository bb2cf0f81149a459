// Multi-tenant authorities (`/common`, `/organizations`) serve users of both
// tenants. Run: node test/idp/smoke-multitenant.mjs   (exits non-zero on failure)

import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

import { CookieJar, loginHeadless, pkcePair } from './headless-login.mjs';
import { startIdp } from './server.mjs';
import { assert, check, finish } from './smoke-checks.mjs';


const idp = await startIdp();
const { primary: P, secondary: S } = idp.tenants;
const { webApp } = idp.clients;
const redirectUri = 'http://localhost:8787/auth/callback';
const scope = 'openid profile offline_access api://downstream/read';
const basic = `Basic ${Buffer.from(`${webApp.clientId}:${encodeURIComponent(webApp.clientSecret)}`).toString('base64')}`;
const carol = idp.users.find((u) => u.username === 'carol@fabrikam.test');
const alice = idp.users.find((u) => u.username === 'alice@contoso.test');

async function postToken(tenant, params) {
  const res = await fetch(`${idp.authority(tenant)}/oauth2/v2.0/token`, {
    method: 'POST', headers: { authorization: basic }, body: new URLSearchParams(params),
  });
  return { res, json: await res.json() };
}

/**
 * Auth code + PKCE through `tenant` (an alias or a tenant id) with extra
 * authorize params; redeems the code at the same authority.
 */
async function signIn(user, { tenant = 'common', extra = {}, jar = new CookieJar() } = {}) {
  const pkce = pkcePair();
  const authorize = new URL(`${idp.authority(tenant)}/oauth2/v2.0/authorize`);
  authorize.search = new URLSearchParams({
    client_id: webApp.clientId, response_type: 'code', redirect_uri: redirectUri, scope,
    code_challenge: pkce.challenge, code_challenge_method: 'S256', state: 'st', nonce: 'n-1', ...extra,
  }).toString();
  const before = idp.controls.counts().authorize ?? 0;
  const callback = new URL(await loginHeadless(idp, {
    authorizeUrl: authorize.href, username: user.username, password: user.password, jar,
  }));
  const authorizeRequests = (idp.controls.counts().authorize ?? 0) - before;
  assert(callback.searchParams.get('code') && callback.searchParams.get('state') === 'st', 'code + state', callback.href);
  const tok = await postToken(tenant, {
    grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: redirectUri,
    code_verifier: pkce.verifier, scope,
  });
  assert(tok.res.status === 200, `code redeemed at /${tenant}`, tok.json);
  return { ...tok.json, authorizeRequests, routedTo: tok.res.headers.get('x-idp-tenant'), callback, jar };
}

/** ID token, access token and client_info all say `tenant`; ID token verifies against /common's JWKS. */
async function assertTenant(tokens, user, tenant) {
  const commonJwks = createRemoteJWKSet(new URL(`${idp.origin}/common/discovery/v2.0/keys`));
  const { payload: id } = await jwtVerify(tokens.id_token, commonJwks, { issuer: idp.issuer(tenant), audience: webApp.clientId });
  assert(id.tid === tenant && id.oid === user.oid && id.preferred_username === user.username, 'id_token tid/oid/username', id);
  const { payload: at } = await jwtVerify(tokens.access_token, commonJwks, { issuer: idp.issuer(tenant), audience: 'api://downstream' });
  assert(at.tid === tenant && at.oid === user.oid && at.scp === 'read', 'access token tid/oid/scp', at);
  const ci = JSON.parse(Buffer.from(tokens.client_info, 'base64url').toString('utf8'));
  assert(ci.uid === user.oid && ci.utid === tenant, 'client_info', ci);
}

/**
 * Device-code verification in a "browser": follows redirects, submits every form
 * (login forms with the user's credentials); returns the first page without a form.
 */
async function browseDevice(startUrl, user) {
  const jar = new CookieJar();
  let url = startUrl;
  let init = { method: 'GET' };
  for (let hop = 0; hop < 20; hop += 1) {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie: jar.header() } });
    jar.store(res.headers.getSetCookie());
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).href;
      init = { method: 'GET' };
      continue;
    }
    const html = await res.text();
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
    if (res.status !== 200 || !form) return { status: res.status, html: html.slice(0, 400) };
    const fields = {};
    for (const input of form[2].matchAll(/<input([^>]*)>/gi)) {
      const name = /name="([^"]*)"/i.exec(input[1])?.[1];
      if (name) fields[name] = (/value="([^"]*)"/i.exec(input[1])?.[1] ?? '').replace(/&amp;/g, '&');
    }
    if (fields.prompt === 'login') Object.assign(fields, { login: user.username, password: user.password });
    url = new URL(form[1].replace(/&amp;/g, '&'), url).href;
    init = { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('browseDevice: too many redirects');
}

try {
  await check('1. /common discovery: {tenantid} issuer; /common JWKS = both tenants\' key', async () => {
    const d = await (await fetch(`${idp.origin}/common/v2.0/.well-known/openid-configuration`)).json();
    assert(d.issuer === `${idp.origin}/{tenantid}/v2.0`, 'templated issuer', d.issuer);
    assert(d.authorization_endpoint === `${idp.origin}/common/oauth2/v2.0/authorize`, 'authorize endpoint', d.authorization_endpoint);
    const keys = (await (await fetch(d.jwks_uri)).json()).keys.map((k) => k.kid);
    const secKeys = (await (await fetch(`${idp.authority(S)}/discovery/v2.0/keys`)).json()).keys.map((k) => k.kid);
    assert(secKeys.every((k) => keys.includes(k)), 'secondary keys in /common JWKS', { keys, secKeys });
  });

  let carolTokens;
  await check('2. carol via /common + login_hint → secondary tenant (iss, tid, client_info), one login page', async () => {
    carolTokens = await signIn(carol, { extra: { login_hint: carol.username } });
    await assertTenant(carolTokens, carol, S);
    assert(carolTokens.authorizeRequests === 1, 'one authorize request', carolTokens.authorizeRequests);
    assert(carolTokens.routedTo === S, '/token routed to secondary', carolTokens.routedTo);
  });

  await check('3. refresh through /common → secondary; rotated token refreshes again; reset() keeps routing', async () => {
    const first = await postToken('common', { grant_type: 'refresh_token', refresh_token: carolTokens.refresh_token, scope });
    assert(first.res.status === 200, 'refresh 200', first.json);
    await assertTenant(first.json, carol, S);
    idp.controls.reset(); // routing keeps no state: the refresh token is found in the secondary provider's store
    const second = await postToken('common', { grant_type: 'refresh_token', refresh_token: first.json.refresh_token, scope });
    assert(second.res.status === 200, 'second refresh 200', second.json);
    assert(decodeJwt(second.json.id_token).tid === S, 'second refresh tid', decodeJwt(second.json.id_token));
    const bogus = await postToken('common', { grant_type: 'refresh_token', refresh_token: 'not-a-token', scope });
    assert(bogus.res.status === 400 && bogus.json.error === 'invalid_grant', 'unknown refresh token → invalid_grant', bogus.json);
  });

  await check('4. carol via /common + domain_hint=fabrikam.test → secondary', async () => {
    const t = await signIn(carol, { extra: { domain_hint: 'fabrikam.test' } });
    await assertTenant(t, carol, S);
    assert(t.authorizeRequests === 1, 'one authorize request', t.authorizeRequests);
  });

  let carolJar;
  await check('5. carol via /common without hints → home-realm restart (two login pages) → secondary', async () => {
    const t = await signIn(carol);
    await assertTenant(t, carol, S);
    assert(t.authorizeRequests === 2, 'authorize restarted once with login_hint', t.authorizeRequests);
    carolJar = t.jar;
  });

  await check('6. carol via /organizations → secondary', async () => {
    const t = await signIn(carol, { tenant: 'organizations' });
    await assertTenant(t, carol, S);
  });

  await check('7. alice via /common (no hint) → primary, as before; refresh through /common', async () => {
    const t = await signIn(alice);
    await assertTenant(t, alice, P);
    assert(decodeJwt(t.id_token).iss === `${idp.origin}/${P}/v2.0`, 'iss primary');
    assert(t.authorizeRequests === 1, 'one authorize request', t.authorizeRequests);
    const r = await postToken('common', { grant_type: 'refresh_token', refresh_token: t.refresh_token, scope });
    assert(r.res.status === 200, 'refresh 200', r.json);
    await assertTenant(r.json, alice, P);
  });

  await check('8. same browser: carol again without hint (SSO via the routing cookie), then alice → primary', async () => {
    const again = await signIn(carol, { jar: carolJar });
    await assertTenant(again, carol, S);
    assert(again.authorizeRequests === 1, 'cookie routed straight to secondary', again.authorizeRequests);
    // Without a hint or prompt=login the browser's session user (carol) would be signed in again,
    // as with Entra SSO. prompt=login: the login lands at the secondary, alice restarts at her home.
    const a = await signIn(alice, { jar: carolJar, extra: { prompt: 'login' } });
    await assertTenant(a, alice, P);
    assert(a.authorizeRequests === 2, 'alice restarted to her home tenant', a.authorizeRequests);
    const hinted = await signIn(alice, { jar: carolJar, extra: { login_hint: alice.username } });
    await assertTenant(hinted, alice, P);
    assert(hinted.authorizeRequests === 1, 'login_hint beats the cookie', hinted.authorizeRequests);
  });

  await check('9. tenant paths: carol refused at the primary (AADSTS50034), fine at the secondary; alice at both', async () => {
    let refused;
    try { await signIn(carol, { tenant: P }); } catch (err) { refused = err; }
    assert(/AADSTS50034/.test(String(refused?.message)), 'carol at primary → AADSTS50034', String(refused?.message));
    await assertTenant(await signIn(carol, { tenant: S }), carol, S);
    await assertTenant(await signIn(alice, { tenant: P }), alice, P);
    await assertTenant(await signIn(alice, { tenant: S }), alice, S);
  });

  await check('10. logout through /common with carol\'s id_token_hint is served by the secondary tenant', async () => {
    const t = await signIn(carol, { extra: { login_hint: carol.username } });
    const url = new URL(`${idp.origin}/common/oauth2/v2.0/logout`);
    url.search = new URLSearchParams({ id_token_hint: t.id_token, post_logout_redirect_uri: 'http://localhost:8787/' }).toString();
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: t.jar.header() } });
    const html = await res.text();
    assert(res.status === 200 && /<form/i.test(html), 'logout confirmation page', { status: res.status, html: html.slice(0, 300) });
    assert(res.headers.get('x-idp-tenant') === S, 'routed to secondary', res.headers.get('x-idp-tenant'));
  });

  await check('11. device code at /common stays with the primary tenant: alice gets it, carol is refused', async () => {
    const publicClient = idp.clients.publicClient.clientId;
    const deviceCode = async () => {
      const res = await fetch(`${idp.origin}/common/oauth2/v2.0/devicecode`, {
        method: 'POST', body: new URLSearchParams({ client_id: publicClient, scope: 'openid offline_access api://downstream/read' }),
      });
      const body = await res.json();
      assert(res.status === 200 && body.device_code && res.headers.get('x-idp-tenant') === P, 'device code from primary', body);
      return body;
    };
    const poll = async (code) => (await fetch(`${idp.origin}/common/oauth2/v2.0/token`, {
      method: 'POST', body: new URLSearchParams({ client_id: publicClient, grant_type: 'device_code', device_code: code }),
    })).json();

    const forAlice = await deviceCode();
    assert((await poll(forAlice.device_code)).error === 'authorization_pending', 'pending at the issuing tenant');
    const done = await browseDevice(`${idp.origin}/common/devicelogin?user_code=${encodeURIComponent(forAlice.user_code)}`, alice);
    assert(done.status === 200 && /Sign-in Success/i.test(done.html), 'alice completes the device login', done);
    const tokens = await poll(forAlice.device_code);
    assert(tokens.id_token && decodeJwt(tokens.id_token).tid === P, 'device tokens from primary', tokens);

    const forCarol = await deviceCode();
    const refused = await browseDevice(`${idp.origin}/common/devicelogin?user_code=${encodeURIComponent(forCarol.user_code)}`, carol);
    assert(refused.status === 400 && /AADSTS50034/.test(refused.html), 'carol refused (not a member of the primary)', refused);
  });

  await check('12. loginHeadless({ tenant: "common" }) as in the README: carol → secondary', async () => {
    const pkce = pkcePair();
    const callback = new URL(await loginHeadless(idp, {
      tenant: 'common', clientId: webApp.clientId, redirectUri, scopes: scope.split(' '),
      codeChallenge: pkce.challenge, username: 'carol@fabrikam.test', password: 'carol-password',
    }));
    const tok = await postToken('common', {
      grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: pkce.verifier, scope,
    });
    assert(tok.res.status === 200, 'redeemed', tok.json);
    await assertTenant(tok.json, carol, S);
  });
} finally {
  await idp.close();
}

finish();
