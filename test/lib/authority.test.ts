import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows, test } from './spec.ts';
import { discoveryUrl, parseAuthority } from '../../lib/oauth/authority.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { ClientConfigurationError, NetworkError, ServerError } from '../../lib/errors.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

test('parseAuthority treats a GUID tenant on login.microsoftonline.com as entra', () => {
  const authority = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);
  assertEquals(authority, {
    type: 'entra',
    url: `https://login.microsoftonline.com/${TENANT}`,
    environment: 'login.microsoftonline.com',
    tenant: TENANT,
    issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    multiTenant: false,
    allowInsecure: false,
  });
});

test('parseAuthority lower-cases an upper-case GUID tenant', () => {
  assertEquals(parseAuthority(`https://login.microsoftonline.com/${TENANT.toUpperCase()}`).tenant, TENANT);
});

test('parseAuthority keeps a non-default port in the environment', () => {
  const authority = parseAuthority(`https://login.example.test:8443/${TENANT}`, { knownHosts: ['login.example.test:8443'] });
  assertEquals(authority.environment, 'login.example.test:8443');
  assertEquals(authority.issuer, `https://login.example.test:8443/${TENANT}/v2.0`);
});

test('parseAuthority gives an entra discovery URL under /v2.0', () => {
  assertEquals(
    discoveryUrl(parseAuthority(`https://login.microsoftonline.com/${TENANT}`)),
    `https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`,
  );
});

test('parseAuthority treats a domain tenant as entra', () => {
  const authority = parseAuthority('https://login.microsoftonline.com/contoso.onmicrosoft.com');
  assertEquals(authority.type, 'entra');
  assertEquals(authority.tenant, 'contoso.onmicrosoft.com');
  assertEquals(authority.multiTenant, false);
});

test('parseAuthority treats common as multi-tenant with the {tenantid} issuer', () => {
  const authority = parseAuthority('https://login.microsoftonline.com/common');
  assertEquals(authority.type, 'entra');
  assertEquals(authority.multiTenant, true);
  assertEquals(authority.issuer, 'https://login.microsoftonline.com/{tenantid}/v2.0');
});

test('parseAuthority treats organizations as multi-tenant with the {tenantid} issuer', () => {
  const authority = parseAuthority('https://login.microsoftonline.com/Organizations');
  assertEquals(authority.tenant, 'organizations');
  assertEquals(authority.multiTenant, true);
  assertEquals(authority.issuer, 'https://login.microsoftonline.com/{tenantid}/v2.0');
});

test('parseAuthority takes an OpenID provider with AUTHORITY_TYPE=oidc as it is', () => {
  const authority = parseAuthority('https://idp.example.test/realms/main', { type: 'oidc' });
  assertEquals(authority, {
    type: 'oidc',
    url: 'https://idp.example.test/realms/main',
    environment: 'idp.example.test',
    tenant: '',
    issuer: 'https://idp.example.test/realms/main',
    multiTenant: false,
    allowInsecure: false,
  });
  assertEquals(discoveryUrl(authority), 'https://idp.example.test/realms/main/.well-known/openid-configuration');
});

test('parseAuthority takes a bare origin as an OIDC issuer', () => {
  const authority = parseAuthority('https://accounts.example.test/', { type: 'oidc' });
  assertEquals(authority.type, 'oidc');
  assertEquals(authority.issuer, 'https://accounts.example.test');
  assertEquals(discoveryUrl(authority), 'https://accounts.example.test/.well-known/openid-configuration');
});

test('parseAuthority honours an explicit oidc type for a tenant-shaped path', () => {
  const authority = parseAuthority(`https://login.microsoftonline.com/${TENANT}/v2.0`, { type: 'oidc' });
  assertEquals(authority.type, 'oidc');
  assertEquals(authority.issuer, `https://login.microsoftonline.com/${TENANT}/v2.0`);
});

test('parseAuthority rejects an explicit entra type for a path that is not a tenant', () => {
  assertThrows(() => parseAuthority('https://login.microsoftonline.com/a/b/c', { type: 'entra' }), ClientConfigurationError);
});

test('parseAuthority rejects http on a non-loopback host', () => {
  const error = assertThrows(() => parseAuthority(`http://login.microsoftonline.com/${TENANT}`), ClientConfigurationError);
  assertStringIncludes(error.message, 'AUTHORITY');
});

