// Cache interoperability with @azure/msal-node 7: our serializeCache() output is a cache msal-node
// answers from, and msal-node's TokenCache.serialize() output is one we answer from (and refresh with).
// Run: `node --test test/interop/*.test.mjs` (Node 22.19+; it strips the types of lib/*.ts natively).
// Node 22 does not expand a directory argument: `node --test test/interop/` fails with MODULE_NOT_FOUND.
//
// TLS: msal-node refuses http authorities, so the IdP runs over https with a self-signed certificate.
// Both msal-node 7 (its HttpClient) and our lib (deps.fetch) use Node's global fetch, and
// loginHeadless() trusts the certificate per request on its own. Instead of re-executing this file
// with NODE_EXTRA_CA_CERTS (read only at process start), we add the IdP's certificate to this process's
// default CA list with tls.setDefaultCACertificates() (Node 22.19+): every later TLS connection,
// fetch's included, trusts it. That keeps the IdP in this process, so idp.controls.counts() is exact,
// and each behaviour stays its own test in node --test's report.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { ConfidentialClientApplication as MsalNodeClient, LogLevel, CryptoProvider } from '@azure/msal-node';
import { ConfidentialClientApplication, MemoryAccountStore } from '../../lib/mod.ts';
import { loginHeadless } from '../idp/headless-login.mjs';
import { TENANTS, startIdp } from '../idp/server.mjs';
import { ALICE, BOB, CLIENT_ID, CLIENT_SECRET, MapStore, SCOPES, jwtClaims } from './fixtures.mjs';

const REDIRECT_URI = 'https://app.interop.test/auth/callback';



let idp;
let host;

/** Our ConfidentialClientApplication with fresh in-memory stores. */
async function ourClient(authority = idp.authority(), fetchImpl = (input, init) => fetch(input, init)) {
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY: authority, CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY: randomBytes(32).toString('base64url') },
    { cacheStore: new MapStore(), fetch: fetchImpl },
  );
  return { app, accounts: new MemoryAccountStore() };
}

/** msal-node's client in AAD mode against the Entra-like tenant authority (see local-idp-notes §4). */
function msalNodeClient() {
  return new MsalNodeClient({
    auth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, authority: `${idp.authority()}/`, knownAuthorities: [host] },
    system: { loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => {} } },
  });
}

/** The IdP's request counts (the control API is not counted). */
const counts = () => idp.controls.counts();
/** Only the token endpoint's counts (`token`, `token:<grant>`): discovery is not a token request. */
const tokenCounts = () => Object.fromEntries(Object.entries(counts()).filter(([k]) => k === 'token' || k.startsWith('token:')));

/** Alice signs in through our lib; returns our cache export and what it was built from. */
async function signInWithLib(user) {
  const { app, accounts } = await ourClient();
  const flow = await app.initiateAuthCodeFlow({ scopes: SCOPES, redirectUri: REDIRECT_URI });
  const callbackUrl = await loginHeadless(idp, { authorizeUrl: flow.authUri, username: user.username, password: user.password });
  const { result, record } = await app.acquireTokenByAuthCodeFlow(flow, new URL(callbackUrl).searchParams);
  await accounts.put(record.account.home_account_id, record);
  const json = await app.serializeCache(accounts, record.account.home_account_id);
  return { app, accounts, result, record, json };
}

/** Bob signs in through msal-node (auth code + PKCE); returns its cache export. */
async function signInWithMsalNode(user) {
  const cca = msalNodeClient();
  const crypto = new CryptoProvider();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const state = crypto.createNewGuid();
  const nonce = crypto.createNewGuid();
  const authorizeUrl = await cca.getAuthCodeUrl({
    scopes: SCOPES,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state,
    nonce,
  });
  const callbackUrl = await loginHeadless(idp, { authorizeUrl, username: user.username, password: user.password });
  const params = new URL(callbackUrl).searchParams;
  assert.equal(params.get('state'), state);
  const result = await cca.acquireTokenByCode(
    { code: params.get('code'), scopes: SCOPES, redirectUri: REDIRECT_URI, codeVerifier: verifier, state, nonce },
    { code: params.get('code'), state: params.get('state') },
  );
  return { cca, result, json: cca.getTokenCache().serialize() };
}

