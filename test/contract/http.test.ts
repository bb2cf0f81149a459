/**
 * What every route shares: Cache-Control: no-store on every HTML page and JSON answer, security headers on
 * pages, no CORS anywhere, bounded and well-formed bodies, 404 for unknown paths and 405 for other methods.
 */
import { APP_ORIGIN, app, callers, type App } from './target.ts';
import { Browser, randomClientIp } from './browser.ts';
import { callersSetting, testCaller } from './callers.ts';
import { assert, assertEquals, assertError, assertStringIncludes, send, test } from './suite.ts';
import { streamedBody } from '../support/client-request.ts';

/** A deployment with every optional route on (device flow, password grant, import, the middle tier), and a signed-in browser. */
async function everything(): Promise<{ deployment: App; signedIn: Browser; headless: ReturnType<typeof testCaller> }> {
  const headless = testCaller(['client_credentials', 'password', 'account_import'], ['api://downstream/.default', 'api://downstream/read']);
  const deployment = await app({
    ...(await callersSetting(headless)),
    DEVICE_SCOPES: 'api://downstream/read',
    ENABLE_PASSWORD_GRANT: 'true',
    API_SCOPE: 'access_as_user',
    OBO_SCOPES: 'api://downstream/read',
  });
  const signedIn = new Browser(deployment);
  assertEquals((await signedIn.signIn()).status, 302);
  return { deployment, signedIn, headless };
}

/** One request per route and outcome (success, refusal, error page); `extra` headers go on every one. */
function everyRoute(deployment: App, signedIn: Browser, callerKey: string, extra: Record<string, string> = {}): [string, () => Promise<Response>][] {
  const anonymous = () => new Browser(deployment);
  const headers = { 'cf-connecting-ip': randomClientIp(), ...extra };
  const post = (path: string, bearer: string | undefined, body: unknown) => send(deployment, path, { ...(bearer ? { bearer } : {}), json: body, headers });
  return [
    ['GET / (the demo page)', () => signedIn.get('/', extra)],
    ['GET /demo.js', () => signedIn.get('/demo.js', extra)],
    ['GET /device (the device page)', () => anonymous().get('/device', extra)],
    ['GET /device.js', () => anonymous().get('/device.js', extra)],
    ['GET /api/demo without a token', () => signedIn.get('/api/demo', extra)],
    ['GET /api/profile without a token', () => signedIn.get('/api/profile', extra)],
    ['POST /token/client', () => post('/token/client', callerKey, { scopes: ['api://downstream/.default'] })],
    ['POST /token/client refused', () => post('/token/client', 'wrong', { scopes: ['api://downstream/.default'] })],
    ['GET /token/client (405)', () => send(deployment, '/token/client', { method: 'GET', headers })],
    ['POST /token/obo refused', () => post('/token/obo', 'not.a.token', { scopes: ['api://downstream/read'] })],
    ['POST /token/password refused', () => post('/token/password', callerKey, { username: 'nobody@contoso.test', password: 'x', scopes: ['api://downstream/read'] })],
    ['POST /accounts/import refused', () => post('/accounts/import', callerKey, { refresh_token: 'garbage', scopes: ['api://downstream/read'] })],
    ['GET /auth/me signed in', () => signedIn.get('/auth/me', extra)],
    ['GET /auth/me anonymous', () => anonymous().get('/auth/me', extra)],
    ['POST /auth/token', () => signedIn.post('/auth/token', { json: { scopes: ['api://downstream/read'] }, headers: { origin: APP_ORIGIN, 'x-requested-with': 'fetch', ...extra } })],
    ['GET /auth/login', () => anonymous().get('/auth/login?returnTo=/', extra)],
    ['GET /auth/login refused (page)', () => anonymous().get('/auth/login?returnTo=//evil.example', extra)],
    ['GET /auth/callback refused (page)', () => anonymous().get('/auth/callback?code=x&state=forgedforgedforged', extra)],
    ['POST /auth/callback refused (page)', () => anonymous().post('/auth/callback', { body: 'code=x', contentType: 'application/x-www-form-urlencoded', headers: extra })],
    ['POST /auth/logout refused (page)', () => anonymous().post('/auth/logout', { headers: extra })],
    ['POST /auth/logout', () => anonymous().post('/auth/logout', { headers: { origin: APP_ORIGIN, ...extra } })],
    ['POST /device/start', () => post('/device/start', undefined, { scopes: ['api://downstream/read'] })],
    ['POST /device/poll refused', () => post('/device/poll', undefined, { flow_id: 'v1.forged' })],
    ['GET /nowhere (404)', () => anonymous().get('/nowhere', extra)],
  ];
}

