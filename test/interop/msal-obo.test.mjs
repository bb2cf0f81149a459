// On-behalf-of cache interoperability with @azure/msal-node 7: the OBO token our lib got for a user's
// assertion, exported with serializeOnBehalfOfCache(), is what msal-node's acquireTokenOnBehalfOf answers
// from (no provider call), and only for that assertion.
// Run: `node --test test/interop/*.test.mjs` (Node 22.19+; it strips the types of lib/*.ts natively).
//
// What msal-node 7.2.3 needs of the entry (src/client/OnBehalfOfClient.ts readAccessTokenFromCacheForOBO,
// msal-common CacheManager.getAccessTokensByFilter / credentialMatchesFilter, cache/serializer/Deserializer.ts):
// - the hash in the AccessToken field `userAssertionHash` (camelCase; the only camelCase AT field besides
//   `additionalCacheKeyComponents`), equal to base64url-no-pad SHA-256 of the assertion;
// - `credential_type` "AccessToken", `client_id` = its client id, `target` containing the requested scopes;
//   the entry's JSON key (lower-cased) must contain the client id and each requested scope, since
//   msal-node pre-filters keys by substring before it compares values;
// - `token_type` Bearer (or absent) and no `additionalCacheKeyComponents`; `expires_on` more than 5 min ahead;
// - home_account_id, environment and realm are not compared by the OBO lookup.
// TLS: as in msal-cache.test.mjs, the IdP's certificate joins this process's default CA list.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { ConfidentialClientApplication as MsalNodeClient, CryptoProvider, LogLevel } from '@azure/msal-node';
import { ConfidentialClientApplication } from '../../lib/mod.ts';
import { API_SCOPE_NAME, userAssertion } from '../bench/user-assertion.mjs';
import { TENANTS, startIdp } from '../idp/server.mjs';
import { ALICE, BOB, CLIENT_ID, CLIENT_SECRET, MapStore, SCOPES, jwtClaims } from './fixtures.mjs';



const assertionHash = (assertion) => createHash('sha256').update(assertion, 'utf8').digest('base64url');

let idp;
let host;
/** Users' access tokens for this app's API (`api://web-app/access_as_user`), signed in once. */
const assertions = {};

async function ourClient() {
  return ConfidentialClientApplication.fromSettings(
    { AUTHORITY: idp.authority(), CLIENT_ID, CLIENT_SECRET, TOKEN_CACHE_KEY: randomBytes(32).toString('base64url'), API_SCOPE: API_SCOPE_NAME },
    { cacheStore: new MapStore() },
  );
}

function msalNodeClient() {
  return new MsalNodeClient({
    auth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, authority: `${idp.authority()}/`, knownAuthorities: [host] },
    system: { loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => {} } },
  });
}

/** On-behalf-of exchanges the IdP has answered so far. */
const exchanges = () => idp.controls.counts()['token:jwt-bearer'] ?? 0;

/** Our lib exchanges the user's assertion (one provider call) and exports that entry. */
async function exchangeWithLib(assertion) {
  const app = await ourClient();
  const before = exchanges();
  const result = await app.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: SCOPES });
  assert.equal(result.tokenSource, 'identity_provider');
  assert.equal(exchanges() - before, 1, 'our lib exchanged the assertion once');
  const json = await app.serializeOnBehalfOfCache({ userAssertion: assertion, scopes: SCOPES });
  return { app, result, json };
}

before(async () => {
  idp = await startIdp({ port: 0, https: true });
  host = new URL(idp.origin).host;
  if (typeof tls.setDefaultCACertificates !== 'function') {
    throw new Error(`tls.setDefaultCACertificates is missing in Node ${process.version}: this test needs Node 22.19+`);
  }
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), idp.tlsCertificatePem]);
  assertions.alice = await userAssertion(idp, ALICE);
  assertions.bob = await userAssertion(idp, BOB);
});

after(async () => {
  await idp?.close();
});

