/** validateIdToken against an in-memory JWKS endpoint: signatures, key refetch limits, issuer templates. */
import * as jose from 'jose';
import { assert, assertEquals, assertRejects, test } from './spec.ts';
import { validateIdToken } from '../../lib/oauth/id-token.ts';
import { parseAuthority } from '../../lib/oauth/authority.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { NetworkError } from '../../lib/errors.ts';
import { jsonResponse } from './fakes.ts';

const TENANT = '8d3f2b1e-5c4a-4e7b-9a61-0f2d3c4b5a69';
const CLIENT_ID = 'web-app';

async function provider(origin: string) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let jwksFetches = 0;
  const fetchImpl = (async (input: RequestInfo | URL) => {
    if (String(input).endsWith('/keys')) {
      jwksFetches++;
      return jsonResponse({ keys: [jwk] });
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  const sign = (claims: Record<string, unknown>, kid = 'k1') =>
    new jose.SignJWT({ tid: TENANT, nonce: 'n-1', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(String(claims.iss ?? `${origin}/${TENANT}/v2.0`))
      .setSubject('user-1')
      .setAudience(CLIENT_ID)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  return { fetchImpl, sign, jwksFetches: () => jwksFetches };
}

function context(origin: string, tenant: string, fetchImpl: typeof fetch) {
  const authority = parseAuthority(`${origin}/${tenant}`);
  const as = { issuer: authority.issuer, jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys` };
  const metadata = new ProviderMetadataCache();
  return { as, authority, clientId: CLIENT_ID, now: Date.now(), keys: (jwksUri: string) => metadata.keySet(jwksUri, { fetch: fetchImpl, timeoutMs: 5000 }) };
}

test('validateIdToken accepts a token signed by the provider key with the flow nonce', async () => {
  const origin = 'https://login.example-a.test';
  const p = await provider(origin);
  const claims = await validateIdToken(await p.sign({}), context(origin, TENANT, p.fetchImpl), 'n-1');
  assertEquals(claims.sub, 'user-1');
});

test('unknown kids refetch the provider keys at most once per cooldown', async () => {
  const origin = 'https://login.example-b.test';
  const p = await provider(origin);
  const ctx = context(origin, TENANT, p.fetchImpl);
  await validateIdToken(await p.sign({}), ctx, 'n-1');
  for (let i = 0; i < 5; i++) {
    await assertRejects(() => p.sign({}, `unknown-${i}`).then((t) => validateIdToken(t, ctx, 'n-1')), NetworkError, 'invalid_id_token');
  }
  assert(p.jwksFetches() <= 2, `keys fetched ${p.jwksFetches()} times`);
});

test('with a multi-tenant authority the issuer is the {tenantid} template filled with the token tid', async () => {
  const origin = 'https://login.example-c.test';
  const p = await provider(origin);
  const common = context(origin, 'common', p.fetchImpl);
  common.as.issuer = `${origin}/{tenantid}/v2.0`;
  const claims = await validateIdToken(await p.sign({}), common, 'n-1');
  assertEquals(claims.tid, TENANT);
  const other = await p.sign({ iss: `${origin}/00000000-0000-0000-0000-000000000000/v2.0` });
  await assertRejects(() => validateIdToken(other, common, 'n-1'), NetworkError, 'invalid_id_token');
});

test('a single-tenant authority refuses a token of another tenant even with a matching issuer shape', async () => {
  const origin = 'https://login.example-d.test';
  const p = await provider(origin);
  const token = await p.sign({ tid: '00000000-0000-0000-0000-000000000000' });
  await assertRejects(() => validateIdToken(token, context(origin, TENANT, p.fetchImpl), 'n-1'), NetworkError, 'invalid_id_token');
});