before(async () => {
  idp = await startIdp({ port: 0, https: true, redirectUris: [REDIRECT_URI] });
  host = new URL(idp.origin).host;
  if (typeof tls.setDefaultCACertificates !== 'function') {
    throw new Error(`tls.setDefaultCACertificates is missing in Node ${process.version}: this test needs Node 22.19+`);
  }
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), idp.tlsCertificatePem]);
});

after(async () => {
  await idp?.close();
});

describe('MSAL cache interop with @azure/msal-node', () => {
  test('msal-node answers acquireTokenSilent from our export, with our access token', async () => {
    const { result, record, json } = await signInWithLib(ALICE);
    const cca = msalNodeClient();
    cca.getTokenCache().deserialize(json);

    const msalAccounts = await cca.getTokenCache().getAllAccounts();
    assert.equal(msalAccounts.length, 1);
    const [account] = msalAccounts;
    assert.equal(account.username, ALICE.username);
    assert.equal(account.homeAccountId, `${ALICE.oid}.${TENANTS.primary}`);
    assert.equal(account.homeAccountId, record.account.home_account_id);
    assert.equal(account.tenantId, TENANTS.primary);

    // A fresh msal-node client resolves its authority (one discovery request) on the first call; the
    // token endpoint must not be called.
    const before = tokenCounts();
    const silent = await cca.acquireTokenSilent({ account, scopes: SCOPES });
    assert.equal(silent.fromCache, true);
    assert.equal(silent.accessToken, result.accessToken);
    assert.equal(silent.idToken, record.idToken.secret);
    assert.deepEqual(tokenCounts(), before, 'msal-node must not call the token endpoint');
  });

  test('we answer acquireTokenSilent from msal-node\'s export, with its access token', async () => {
    const { result: msalResult, json } = await signInWithMsalNode(BOB);
    const { app, accounts } = await ourClient();

    const imported = await app.deserializeCache(accounts, json);
    assert.equal(imported.length, 1);
    const [account] = imported;
    assert.equal(account.username, BOB.username);
    assert.equal(account.homeAccountId, msalResult.account.homeAccountId);
    assert.equal(account.homeAccountId, `${BOB.oid}.${TENANTS.primary}`);
    assert.equal(account.tenantId, TENANTS.primary);

    const before = counts();
    const silent = await app.acquireTokenSilent(accounts, {
      scopes: SCOPES,
      account: { homeAccountId: account.homeAccountId, tenantId: account.tenantId },
    });
    assert.equal(silent.tokenSource, 'cache');
    assert.equal(silent.accessToken, msalResult.accessToken);
    assert.deepEqual(counts(), before, 'we must not call the IdP');
  });

  test('the refresh token in msal-node\'s export works for us', async () => {
    const { result: msalResult, json } = await signInWithMsalNode(BOB);
    const { app, accounts } = await ourClient();
    const [account] = await app.deserializeCache(accounts, json);
    assert.ok((await accounts.get(account.homeAccountId))?.refreshToken, 'the refresh token was imported');

    const before = counts();
    const refreshed = await app.acquireTokenSilent(accounts, {
      scopes: SCOPES,
      account: { homeAccountId: account.homeAccountId, tenantId: account.tenantId },
      forceRefresh: true,
    });
    const after = counts();
    assert.equal(refreshed.tokenSource, 'identity_provider');
    assert.notEqual(refreshed.accessToken, msalResult.accessToken);
    assert.equal((after['token:refresh_token'] ?? 0) - (before['token:refresh_token'] ?? 0), 1);
    assert.equal((after.token ?? 0) - (before.token ?? 0), 1, 'one token request, nothing else');
    const claims = jwtClaims(refreshed.accessToken);
    assert.equal(claims.aud, 'api://downstream');
    assert.equal(claims.sub, jwtClaims(msalResult.accessToken).sub);

    // The new token is cached for the next silent call.
    const again = await app.acquireTokenSilent(accounts, { scopes: SCOPES, account: { homeAccountId: account.homeAccountId, tenantId: account.tenantId } });
    assert.equal(again.tokenSource, 'cache');
    assert.equal(again.accessToken, refreshed.accessToken);
  });

  // msal-node files Entra entries under the authority's `preferred_cache` alias: `login.windows.net`
  // for an authority on login.microsoftonline.com (msal-common authority/AuthorityMetadata.mjs), and
  // matches environments alias-aware. Its export, relabelled exactly so, must import into a client
  // configured for https://login.microsoftonline.com/<tenant>. Offline: deserializeCache and a cache hit
  // need no provider.
  test('we import an Entra cache msal-node filed under login.windows.net', async () => {
    const { result: msalResult, json } = await signInWithMsalNode(BOB);
    const entraCache = JSON.parse(json);
    for (const section of Object.values(entraCache)) {
      for (const entity of Object.values(section)) if (entity.environment) entity.environment = 'login.windows.net';
    }
    const { app, accounts } = await ourClient(`https://login.microsoftonline.com/${TENANTS.primary}`, () =>
      Promise.reject(new Error('no network in this test')),
    );
    const imported = await app.deserializeCache(accounts, JSON.stringify(entraCache));
    assert.equal(imported.length, 1, 'the account filed under login.windows.net is imported');
    const silent = await app.acquireTokenSilent(accounts, { scopes: SCOPES, account: imported[0] });
    assert.equal(silent.tokenSource, 'cache');
    assert.equal(silent.accessToken, msalResult.accessToken);
  });

  test('our export is MSAL\'s unified cache schema', async () => {
    const { record, json } = await signInWithLib(ALICE);
    const cache = JSON.parse(json);
    assert.deepEqual(Object.keys(cache).sort(), ['AccessToken', 'Account', 'AppMetadata', 'IdToken', 'RefreshToken']);
    const only = (section) => {
      const values = Object.values(cache[section]);
      assert.equal(values.length, 1, `${section} holds one entry`);
      return values[0];
    };
    const homeAccountId = `${ALICE.oid}.${TENANTS.primary}`;
    const isIntegerString = (value, name) => assert.match(value, /^\d+$/, `${name} is a string of an integer`);

    const at = only('AccessToken');
    for (const field of ['home_account_id', 'environment', 'credential_type', 'client_id', 'secret', 'realm', 'target', 'cached_at', 'expires_on', 'extended_expires_on']) {
      assert.equal(typeof at[field], 'string', `AccessToken.${field}`);
    }
    assert.equal(at.home_account_id, homeAccountId);
    assert.equal(at.environment, host);
    assert.equal(at.credential_type, 'AccessToken');
    assert.equal(at.client_id, CLIENT_ID);
    assert.equal(at.realm, TENANTS.primary);
    assert.equal(at.target, 'api://downstream/read');
    for (const field of ['cached_at', 'expires_on', 'extended_expires_on']) isIntegerString(at[field], field);
    assert.ok(Number(at.expires_on) > Number(at.cached_at));
    assert.ok(Number(at.extended_expires_on) >= Number(at.expires_on));
    assert.ok(Math.abs(Number(at.cached_at) - Date.now() / 1000) < 60, 'cached_at is epoch seconds');
    assert.equal(Object.keys(at).some((k) => /[A-Z]/.test(k)), false, 'AccessToken fields are snake_case');

    const account = only('Account');
    assert.equal(account.home_account_id, homeAccountId);
    assert.equal(account.environment, host);
    assert.equal(account.realm, TENANTS.primary);
    assert.equal(account.local_account_id, ALICE.oid);
    assert.equal(account.username, ALICE.username);
    assert.equal(account.authority_type, 'MSSTS');

    const idToken = only('IdToken');
    assert.deepEqual(
      { ...idToken, secret: undefined },
      { home_account_id: homeAccountId, environment: host, credential_type: 'IdToken', client_id: CLIENT_ID, realm: TENANTS.primary, secret: undefined },
    );
    assert.equal(idToken.secret, record.idToken.secret);

    const rt = only('RefreshToken');
    assert.equal(rt.home_account_id, homeAccountId);
    assert.equal(rt.environment, host);
    assert.equal(rt.credential_type, 'RefreshToken');
    assert.equal(rt.client_id, CLIENT_ID);
    assert.equal(typeof rt.secret, 'string');
    if (rt.last_modification_time !== undefined) isIntegerString(rt.last_modification_time, 'last_modification_time');

    // Keys as msal-node writes them (lower-cased, '-'-joined).
    assert.deepEqual(Object.keys(cache.Account), [`${homeAccountId}-${host}-${TENANTS.primary}`]);
    assert.deepEqual(Object.keys(cache.AccessToken), [`${homeAccountId}-${host}-accesstoken-${CLIENT_ID}-${TENANTS.primary}-api://downstream/read-`]);
  });
});