test('every HTML page and JSON answer of every route carries Cache-Control: no-store', async () => {
  const { deployment, signedIn, headless } = await everything();
  const seen: Record<string, string | null> = {};
  for (const [name, request] of everyRoute(deployment, signedIn, headless.key)) {
    const response = await request();
    const type = response.headers.get('content-type') ?? '';
    if (/^(text\/html|application\/json)/.test(type)) seen[`${name} (${response.status} ${type.split(';')[0]})`] = response.headers.get('cache-control');
    await response.body?.cancel();
  }
  assert(Object.keys(seen).length > 15, `answers seen: ${Object.keys(seen).length}`);
  assertEquals(Object.entries(seen).filter(([, value]) => value !== 'no-store'), []);
});

test('no route answers a request with an Origin with Access-Control-* headers (no CORS), nor with a 5xx', async () => {
  const { deployment, signedIn, headless } = await everything();
  const emitted: string[] = [];
  for (const origin of ['https://evil.example', APP_ORIGIN, 'null']) {
    for (const [name, request] of everyRoute(deployment, signedIn, headless.key, { origin })) {
      const response = await request();
      assert(response.status < 500, `${name} from ${origin}: ${response.status}`);
      const cors = [...response.headers.keys()].filter((h) => h.startsWith('access-control-'));
      if (cors.length) emitted.push(`${name} from ${origin}: ${cors.join(', ')}`);
      await response.body?.cancel();
    }
  }
  assertEquals(emitted, []);
});

test('a preflight (OPTIONS) to any route gets no Access-Control-* headers and no 5xx', async () => {
  const deployment = await app({ DEVICE_SCOPES: 'api://downstream/read', ENABLE_PASSWORD_GRANT: 'true' });
  const paths = ['/', '/demo.js', '/api/demo', '/token/client', '/token/obo', '/token/password', '/accounts/import', '/auth/login', '/auth/callback', '/auth/me', '/auth/token', '/auth/logout', '/device/start', '/device/poll', '/nowhere'];
  for (const path of paths) {
    const response = await send(deployment, path, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-requested-with, authorization', 'cf-connecting-ip': randomClientIp() },
    });
    assert(response.status < 500, `${path}: ${response.status}`);
    assertEquals([...response.headers.keys()].filter((h) => h.startsWith('access-control-')), [], path);
    await response.body?.cancel();
  }
});

test('the demo pages are sent with a strict Content-Security-Policy, nosniff, no framing and a Referrer-Policy', async () => {
  const browser = new Browser(await app({ DEVICE_SCOPES: 'api://downstream/read' }));
  for (const path of ['/', '/device']) {
    const page = await browser.get(path);
    assertEquals(page.status, 200, path);
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) assertStringIncludes(csp, directive, path);
    assertEquals(page.headers.get('x-content-type-options'), 'nosniff', path);
    assert(page.headers.get('referrer-policy'), `${path}: a Referrer-Policy`);
    await page.body?.cancel();
  }
});

test('error pages are sent with Content-Security-Policy default-src \'none\' and reflect no input as markup', async () => {
  const page = await new Browser(await app()).get(`/auth/callback?error=${encodeURIComponent('<script>alert(1)</script>')}&error_description=${encodeURIComponent('<img src=x onerror=alert(1)>')}&state=x`);
  assertEquals(page.status, 400);
  assertStringIncludes(page.headers.get('content-security-policy') ?? '', "default-src 'none'");
  const html = await page.text();
  assert(!html.includes('<script>alert(1)') && !html.includes('<img src=x'), 'the input is escaped');
});

