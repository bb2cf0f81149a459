// Smoke test for the local IdP. Run: node test/idp/smoke.mjs (checks 10–13, on-behalf-of: smoke-obo.mjs; 20–21, password: smoke-password.mjs)
// Exits non-zero if any check fails.

import { execFile } from 'node:child_process';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import {
  SignJWT, compactVerify, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, importPKCS8, jwtVerify,
} from 'jose';

import { CookieJar, loginHeadless, pkcePair } from './headless-login.mjs';
import { startIdp } from './server.mjs';
import { assert, check, finish } from './smoke-checks.mjs';
import { oboChecks } from './smoke-obo.mjs';
import { passwordChecks } from './smoke-password.mjs';

const runFile = promisify(execFile);

function assertEntraError(body, error, msg = 'Entra error shape') {
  assert(body && body.error === error, `${msg}: error=${error}`, body);
  assert(/^AADSTS\d+: .*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: /s.test(body.error_description), `${msg}: error_description`, body.error_description);
  assert(Array.isArray(body.error_codes) && Number.isInteger(body.error_codes[0]), `${msg}: error_codes`, body);
  for (const k of ['timestamp', 'trace_id', 'correlation_id', 'error_uri']) assert(typeof body[k] === 'string', `${msg}: ${k}`, body);
}

