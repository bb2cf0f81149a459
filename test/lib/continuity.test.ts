/**
 * ID-token continuity on refresh (OIDC Core §12.2): a refreshed ID token must be the signed-in account's
 * — same iss, sub, tid, aud and oid — or the refresh is refused and nothing of it is stored.
 */
import * as jose from 'jose';
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { ConfidentialClientApplication } from '../../lib/confidential-client.ts';
import { InteractionRequiredError } from '../../lib/errors.ts';
import { endsSignIn } from '../../lib/interaction.ts';
import { MemoryAccountStore } from '../../lib/storage/memory-account-store.ts';
import type { AccountRecord } from '../../lib/account.ts';
import { MemoryCacheStore, SEALING_SECRET, jsonResponse } from './fakes.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;
const ISSUER = `${AUTHORITY}/v2.0`;
const CLIENT_ID = 'web-app';
const HOME = `uid-1.${TENANT}`;
const SIGNED_IN = { iss: ISSUER, sub: 'sub-1', tid: TENANT, aud: CLIENT_ID, oid: 'oid-1' };

/** A provider whose refresh answers carry an ID token with `claims` (signed by its published key). */
async function setup(claims: Record<string, unknown>) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const idToken = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  const fetch = (async (input: RequestInfo | URL) => {
    const url = new Request(input).url;
    if (url.endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: ISSUER, token_endpoint: `${AUTHORITY}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY}/discovery/v2.0/keys` });
    }
    if (url.endsWith('/keys')) return jsonResponse({ keys: [jwk] });
    return jsonResponse({ access_token: 'at-new', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-new', id_token: idToken });
  }) as typeof globalThis.fetch;
  const cacheStore = new MemoryCacheStore();
  const app = await ConfidentialClientApplication.fromSettings(
    { AUTHORITY, CLIENT_ID, CLIENT_SECRET: 's', TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_RETRY_DELAY_MS: '0' },
    { cacheStore, fetch },
  );
  const accounts = new MemoryAccountStore<AccountRecord>();
  const environment = 'login.microsoftonline.com';
  await accounts.put(HOME, {
    account: { home_account_id: HOME, environment, realm: TENANT, local_account_id: 'oid-1', username: 'alice@contoso.test', authority_type: 'MSSTS' },
    idToken: { home_account_id: HOME, environment, credential_type: 'IdToken', client_id: CLIENT_ID, realm: TENANT, secret: 'id-old' },
    refreshToken: { home_account_id: HOME, environment, credential_type: 'RefreshToken', client_id: CLIENT_ID, secret: 'rt-old' },
    idTokenClaims: SIGNED_IN,
    accessTokenTargets: [],
  });
  const acquire = () => app.acquireTokenSilent(accounts, { scopes: ['api://a/read'], account: { homeAccountId: HOME, tenantId: TENANT } });
  return { accounts, cacheStore, acquire };
}

for (const [claim, other] of [['sub', 'sub-2'], ['oid', 'oid-2']] as const) {
  test(`a refreshed ID token with another ${claim} is refused as a revoked grant that ends the sign-in`, async () => {
    const { acquire } = await setup({ ...SIGNED_IN, [claim]: other });
    const error = await assertRejects(acquire, InteractionRequiredError, 'invalid_grant');
    assertEquals(error.subError, 'account_mismatch');
    assert(endsSignIn(error));
  });
}

test('a refused refresh stores nothing: neither its refresh token, its ID token nor its access token', async () => {
  const { acquire, accounts, cacheStore } = await setup({ ...SIGNED_IN, sub: 'sub-2', oid: 'oid-2' });
  await assertRejects(acquire, InteractionRequiredError);
  const record = (await accounts.get(HOME))!;
  assertEquals(record.refreshToken?.secret, 'rt-old');
  assertEquals(record.idToken.secret, 'id-old');
  assertEquals(record.idTokenClaims, SIGNED_IN);
  assertEquals(cacheStore.puts, 0);
});

test('a refreshed ID token of the same account is taken, with the rotated refresh token', async () => {
  const { acquire, accounts } = await setup({ ...SIGNED_IN, name: 'Alice Renamed' });
  assertEquals((await acquire()).accessToken, 'at-new');
  const record = (await accounts.get(HOME))!;
  assertEquals(record.refreshToken?.secret, 'rt-new');
  assertEquals(record.idTokenClaims.name, 'Alice Renamed');
});