test('parseAuthority accepts http on a loopback host and marks it insecure', () => {
  for (const host of ['127.0.0.1:9000', 'localhost:9000', '[::1]:9000']) {
    const authority = parseAuthority(`http://${host}/${TENANT}`);
    assertEquals(authority.allowInsecure, true, host);
    assertEquals(authority.environment, host);
  }
});

test('parseAuthority rejects a query string', () => {
  assertThrows(() => parseAuthority(`https://login.microsoftonline.com/${TENANT}?x=1`), ClientConfigurationError);
});

test('parseAuthority rejects a fragment and credentials', () => {
  assertThrows(() => parseAuthority(`https://login.microsoftonline.com/${TENANT}#f`), ClientConfigurationError);
  assertThrows(() => parseAuthority(`https://user:pw@login.microsoftonline.com/${TENANT}`), ClientConfigurationError);
});

test('parseAuthority rejects a relative URL and another scheme', () => {
  assertThrows(() => parseAuthority(`/${TENANT}`), ClientConfigurationError);
  assertThrows(() => parseAuthority(`ftp://login.microsoftonline.com/${TENANT}`), ClientConfigurationError);
});

test('parseAuthority removes trailing slashes', () => {
  assertEquals(parseAuthority(`https://login.microsoftonline.com/${TENANT}/`).url, `https://login.microsoftonline.com/${TENANT}`);
  assertEquals(parseAuthority('https://idp.example.test/realms/main//', { type: 'oidc' }).url, 'https://idp.example.test/realms/main');
});

test('parseAuthority names the given setting in its error', () => {
  const error = assertThrows(() => parseAuthority('nope', { setting: 'OTHER_AUTHORITY' }), ClientConfigurationError);
  assertEquals(error.setting, 'OTHER_AUTHORITY');
});

// ---- discovery -------------------------------------------------------------------------------------

const ENTRA = parseAuthority(`https://login.microsoftonline.com/${TENANT}`);

function metadataFor(issuer: string, base = ENTRA.url): Record<string, unknown> {
  return {
    issuer,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A fake fetch answering from `answer`, counting calls; it resolves on a later turn like real I/O. */
function fakeFetch(answer: (url: string, call: number) => Response | Promise<Response>) {
  const calls: string[] = [];
  const fetch = (async (input: RequestInfo | URL) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push(url);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return answer(url, calls.length);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

test('ProviderMetadataCache.authorizationServer fetches the discovery document once for concurrent callers', async () => {
  const metadata = new ProviderMetadataCache();
  const { fetch, calls } = fakeFetch(() => json(metadataFor(ENTRA.issuer)));
  const results = await Promise.all(Array.from({ length: 10 }, () => metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, Date.now())));
  assertEquals(calls, [discoveryUrl(ENTRA)]);
  for (const as of results) assertEquals(as.token_endpoint, `${ENTRA.url}/oauth2/v2.0/token`);
});

test('ProviderMetadataCache.authorizationServer reuses discovered metadata for a later caller within a day', async () => {
  const metadata = new ProviderMetadataCache();
  const { fetch, calls } = fakeFetch(() => json(metadataFor(ENTRA.issuer)));
  const t0 = 1_700_000_000_000;
  await metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, t0);
  await metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, t0 + 60_000);
  assertEquals(calls.length, 1);
  await metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, t0 + 25 * 3600_000);
  assertEquals(calls.length, 2, 'fetched again after 24 h');
});

test('ProviderMetadataCache.authorizationServer does not cache a failure: the next call fetches again', async () => {
  const metadata = new ProviderMetadataCache();
  const { fetch, calls } = fakeFetch((_url, call) => (call === 1 ? json({ error: 'temporarily_unavailable' }, 503) : json(metadataFor(ENTRA.issuer))));
  await assertRejects(() => metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, Date.now()), ServerError);
  const as = await metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, Date.now());
  assertEquals(as.issuer, ENTRA.issuer);
  assertEquals(calls.length, 2);
});

test('ProviderMetadataCache.authorizationServer turns an unreachable provider into NetworkError network_error', async () => {
  const metadata = new ProviderMetadataCache();
  const fetch = (() => Promise.reject(new TypeError('connection refused'))) as typeof globalThis.fetch;
  await assertRejects(() => metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, Date.now()), NetworkError, 'network_error');
});