describe('on-behalf-of cache interop with @azure/msal-node', () => {
  test('the user tokens are assertions for this app\'s API', () => {
    for (const [assertion, user] of [[assertions.alice, ALICE], [assertions.bob, BOB]]) {
      const claims = jwtClaims(assertion);
      assert.equal(claims.aud, `api://${CLIENT_ID}`);
      assert.equal(claims.scp, API_SCOPE_NAME);
      assert.equal(claims.oid, user.oid);
    }
  });

  test('our export holds the entry with msal-node\'s userAssertionHash', async () => {
    const { result, json } = await exchangeWithLib(assertions.alice);
    const cache = JSON.parse(json);
    assert.deepEqual(Object.keys(cache).sort(), ['AccessToken', 'Account', 'AppMetadata', 'IdToken', 'RefreshToken']);
    const entries = Object.entries(cache.AccessToken);
    assert.equal(entries.length, 1, 'one AccessToken: this assertion\'s');
    const [[key, at]] = entries;
    assert.equal(at.secret, result.accessToken);
    assert.equal(at.credential_type, 'AccessToken');
    assert.equal(at.client_id, CLIENT_ID);
    assert.equal(at.target, 'api://downstream/read');
    assert.equal(at.realm, TENANTS.primary);
    assert.equal(at.environment, host);
    assert.equal(at.token_type, 'Bearer');
    assert.equal(at.additionalCacheKeyComponents, undefined);
    // The hash msal-node computes for the same assertion (CryptoProvider.hashString: base64url-no-pad SHA-256).
    assert.equal(at.userAssertionHash, assertionHash(assertions.alice));
    assert.equal(at.userAssertionHash, await new CryptoProvider().hashString(assertions.alice));
    assert.equal(at.user_assertion_hash, undefined, 'msal-node reads only the camelCase field');
    for (const field of ['cached_at', 'expires_on', 'extended_expires_on']) assert.match(at[field], /^\d+$/, field);
    assert.ok(Number(at.expires_on) - Date.now() / 1000 > 300, 'more than msal-node\'s 5 min renewal offset left');
    // msal-node pre-filters access-token keys by substring: client id and every scope, lower-cased.
    assert.ok(key.includes(CLIENT_ID) && key.includes('api://downstream/read'), key);
    assert.equal(jwtClaims(at.secret).sub, jwtClaims(assertions.alice).sub, 'the downstream token is for the same user');
  });

  test('msal-node answers acquireTokenOnBehalfOf from our export with our token, without a provider call', async () => {
    const { result, json } = await exchangeWithLib(assertions.alice);
    const cca = msalNodeClient();
    cca.getTokenCache().deserialize(json);

    const before = exchanges();
    const hit = await cca.acquireTokenOnBehalfOf({ oboAssertion: assertions.alice, scopes: SCOPES });
    assert.equal(hit.fromCache, true);
    assert.equal(hit.accessToken, result.accessToken);
    assert.deepEqual(hit.scopes, SCOPES);
    assert.equal(exchanges(), before, 'msal-node must not call the token endpoint');

    // And again (msal-node keeps serving it).
    const again = await cca.acquireTokenOnBehalfOf({ oboAssertion: assertions.alice, scopes: SCOPES });
    assert.equal(again.fromCache, true);
    assert.equal(again.accessToken, result.accessToken);
    assert.equal(exchanges(), before);
  });

  test('control: msal-node misses the same entry with the hash under a snake_case name', async () => {
    const { result, json } = await exchangeWithLib(assertions.alice);
    const cache = JSON.parse(json);
    for (const at of Object.values(cache.AccessToken)) {
      at.user_assertion_hash = at.userAssertionHash;
      delete at.userAssertionHash;
    }
    const cca = msalNodeClient();
    cca.getTokenCache().deserialize(JSON.stringify(cache));
    const before = exchanges();
    const r = await cca.acquireTokenOnBehalfOf({ oboAssertion: assertions.alice, scopes: SCOPES });
    assert.equal(r.fromCache, false, 'msal-node 7 reads `userAssertionHash` only');
    assert.notEqual(r.accessToken, result.accessToken);
    assert.equal(exchanges() - before, 1);
  });

  test('msal-node does not serve it for another user\'s assertion', async () => {
    const { result, json } = await exchangeWithLib(assertions.alice);
    const cca = msalNodeClient();
    cca.getTokenCache().deserialize(json);

    const before = exchanges();
    const bobs = await cca.acquireTokenOnBehalfOf({ oboAssertion: assertions.bob, scopes: SCOPES });
    assert.equal(bobs.fromCache, false, 'Bob\'s assertion is exchanged, not answered from Alice\'s entry');
    assert.equal(exchanges() - before, 1);
    assert.notEqual(bobs.accessToken, result.accessToken);
    assert.equal(jwtClaims(bobs.accessToken).sub, BOB.oid);

    // Alice's entry is still hers, next to Bob's.
    const alices = await cca.acquireTokenOnBehalfOf({ oboAssertion: assertions.alice, scopes: SCOPES });
    assert.equal(alices.fromCache, true);
    assert.equal(alices.accessToken, result.accessToken);
    assert.equal(exchanges() - before, 1);
  });

  test('msal-node does not serve it for an assertion that differs by one character, or for other scopes', async () => {
    const { result, json } = await exchangeWithLib(assertions.alice);
    const cca = msalNodeClient();
    cca.getTokenCache().deserialize(json);
    // msal-node validates nothing locally: a changed signature still selects by hash, so it misses the
    // cache and goes to the provider, which refuses the token.
    // A character inside the signature: the last one may carry only padding bits, which decode the same.
    const at = assertions.alice.length - 10;
    const tampered = `${assertions.alice.slice(0, at)}${assertions.alice[at] === 'A' ? 'B' : 'A'}${assertions.alice.slice(at + 1)}`;
    const before = exchanges();
    await assert.rejects(cca.acquireTokenOnBehalfOf({ oboAssertion: tampered, scopes: SCOPES }), (error) => {
      assert.equal(error.errorCode, 'invalid_grant');
      return true;
    });
    assert.equal(exchanges() - before, 1, 'a miss: msal-node asked the provider');

    const write = await cca.acquireTokenOnBehalfOf({ oboAssertion: assertions.alice, scopes: ['api://downstream/write'] });
    assert.equal(write.fromCache, false, 'another scope is not answered from the read token');
    assert.notEqual(write.accessToken, result.accessToken);
  });

  test('our lib does not serve one user\'s OBO token for another\'s assertion either', async () => {
    const { app, result } = await exchangeWithLib(assertions.alice);
    const before = exchanges();
    const bobs = await app.acquireTokenOnBehalfOf({ userAssertion: assertions.bob, scopes: SCOPES });
    assert.equal(bobs.tokenSource, 'identity_provider');
    assert.equal(exchanges() - before, 1);
    assert.equal(jwtClaims(bobs.accessToken).sub, BOB.oid);
    const alices = await app.acquireTokenOnBehalfOf({ userAssertion: assertions.alice, scopes: SCOPES });
    assert.equal(alices.tokenSource, 'cache');
    assert.equal(alices.accessToken, result.accessToken);
    // Each export holds only its own assertion's entry.
    const bobsExport = JSON.parse(await app.serializeOnBehalfOfCache({ userAssertion: assertions.bob, scopes: SCOPES }));
    assert.deepEqual(Object.values(bobsExport.AccessToken).map((at) => at.secret), [bobs.accessToken]);
  });
});