const form = (o) => new URLSearchParams(o);
const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function postToken(idp, params, { headers = {}, tenant } = {}) {
  const res = await fetch(`${idp.authority(tenant)}/oauth2/v2.0/token`, { method: 'POST', headers, body: form(params) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON: fault tests look at text */ }
  return { res, json, text };
}

async function clientAssertion(idp, { alg = 'PS256', aud, jti = randomUUID() } = {}) {
  const { clientId, privateKeyPem, thumbprintSha256Hex } = idp.clients.webAppCert;
  const key = await importPKCS8(privateKeyPem, alg);
  return new SignJWT({})
    .setProtectedHeader({ alg, typ: 'JWT', 'x5t#S256': Buffer.from(thumbprintSha256Hex, 'hex').toString('base64url') })
    .setIssuer(clientId).setSubject(clientId)
    .setAudience(aud ?? `${idp.authority()}/oauth2/v2.0/token`)
    .setJti(jti).setIssuedAt().setNotBefore('0s').setExpirationTime('5m')
    .sign(key);
}

const idp = await startIdp();
const { webApp, webAppCert } = idp.clients;
const T = idp.tenants.primary;
console.log(`IdP at ${idp.origin} (primary tenant ${T})`);

try {
  // 1. Discovery
  await check('1. discovery (primary tenant) has Entra issuer and endpoints', async () => {
    const res = await fetch(`${idp.authority()}/v2.0/.well-known/openid-configuration`);
    const d = await res.json();
    const base = `${idp.origin}/${T}`;
    assert(res.status === 200, 'status 200', res.status);
    assert(d.issuer === `${base}/v2.0`, 'issuer', d.issuer);
    assert(d.token_endpoint === `${base}/oauth2/v2.0/token`, 'token_endpoint', d.token_endpoint);
    assert(d.authorization_endpoint === `${base}/oauth2/v2.0/authorize`, 'authorization_endpoint', d.authorization_endpoint);
    assert(d.jwks_uri === `${base}/discovery/v2.0/keys`, 'jwks_uri', d.jwks_uri);
    assert(d.end_session_endpoint === `${base}/oauth2/v2.0/logout`, 'end_session_endpoint', d.end_session_endpoint);
    assert(d.device_authorization_endpoint === `${base}/oauth2/v2.0/devicecode`, 'device_authorization_endpoint', d.device_authorization_endpoint);
    const keys = await (await fetch(d.jwks_uri)).json();
    assert(keys.keys?.length >= 1 && keys.keys.every((k) => !k.d), 'public JWKS', keys);
  });

  await check('1b. common discovery has {tenantid} issuer and /common endpoints; unknown tenant is invalid_tenant', async () => {
    const d = await (await fetch(`${idp.origin}/common/v2.0/.well-known/openid-configuration`)).json();
    assert(d.issuer === `${idp.origin}/{tenantid}/v2.0`, 'templated issuer', d.issuer);
    assert(d.token_endpoint === `${idp.origin}/common/oauth2/v2.0/token`, 'common token endpoint', d.token_endpoint);
    const o = await (await fetch(`${idp.origin}/organizations/v2.0/.well-known/openid-configuration`)).json();
    assert(o.issuer === `${idp.origin}/{tenantid}/v2.0`, 'organizations issuer', o.issuer);
    const bad = await fetch(`${idp.origin}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration`);
    assert(bad.status === 400, 'unknown tenant status 400', bad.status);
    assertEntraError(await bad.json(), 'invalid_tenant');
    const sec = await (await fetch(`${idp.authority(idp.tenants.secondary)}/v2.0/.well-known/openid-configuration`)).json();
    assert(sec.issuer === `${idp.origin}/${idp.tenants.secondary}/v2.0`, 'secondary issuer', sec.issuer);
  });

  // 2. Client credentials with a secret
  await check('2. client_credentials web-app (basic + post) → Entra app token', async () => {
    const viaBasic = await postToken(idp, { grant_type: 'client_credentials', scope: 'api://downstream/.default' },
      { headers: { authorization: basic(webApp.clientId, webApp.clientSecret) } });
    const viaPost = await postToken(idp, {
      grant_type: 'client_credentials', scope: 'api://downstream/.default', client_id: webApp.clientId, client_secret: webApp.clientSecret,
    });
    for (const { res, json } of [viaBasic, viaPost]) {
      assert(res.status === 200, 'status 200', json);
      assert(json.token_type === 'Bearer', 'token_type Bearer', json);
      assert(json.ext_expires_in === json.expires_in, 'ext_expires_in', json);
      assert(json.client_info === undefined, 'no client_info on app token', json);
      assert(json.refresh_in === undefined, 'no refresh_in at 3600', json);
      const jwks = createRemoteJWKSet(new URL(`${idp.authority()}/discovery/v2.0/keys`));
      const { payload, protectedHeader } = await jwtVerify(json.access_token, jwks, { issuer: idp.issuer(), audience: 'api://downstream' });
      assert(protectedHeader.alg === 'RS256', 'RS256', protectedHeader);
      assert(payload.tid === T && payload.azp === 'web-app' && payload.appid === 'web-app' && payload.ver === '2.0', 'tid/azp/appid/ver', payload);
      assert(payload.idtyp === 'app' && typeof payload.oid === 'string', 'idtyp/oid', payload);
      assert(JSON.stringify(payload.roles) === '["Data.Read.All"]', 'roles', payload);
      assert(payload.scp === undefined, 'no scp on app token', payload);
    }
    const nonDefault = await postToken(idp, {
      grant_type: 'client_credentials', scope: 'api://downstream/read', client_id: webApp.clientId, client_secret: webApp.clientSecret,
    });
    assert(nonDefault.res.status === 400, 'non-.default scope rejected', nonDefault.json);
    assertEntraError(nonDefault.json, 'invalid_scope');
    const unknown = await postToken(idp, {
      grant_type: 'client_credentials', scope: 'api://nope/.default', client_id: webApp.clientId, client_secret: webApp.clientSecret,
    });
    assertEntraError(unknown.json, 'invalid_resource');
    const badSecret = await postToken(idp, { grant_type: 'client_credentials', scope: 'api://downstream/.default' },
      { headers: { authorization: basic(webApp.clientId, 'wrong'), 'client-request-id': 'c0ffee00-0000-4000-8000-000000000001' } });
    assert(badSecret.res.status === 401, 'bad secret → 401', badSecret.res.status);
    assertEntraError(badSecret.json, 'invalid_client');
    assert(badSecret.json.correlation_id === 'c0ffee00-0000-4000-8000-000000000001', 'correlation_id = client-request-id', badSecret.json);
    assert(badSecret.res.headers.get('client-request-id') === 'c0ffee00-0000-4000-8000-000000000001', 'client-request-id echoed');
    return `error sample: ${badSecret.json.error_description.split('\r\n')[0]}`;
  });

  // 3. private_key_jwt
  await check('3. private_key_jwt web-app-cert (PS256 + RS256, x5t#S256, no kid); replay rejected', async () => {
    const assertion = await clientAssertion(idp, { alg: 'PS256' });
    const params = {
      grant_type: 'client_credentials', scope: 'api://downstream/.default', client_id: webAppCert.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    };
    const first = await postToken(idp, params);
    assert(first.res.status === 200, 'PS256 assertion accepted', first.json);
    assert(decodeJwt(first.json.access_token).azp === 'web-app-cert', 'azp web-app-cert');
    const replay = await postToken(idp, params);
    assert(replay.res.status === 401, 'replay → 401', replay.json);
    assertEntraError(replay.json, 'invalid_client');
    const rs = await postToken(idp, { ...params, client_assertion: await clientAssertion(idp, { alg: 'RS256' }) });
    assert(rs.res.status === 200, 'RS256 assertion accepted', rs.json);
    const issAud = await postToken(idp, { ...params, client_assertion: await clientAssertion(idp, { aud: idp.issuer() }) });
    assert(issAud.res.status === 200, 'aud = issuer accepted', issAud.json);
    return `replay: ${replay.json.error_description.split('\r\n')[0]}`;
  });

  // 4. Faults
  await check('4. faults: 429 Retry-After, 500, nonjson, invalid_json, slow; counted; client filter', async () => {
    idp.controls.reset();
    const cc = { grant_type: 'client_credentials', scope: 'api://downstream/.default', client_id: webApp.clientId, client_secret: webApp.clientSecret };
    idp.controls.fault({ endpoint: 'token', kind: '429', retryAfter: 7 });
    const r429 = await postToken(idp, cc);
    assert(r429.res.status === 429, '429 status', r429.res.status);
    assert(r429.res.headers.get('retry-after') === '7', 'Retry-After: 7', r429.res.headers.get('retry-after'));
    assertEntraError(r429.json, 'temporarily_unavailable');
    assert((await postToken(idp, cc)).res.status === 200, 'fault used once');

    idp.controls.fault({ endpoint: 'token', kind: '500' });
    const r500 = await postToken(idp, cc);
    assert(r500.res.status === 500, '500 status');
    assertEntraError(r500.json, 'server_error');

    idp.controls.fault({ endpoint: 'discovery', kind: 'nonjson' });
    const nj = await fetch(`${idp.authority()}/v2.0/.well-known/openid-configuration`);
    assert(nj.status === 200 && nj.headers.get('content-type').startsWith('text/html') && (await nj.text()) === '<html>oops</html>', 'nonjson');

    idp.controls.fault({ endpoint: 'token', kind: 'invalid_json' });
    const ij = await postToken(idp, cc);
    assert(ij.res.status === 200 && ij.json === undefined && ij.res.headers.get('content-type').startsWith('application/json'), 'invalid_json', ij.text);

    idp.controls.fault({ endpoint: 'token', kind: 'slow', delayMs: 300 });
    const t0 = performance.now();
    const slow = await postToken(idp, cc);
    const took = performance.now() - t0;
    assert(slow.res.status === 200 && took >= 290, 'slow delays then succeeds', { took });

    idp.controls.fault({ endpoint: 'token:client_credentials', kind: '503', clientId: 'web-app-cert', retryAfter: 2 });
    assert((await postToken(idp, cc)).res.status === 200, 'clientId-scoped fault skips other clients');
    const other = await postToken(idp, {
      grant_type: 'client_credentials', scope: 'api://downstream/.default', client_id: webAppCert.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await clientAssertion(idp),
    });
    assert(other.res.status === 503 && other.res.headers.get('retry-after') === '2', 'clientId-scoped 503 hits web-app-cert', other.res.status);

    const counts = idp.controls.counts();
    // 429, ok, 500, invalid_json, slow, ok (filtered fault), 503 (web-app-cert) = 7
    assert(counts.token === 7 && counts['token:client_credentials'] === 7 && counts.discovery === 1, 'faulted requests counted', counts);
    return JSON.stringify(counts);
  });

  // 5. Token lifetime
  await check('5. setTokenLifetime → expires_in / refresh_in; default refresh_in for ≥7200', async () => {
    const cc = { grant_type: 'client_credentials', scope: 'api://downstream/.default', client_id: webApp.clientId, client_secret: webApp.clientSecret };
    idp.controls.setTokenLifetime({ accessTokenTtl: 305, refreshIn: 2 });
    const a = await postToken(idp, cc);
    assert(a.json.expires_in === 305 && a.json.refresh_in === 2 && a.json.ext_expires_in === 305, 'ttl 305 / refresh_in 2', a.json);
    const { exp, iat } = decodeJwt(a.json.access_token);
    assert(exp - iat === 305, 'JWT exp matches', { exp, iat });
    idp.controls.reset();
    idp.controls.setTokenLifetime({ accessTokenTtl: 7200 });
    const b = await postToken(idp, cc);
    assert(b.json.expires_in === 7200 && b.json.refresh_in === 3600, 'default refresh_in = expires_in/2', b.json);
    idp.controls.reset();
    const c = await postToken(idp, cc);
    assert(c.json.expires_in === 3600 && c.json.refresh_in === undefined, 'reset restores defaults', c.json);
  });

  // 6. HTTP control API
  await check('6. HTTP control API (counts, reset, fault, token-lifetime, info)', async () => {
    const ctl = (path, body) => fetch(`${idp.origin}/_control/${path}`, body === undefined ? {} : {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    }).then((r) => r.json());
    assert((await ctl('reset', {})).ok, 'reset');
    assert(JSON.stringify(await ctl('counts')) === '{}', 'counts empty after reset');
    assert((await ctl('fault', { endpoint: 'token', kind: '503', retryAfter: 3 })).ok, 'fault queued');
    assert((await ctl('token-lifetime', { accessTokenTtl: 600, refreshIn: 60 })).ok, 'token-lifetime');
    const cc = { grant_type: 'client_credentials', scope: 'api://downstream/.default', client_id: webApp.clientId, client_secret: webApp.clientSecret };
    const faulted = await postToken(idp, cc);
    assert(faulted.res.status === 503 && faulted.res.headers.get('retry-after') === '3', '503 via HTTP fault', faulted.res.status);
    const ok = await postToken(idp, cc);
    assert(ok.json.expires_in === 600 && ok.json.refresh_in === 60, 'lifetime via HTTP', ok.json);
    const counts = await ctl('counts');
    assert(counts.token === 2 && counts['token:client_credentials'] === 2, 'counts via HTTP (control calls not counted)', counts);
    const bad = await fetch(`${idp.origin}/_control/fault`, { method: 'POST', body: JSON.stringify({ endpoint: 'token', kind: 'nope' }) });
    assert(bad.status === 400, 'bad fault rejected');
    const info = await ctl('info');
    assert(info.clients.webApp.clientSecret === webApp.clientSecret && info.tenants.primary === T, 'info', info);
    await ctl('reset', {});
  });

  // 8. Auth code + PKCE, headless (before 7 so the http IdP can be closed early)
  await check('8. auth code + PKCE headless login (alice) → id_token, refresh_token, client_info; refresh works', async () => {
    const pkce = pkcePair();
    const redirectUri = 'http://localhost:8787/auth/callback';
    const scope = 'openid profile offline_access api://downstream/read';
    const callback = await loginHeadless(idp, {
      clientId: webApp.clientId, clientSecret: webApp.clientSecret, redirectUri, scopes: scope.split(' '),
      codeChallenge: pkce.challenge, state: 'st-1', nonce: 'nonce-1', username: 'alice@contoso.test', password: 'alice-password',
    });
    const cbUrl = new URL(callback);
    assert(cbUrl.searchParams.get('state') === 'st-1' && cbUrl.searchParams.get('code'), 'code + state', callback);
    const tok = await postToken(idp, {
      grant_type: 'authorization_code', code: cbUrl.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: pkce.verifier,
      scope, client_info: '1',
    }, { headers: { authorization: basic(webApp.clientId, webApp.clientSecret) } });
    assert(tok.res.status === 200, 'code redeemed', tok.json);
    const alice = idp.users.find((u) => u.username === 'alice@contoso.test');
    const id = decodeJwt(tok.json.id_token);
    assert(id.oid === alice.oid && id.tid === T && id.preferred_username === alice.username && id.ver === '2.0' && id.nonce === 'nonce-1', 'id_token claims', id);
    const at = decodeJwt(tok.json.access_token);
    assert(at.aud === 'api://downstream' && at.scp === 'read' && at.oid === alice.oid && at.tid === T, 'user AT claims', at);
    const ci = JSON.parse(Buffer.from(tok.json.client_info, 'base64url').toString('utf8'));
    assert(ci.uid === alice.oid && ci.utid === T, 'client_info', ci);
    assert(typeof tok.json.refresh_token === 'string', 'refresh_token', tok.json);

    const refreshed = await postToken(idp, {
      grant_type: 'refresh_token', refresh_token: tok.json.refresh_token, scope, client_id: webApp.clientId, client_secret: webApp.clientSecret,
    });
    assert(refreshed.res.status === 200 && refreshed.json.refresh_token !== tok.json.refresh_token, 'refresh rotates', refreshed.json);
    assert(refreshed.json.client_info && refreshed.json.id_token, 'refresh has client_info + id_token', refreshed.json);

    await assertRejects(() => loginHeadless(idp, {
      clientId: webApp.clientId, redirectUri, scopes: ['openid'], codeChallenge: pkce.challenge, username: 'alice@contoso.test', password: 'wrong',
    }), /invalid username or password/);
    const counts = idp.controls.counts();
    return `counts ${JSON.stringify(counts)}`;
  });

  // 9. Crafted ID tokens for RP rejection tests
  await check('9. crafted id_tokens (POST /_control/id-token, GET /_control/signing-key): every kind has its defect', async () => {
    idp.controls.reset();
    const ctl = (path, body) => fetch(`${idp.origin}/_control/${path}`, body === undefined ? {} : {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const jwksUrl = new URL(`${idp.authority()}/discovery/v2.0/keys`);
    const jwks = createRemoteJWKSet(jwksUrl);
    const signingKey = await (await ctl('signing-key')).json();
    const served = (await (await fetch(jwksUrl)).json()).keys;
    const servedKey = served.find((k) => k.kid === signingKey.kid);
    assert(servedKey && servedKey.n === signingKey.publicJwk.n && servedKey.e === signingKey.publicJwk.e && !signingKey.publicJwk.d,
      'signing-key = served JWKS key', { signingKey, served });
    assert(JSON.stringify(idp.controls.signingKey()) === JSON.stringify(signingKey), 'controls.signingKey() = HTTP');
    const pem = createPublicKey({ key: signingKey.publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });

    const alice = idp.users.find((u) => u.username === 'alice@contoso.test');
    const redirectUri = 'http://localhost:8787/auth/callback';
    const jar = new CookieJar(); // SSO after the first login
    const auth = { authorization: basic(webApp.clientId, webApp.clientSecret) };
    async function loginAndRedeem(scope, nonce) {
      const pkce = pkcePair();
      const cb = new URL(await loginHeadless(idp, {
        clientId: webApp.clientId, redirectUri, scopes: scope.split(' '), codeChallenge: pkce.challenge,
        nonce, username: alice.username, password: alice.password, jar,
      }));
      const tok = await postToken(idp, {
        grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: pkce.verifier, scope,
      }, { headers: auth });
      assert(tok.res.status === 200 && tok.json.id_token, 'code redeemed', tok.json);
      return tok.json;
    }
    const rejects = async (fn, code, what) => {
      try { await fn(); } catch (err) {
        assert(err.code === code, `${what}: rejected with ${code}`, { code: err.code, message: err.message });
        return;
      }
      throw new Error(`${what}: expected ${code}`);
    };
    const now = () => Math.floor(Date.now() / 1000);
    const verifySig = async (token) => JSON.parse(new TextDecoder().decode((await compactVerify(token, jwks)).payload));
    const base = (p, nonce) => {
      assert(p.sub === alice.oid && p.oid === alice.oid && p.tid === T && p.preferred_username === alice.username, 'identity claims kept', p);
      if (nonce !== undefined) assert(p.nonce === nonce, 'nonce kept', p);
    };
    const realHeader = (h) => assert(h.alg === 'RS256' && h.kid === signingKey.kid, 'real key header', h);

    const expectations = {
      async bad_signature(t, nonce) {
        realHeader(decodeProtectedHeader(t));
        base(decodeJwt(t), nonce);
        await rejects(() => compactVerify(t, jwks), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'bad_signature');
      },
      async alg_none(t, nonce) {
        assert(JSON.stringify(decodeProtectedHeader(t)) === '{"alg":"none","typ":"JWT"}', 'none header', decodeProtectedHeader(t));
        assert(t.endsWith('.') && t.split('.').length === 3 && t.split('.')[2] === '', 'empty signature', t);
        const p = decodeJwt(t);
        base(p, nonce);
        assert(p.aud === webApp.clientId && p.iss === idp.issuer(), 'aud/iss kept', p);
      },
      async hs256_public_key(t, nonce) {
        assert(JSON.stringify(decodeProtectedHeader(t)) === JSON.stringify({ alg: 'HS256', kid: signingKey.kid }), 'HS256 header', decodeProtectedHeader(t));
        const [h, p, sig] = t.split('.');
        assert(createHmac('sha256', pem).update(`${h}.${p}`).digest('base64url') === sig, 'HMAC keyed with the public key PEM');
        const { payload } = await jwtVerify(t, new TextEncoder().encode(pem), { issuer: idp.issuer(), audience: webApp.clientId });
        base(payload, nonce);
        await rejects(() => jwtVerify(t, jwks), 'ERR_JOSE_NOT_SUPPORTED', 'HS256 vs RSA JWKS');
      },
      async unknown_kid(t, nonce) {
        const h = decodeProtectedHeader(t);
        assert(h.alg === 'RS256' && /^unknown-/.test(h.kid) && !served.some((k) => k.kid === h.kid), 'unknown kid', h);
        base(decodeJwt(t), nonce);
        await rejects(() => jwtVerify(t, jwks), 'ERR_JWKS_NO_MATCHING_KEY', 'unknown_kid');
        // and not merely relabelled: the real key does not verify it either
        await rejects(() => compactVerify(t, createPublicKey({ key: signingKey.publicJwk, format: 'jwk' })), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'unknown_kid vs real key');
      },
      async wrong_aud(t, nonce) {
        realHeader(decodeProtectedHeader(t));
        const p = await verifySig(t);
        base(p, nonce);
        assert(p.aud === 'some-other-client', 'aud', p);
        await rejects(() => jwtVerify(t, jwks, { audience: webApp.clientId }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'wrong_aud');
      },
      async wrong_iss(t, nonce) {
        realHeader(decodeProtectedHeader(t));
        const p = await verifySig(t);
        base(p, nonce);
        assert(p.iss === `${idp.origin}/00000000-0000-0000-0000-000000000000/v2.0`, 'iss', p);
        await rejects(() => jwtVerify(t, jwks, { issuer: idp.issuer() }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'wrong_iss');
      },
      async wrong_nonce(t) {
        realHeader(decodeProtectedHeader(t));
        const p = await verifySig(t);
        base(p);
        assert(p.nonce === 'not-the-nonce', 'nonce', p);
      },
      async missing_nonce(t) {
        realHeader(decodeProtectedHeader(t));
        const p = await verifySig(t);
        base(p);
        assert(!('nonce' in p), 'no nonce', p);
      },
      async expired(t, nonce) {
        realHeader(decodeProtectedHeader(t));
        const p = await verifySig(t);
        base(p, nonce);
        assert(p.exp <= now() - 3590 && p.iat <= now() - 7190 && p.exp > p.iat, 'exp/iat in the past', p);
        await rejects(() => jwtVerify(t, jwks, { clockTolerance: 300 }), 'ERR_JWT_EXPIRED', 'expired');
      },
      async iat_future(t, nonce) {
        realHeader(decodeProtectedHeader(t));
        const p = await verifySig(t);
        base(p, nonce);
        assert(p.iat >= now() + 3590 && p.exp >= now() + 7190, 'iat/exp in the future', p);
      },
      async valid_resigned(t, nonce) {
        realHeader(decodeProtectedHeader(t));
        const { payload } = await jwtVerify(t, jwks, { issuer: idp.issuer(), audience: webApp.clientId, maxTokenAge: '5m' });
        base(payload, nonce);
      },
    };

    const kinds = Object.keys(expectations);
    for (const [i, kind] of kinds.entries()) {
      // Alternate the JS API and the HTTP control route.
      if (i % 2) assert((await ctl('id-token', { kind })).ok, `POST /_control/id-token ${kind}`);
      else idp.controls.craftIdToken({ kind });
      const nonce = `nonce-${kind}`;
      const tok = await loginAndRedeem('openid profile', nonce);
      await expectations[kind](tok.id_token, nonce);
    }
    // Uncrafted once the craft is used up.
    const plain = await loginAndRedeem('openid profile', 'nonce-plain');
    await expectations.valid_resigned(plain.id_token, 'nonce-plain');

    // times: 2 covers the code redemption and then the refresh; the third response is real again.
    const queued = await (await ctl('id-token', { kind: 'wrong_nonce', times: 2 })).json();
    assert(queued.ok && queued.pending?.[0]?.kind === 'wrong_nonce' && queued.pending[0].times === 2, 'pending', queued);
    const withRt = await loginAndRedeem('openid profile offline_access api://downstream/read', 'nonce-rt');
    assert(decodeJwt(withRt.id_token).nonce === 'not-the-nonce', 'code response crafted');
    const refresh = (rt) => postToken(idp, { grant_type: 'refresh_token', refresh_token: rt, scope: 'openid profile offline_access api://downstream/read' }, { headers: auth });
    const r1 = await refresh(withRt.refresh_token);
    assert(r1.res.status === 200 && decodeJwt(r1.json.id_token).nonce === 'not-the-nonce', 'refresh response crafted (2nd use)', r1.json);
    const r2 = await refresh(r1.json.refresh_token);
    await jwtVerify(r2.json.id_token, jwks, { issuer: idp.issuer(), audience: webApp.clientId });
    assert(decodeJwt(r2.json.id_token).nonce !== 'not-the-nonce', 'third response is real', decodeJwt(r2.json.id_token));

    // reset clears pending crafts; bad kinds are rejected; control calls are not counted.
    idp.controls.craftIdToken({ kind: 'alg_none', times: 5 });
    assert((await (await ctl('reset', {})).json()).ok, 'reset');
    const afterReset = await loginAndRedeem('openid profile', 'nonce-reset');
    await expectations.valid_resigned(afterReset.id_token, 'nonce-reset');
    assert((await ctl('id-token', { kind: 'nope' })).status === 400, 'unknown kind → 400');
    assert((await ctl('id-token', { kind: 'expired', times: 0 })).status === 400, 'times 0 → 400');
    const counts = idp.controls.counts();
    assert(counts.token === 1 && counts['token:authorization_code'] === 1 && !Object.keys(counts).some((k) => k.includes('control')), 'control calls not counted', counts);
    return `${kinds.length} kinds`;
  });

  // 10–13. On-behalf-of grant, the api://web-app resource, the step_up fault
  await oboChecks(idp, { postToken, assertEntraError, basic });

  // 20–21. The password grant (ROPC)
  await passwordChecks(idp, { postToken, assertEntraError, basic });
} finally {
  await idp.close();
}

// 7. msal-node over HTTPS, in a child process (global fetch + NODE_EXTRA_CA_CERTS)
const tlsIdp = await startIdp({ https: true });
try {
  await check('7. msal-node 7.2.3 acquireTokenByClientCredential against HTTPS IdP', async () => {
    const host = new URL(tlsIdp.origin).host;
    const { stdout } = await runFile(process.execPath, [
      fileURLToPath(new URL('./smoke-msal.mjs', import.meta.url)),
      JSON.stringify({
        authority: tlsIdp.authority(), knownAuthority: host, clientId: tlsIdp.clients.webApp.clientId,
        clientSecret: tlsIdp.clients.webApp.clientSecret, scope: 'api://downstream/.default',
      }),
    ], { env: { ...process.env, NODE_EXTRA_CA_CERTS: tlsIdp.tlsCertificatePath }, timeout: 60_000 });
    const out = JSON.parse(stdout);
    // (msal reports tenantId '' for app-only results: it comes from an ID token.)
    assert(out.aud === 'api://downstream' && out.tokenType === 'Bearer' && out.roles?.[0] === 'Data.Read.All', 'msal result', out);
    assert(out.fromCache === false && out.secondFromCache === true, 'second call served from cache', out);
    const counts = tlsIdp.controls.counts();
    assert(counts.discovery === 1 && counts.token === 1, 'one discovery + one token request', counts);
    return `${stdout} counts=${JSON.stringify(counts)}`;
  });
} finally {
  await tlsIdp.close();
}

async function assertRejects(fn, re) {
  try {
    await fn();
  } catch (err) {
    assert(re.test(err.message), `rejects with ${re}`, err.message);
    return;
  }
  throw new Error(`expected rejection ${re}`);
}

finish();