test('ProviderMetadataCache.authorizationServer rejects a discovery document announcing another issuer', async () => {
  const metadata = new ProviderMetadataCache();
  const { fetch } = fakeFetch(() => json(metadataFor('https://login.microsoftonline.com/other-tenant/v2.0')));
  await assertRejects(() => metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, Date.now()), NetworkError, 'invalid_provider_response');
});

test('ProviderMetadataCache.authorizationServer accepts the literal {tenantid} issuer for a multi-tenant authority', async () => {
  const metadata = new ProviderMetadataCache();
  const common = parseAuthority('https://login.microsoftonline.com/common');
  const { fetch, calls } = fakeFetch(() => json(metadataFor('https://login.microsoftonline.com/{tenantid}/v2.0', common.url)));
  const as = await metadata.authorizationServer(common, { fetch, timeoutMs: 5000 }, Date.now());
  assertEquals(as.issuer, 'https://login.microsoftonline.com/{tenantid}/v2.0');
  assertEquals(calls, ['https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration']);
});

test('ProviderMetadataCache.authorizationServer rejects a multi-tenant document with a concrete issuer', async () => {
  const metadata = new ProviderMetadataCache();
  const common = parseAuthority('https://login.microsoftonline.com/common');
  const { fetch } = fakeFetch(() => json(metadataFor(`https://login.microsoftonline.com/${TENANT}/v2.0`, common.url)));
  await assertRejects(() => metadata.authorizationServer(common, { fetch, timeoutMs: 5000 }, Date.now()), NetworkError, 'invalid_provider_response');
});

test('ProviderMetadataCache.authorizationServer validates an OIDC issuer exactly as announced', async () => {
  const metadata = new ProviderMetadataCache();
  const oidc = parseAuthority('https://idp.example.test/realms/main', { type: 'oidc' });
  const { fetch } = fakeFetch(() => json(metadataFor(oidc.issuer, oidc.url)));
  const as = await metadata.authorizationServer(oidc, { fetch, timeoutMs: 5000 }, Date.now());
  assert(as.token_endpoint?.startsWith(oidc.url));
});

test('parseAuthority takes a loopback one-segment path without a domain-like last label as an OIDC issuer', () => {
  const authority = parseAuthority('http://127.0.0.1:9000/v2.0');
  assertEquals(authority.type, 'oidc');
  assertEquals(authority.issuer, 'http://127.0.0.1:9000/v2.0');
});

test('parseAuthority takes a domain tenant such as contoso.onmicrosoft.com as Entra', () => {
  assertEquals(parseAuthority('https://login.microsoftonline.com/contoso.onmicrosoft.com').type, 'entra');
});

test('ProviderMetadataCache.authorizationServer refuses a discovery document over 256 KiB and keeps nothing', async () => {
  const metadata = new ProviderMetadataCache();
  const { fetch, calls } = fakeFetch((_url, call) => json(call === 1 ? { ...metadataFor(ENTRA.issuer), padding: 'x'.repeat(300_000) } : metadataFor(ENTRA.issuer)));
  const error = await assertRejects(() => metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, Date.now()), NetworkError, 'invalid_provider_response');
  assert(error.message.includes('256 KiB'), error.message);
  assertEquals((await metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 5000 }, Date.now())).issuer, ENTRA.issuer);
  assertEquals(calls.length, 2);
});

test('ProviderMetadataCache.authorizationServer ends a slow-dripping discovery document in request_timeout', async () => {
  const metadata = new ProviderMetadataCache();
  const { fetch } = fakeFetch(() => dripping(' ', 20));
  const started = Date.now();
  await assertRejects(() => metadata.authorizationServer(ENTRA, { fetch, timeoutMs: 150 }, Date.now()), NetworkError, 'request_timeout');
  assert(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
});

/** A 200 whose body sends `chunk` every `intervalMs`, forever (until cancelled). */
function dripping(chunk: string, intervalMs: number): Response {
  let timer: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => controller.enqueue(new TextEncoder().encode(chunk)), intervalMs);
    },
    cancel() {
      clearInterval(timer);
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
}