test('a body over 16 KiB is 413 request_too_large on every route that reads one (128 KiB on /accounts/import)', async () => {
  const caller = testCaller(['client_credentials', 'password', 'account_import'], ['api://downstream/.default', 'api://downstream/read']);
  const deployment = await app({ ...(await callersSetting(caller)), DEVICE_SCOPES: 'api://downstream/read', ENABLE_PASSWORD_GRANT: 'true', API_SCOPE: 'access_as_user', OBO_SCOPES: 'api://downstream/read' });
  const big = (bytes: number) => JSON.stringify({ scopes: ['api://downstream/read'], pad: 'x'.repeat(bytes) });
  const cases: [string, string | undefined, number][] = [
    ['/token/client', caller.key, 17 * 1024],
    ['/token/obo', 'a.b.c', 17 * 1024],
    ['/token/password', caller.key, 17 * 1024],
    ['/auth/token', undefined, 17 * 1024],
    ['/device/start', undefined, 17 * 1024],
    ['/device/poll', undefined, 17 * 1024],
    ['/accounts/import', caller.key, 129 * 1024],
  ];
  for (const [path, bearer, bytes] of cases) {
    const response = await send(deployment, path, { ...(bearer ? { bearer } : {}), body: big(bytes), contentType: 'application/json', headers: { origin: APP_ORIGIN, 'x-requested-with': 'fetch', 'cf-connecting-ip': randomClientIp() } });
    await assertError(response, 413, 'request_too_large').catch((error: Error) => {
      throw new Error(`${path}: ${error.message}`);
    });
  }
});

test('a streamed body over 16 KiB without Content-Length is 413 too', async () => {
  const stream = streamedBody(4096, 8);
  await assertError(await send(await app(), '/token/client', { bearer: callers.orders.key, body: stream, contentType: 'application/json' }), 413, 'request_too_large');
});

test('a body with a parameter twice (JSON key or form field), or a __proto__ key, is 400 invalid_request', async () => {
  const deployment = await app();
  const bodies: [string, string][] = [
    ['{"scopes":["api://downstream/.default"],"scopes":["api://other/.default"]}', 'application/json'],
    ['{"scopes":["api://downstream/.default"],"scop\\u0065s":["api://other/.default"]}', 'application/json'],
    ['{"scopes":["api://downstream/.default"],"__proto__":{"scopes":["api://other/.default"]}}', 'application/json'],
    ['scopes=api%3A%2F%2Fdownstream%2F.default&scopes=x', 'application/x-www-form-urlencoded'],
  ];
  for (const [body, contentType] of bodies) await assertError(await send(deployment, '/token/client', { bearer: callers.orders.key, body, contentType }), 400, 'invalid_request');
  assertEquals((Object.prototype as Record<string, unknown>).scopes, undefined);
});

test('a body that is not JSON, not an object, or of another content type is 400 invalid_request', async () => {
  const deployment = await app();
  const bodies: [string, string][] = [
    ['{"scopes":', 'application/json'],
    ['["api://downstream/.default"]', 'application/json'],
    ['scopes', 'text/plain'],
  ];
  for (const [body, contentType] of bodies) await assertError(await send(deployment, '/token/client', { bearer: callers.orders.key, body, contentType }), 400, 'invalid_request');
});

test('an unknown path is 404 not_found, whatever the method', async () => {
  const deployment = await app();
  for (const [method, path] of [['GET', '/nowhere'], ['POST', '/nowhere'], ['POST', '/token'], ['GET', '/auth/token'], ['DELETE', '/auth/me']]) {
    await assertError(await send(deployment, path!, { method: method!, headers: { 'cf-connecting-ip': randomClientIp() } }), 404, 'not_found').catch((error: Error) => {
      throw new Error(`${method} ${path}: ${error.message}`);
    });
  }
});

test('the POST routes answer other methods 405 method_not_allowed with Allow: POST', async () => {
  const deployment = await app({ DEVICE_SCOPES: 'api://downstream/read', ENABLE_PASSWORD_GRANT: 'true' });
  for (const path of ['/token/client', '/token/obo', '/token/password', '/accounts/import', '/device/start', '/device/poll']) {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await send(deployment, path, { method, headers: { 'cf-connecting-ip': randomClientIp() } });
      assertEquals(response.headers.get('allow'), 'POST', `${method} ${path}`);
      await assertError(response, 405, 'method_not_allowed');
    }
  }
});
