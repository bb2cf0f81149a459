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
  const authority = parseAuthority(`${origin}/${tenant}`, { knownHosts: [new URL(origin).host] });
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

// ---- key sets: bounded, kid-less tokens, rotation --------------------------------------------------

/** A provider whose JWKS answer the test sets per fetch; `sign` uses any of its keys, with or without kid. */
async function rotatingProvider(origin: string) {
  const keys = await Promise.all(['k1', 'k2'].map(async (kid) => {
    const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
    return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  }));
  let answer = (): Response => jsonResponse({ keys: [keys[0]!.jwk] });
  let jwksFetches = 0;
  const fetchImpl = (async (input: RequestInfo | URL) => {
    if (!String(input).endsWith('/keys')) return new Response('not found', { status: 404 });
    jwksFetches++;
    return answer();
  }) as typeof fetch;
  const sign = (key: 0 | 1, withKid = true) =>
    new jose.SignJWT({ tid: TENANT, nonce: 'n-1' })
      .setProtectedHeader(withKid ? { alg: 'RS256', kid: keys[key]!.kid } : { alg: 'RS256' })
      .setIssuer(`${origin}/${TENANT}/v2.0`)
      .setSubject('user-1')
      .setAudience(CLIENT_ID)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(keys[key]!.privateKey);
  return {
    fetchImpl,
    sign,
    jwksFetches: () => jwksFetches,
    serve: (next: () => Response) => (answer = next),
    bothKeys: () => jsonResponse({ keys: [keys[1]!.jwk, keys[0]!.jwk] }),
  };
}

/** Runs `fn` with Date.now moved `ms` ahead (jose's key-set cooldown reads Date.now). */
async function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + ms;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

test('a key set over 256 KiB is refused, and nothing of it is kept: the next validation fetches again', async () => {
  const origin = 'https://login.example-e.test';
  const p = await rotatingProvider(origin);
  const valid = p.bothKeys();
  const validText = await valid.text();
  p.serve(() => new Response(' '.repeat(300_000) + validText, { headers: { 'content-type': 'application/json' } }));
  const ctx = context(origin, TENANT, p.fetchImpl);
  const error = await assertRejects(() => p.sign(0).then((t) => validateIdToken(t, ctx, 'n-1')), NetworkError, 'invalid_id_token');
  assert(!error.message.includes('validation failed'), error.message);
  p.serve(() => new Response(validText, { headers: { 'content-type': 'application/json' } }));
  assertEquals((await validateIdToken(await p.sign(0), ctx, 'n-1')).sub, 'user-1');
  assertEquals(p.jwksFetches(), 2);
});

test('a slow-dripping key set ends when the provider timeout does', async () => {
  const origin = 'https://login.example-f.test';
  const p = await rotatingProvider(origin);
  let timer: ReturnType<typeof setInterval> | undefined;
  p.serve(() => new Response(new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => controller.enqueue(new TextEncoder().encode(' ')), 20);
    },
    cancel() {
      clearInterval(timer);
    },
  }), { headers: { 'content-type': 'application/json' } }));
  const authority = parseAuthority(`${origin}/${TENANT}`, { knownHosts: [new URL(origin).host] });
  const metadata = new ProviderMetadataCache();
  const ctx = { as: { issuer: authority.issuer, jwks_uri: `${origin}/${TENANT}/discovery/v2.0/keys` }, authority, clientId: CLIENT_ID, now: Date.now(), keys: (uri: string) => metadata.keySet(uri, { fetch: p.fetchImpl, timeoutMs: 150 }) };
  const started = Date.now();
  const error = await assertRejects(() => p.sign(0).then((t) => validateIdToken(t, ctx, 'n-1')), NetworkError, 'invalid_id_token');
  clearInterval(timer);
  assert(error.message.includes('in time'), error.message);
  assert(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
});

test('a token without kid is accepted when the provider publishes a single key', async () => {
  const origin = 'https://login.example-g.test';
  const p = await rotatingProvider(origin);
  assertEquals((await validateIdToken(await p.sign(0, false), context(origin, TENANT, p.fetchImpl), 'n-1')).sub, 'user-1');
});

test('a token without kid is refused when the provider publishes several keys, without a refetch', async () => {
  const origin = 'https://login.example-h.test';
  const p = await rotatingProvider(origin);
  p.serve(p.bothKeys);
  const ctx = context(origin, TENANT, p.fetchImpl);
  const error = await assertRejects(() => p.sign(0, false).then((t) => validateIdToken(t, ctx, 'n-1')), NetworkError, 'invalid_id_token');
  assert(error.message.includes('no kid'), error.message);
  assertEquals(p.jwksFetches(), 1);
});

test('a rotated provider key is accepted after one refetch, once the refetch cooldown has passed', async () => {
  const origin = 'https://login.example-i.test';
  const p = await rotatingProvider(origin);
  const ctx = context(origin, TENANT, p.fetchImpl);
  await validateIdToken(await p.sign(0), ctx, 'n-1');
  p.serve(p.bothKeys);
  // Within the cooldown the new kid is unknown and no refetch is made: a flood of kids costs nothing.
  await assertRejects(() => p.sign(1).then((t) => validateIdToken(t, ctx, 'n-1')), NetworkError, 'invalid_id_token');
  assertEquals(p.jwksFetches(), 1);
  const claims = await later(61_000, async () => validateIdToken(await p.sign(1), { ...ctx, now: Date.now() }, 'n-1'));
  assertEquals(claims.sub, 'user-1');
  assertEquals(p.jwksFetches(), 2);
  // The old key stays valid while published, and the new one needs no further fetch.
  await later(62_000, async () => {
    await validateIdToken(await p.sign(0), { ...ctx, now: Date.now() }, 'n-1');
    await validateIdToken(await p.sign(1), { ...ctx, now: Date.now() }, 'n-1');
  });
  assertEquals(p.jwksFetches(), 2);
});
