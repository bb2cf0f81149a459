/**
 * Response headers every route must (or must never) send: `Cache-Control: no-store` on every HTML page and
 * JSON answer, no CORS at all, `Referrer-Policy: no-referrer` on the callback, and a `state` on the way
 * out to the provider's sign-out.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import type { Env } from '../../functions/workers/index.ts';
import { call, callers, idp } from './harness.ts';
import { Browser, WORKER_ORIGIN, freshSignInState, randomClientIp, signInSettings } from './browser-driver.ts';

let settings: Env;
let signedIn: Browser;

beforeAll(async () => {
  await freshSignInState();
  settings = await signInSettings();
  signedIn = new Browser(settings);
  expect((await signedIn.signIn()).status).toBe(302);
});

/**
 * One request per route and outcome (success, refusal, error page), as a signed-in or an anonymous
 * browser sends it; `extra` headers (an Origin) are added to every one.
 */
function everyRoute(extra: Record<string, string> = {}): [string, () => Promise<Response>][] {
  const anonymous = () => new Browser(settings);
  const caller = (key: string, method = 'POST') =>
    call(settings, '/token/client', { key, method, headers: extra, ...(method === 'POST' ? { json: { scopes: ['api://downstream/.default'] } } : {}) });
  return [
    ['GET / (the demo page)', () => signedIn.get('/', extra)],
    ['GET /demo.js', () => signedIn.get('/demo.js', extra)],
    ['GET /api/demo without a token', () => signedIn.get('/api/demo', extra)],
    ['POST /token/client', () => caller(callers.orders.key)],
    ['POST /token/client refused', () => caller('wrong')],
    ['GET /token/client (405)', () => caller(callers.orders.key, 'GET')],
    ['GET /auth/me signed in', () => signedIn.get('/auth/me', extra)],
    ['GET /auth/me anonymous', () => anonymous().get('/auth/me', extra)],
    ['POST /auth/token', () => signedIn.post('/auth/token', { json: { scopes: ['api://downstream/read'] }, headers: { origin: WORKER_ORIGIN, 'x-requested-with': 'fetch', ...extra } })],
    ['GET /auth/login', () => anonymous().get('/auth/login?returnTo=/', extra)],
    ['GET /auth/login refused (page)', () => anonymous().get('/auth/login?returnTo=//evil.example', extra)],
    ['GET /auth/callback refused (page)', () => anonymous().get('/auth/callback?code=x&state=forgedforgedforged', extra)],
    ['POST /auth/callback refused (page)', () => anonymous().post('/auth/callback', { body: 'code=x', contentType: 'application/x-www-form-urlencoded', headers: extra })],
    ['POST /auth/logout refused (page)', () => anonymous().post('/auth/logout', { headers: extra })],
    ['POST /auth/logout', () => anonymous().post('/auth/logout', { headers: { origin: WORKER_ORIGIN, ...extra } })],
    ['GET /device (the device demo page)', () => anonymous().get('/device', extra)],
    ['GET /device.js', () => anonymous().get('/device.js', extra)],
    ['POST /device/start (no DEVICE_SCOPES: 404)', () => call(settings, '/device/start', { key: null, json: { scopes: ['api://downstream/read'] }, headers: extra })],
    ['POST /device/poll refused', () => call(settings, '/device/poll', { key: null, json: { flow_id: 'v1.forged' }, headers: extra })],
    ['GET /nowhere (404)', () => anonymous().get('/nowhere', extra)],
  ];
}

describe('Cache-Control: no-store', () => {
  test('on every HTML page and JSON answer', async () => {
    const seen: Record<string, string | null> = {};
    for (const [name, send] of everyRoute()) {
      const response = await send();
      const type = response.headers.get('content-type') ?? '';
      if (/^(text\/html|application\/json)/.test(type)) seen[`${name} (${response.status} ${type.split(';')[0]})`] = response.headers.get('cache-control');
    }
    expect(Object.keys(seen).length).toBeGreaterThan(10);
    expect(Object.entries(seen).filter(([, value]) => value !== 'no-store')).toEqual([]);
  });
});

describe('no CORS', () => {
  const origins = ['https://evil.example', WORKER_ORIGIN, 'null'];

  test('no route answers a request with an Origin with Access-Control-* headers', async () => {
    const emitted: string[] = [];
    for (const origin of origins) {
      for (const [name, send] of everyRoute({ origin })) {
        const response = await send();
        expect(response.status, name).toBeLessThan(500);
        const headers = [...response.headers.keys()].filter((h) => h.startsWith('access-control-'));
        if (headers.length) emitted.push(`${name} from ${origin}: ${headers.join(', ')}`);
      }
    }
    expect(emitted).toEqual([]);
  });

  const paths = ['/', '/demo.js', '/api/demo', '/token/client', '/auth/login', '/auth/callback', '/auth/me', '/auth/token', '/auth/logout', '/nowhere'];
  for (const path of paths) {
    test(`a preflight (OPTIONS) to ${path} gets no Access-Control-* headers and no 500`, async () => {
      for (const origin of origins) {
        const response = await call(settings, path, {
          method: 'OPTIONS',
          key: null,
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type, x-requested-with, authorization',
            'cf-connecting-ip': randomClientIp(),
          },
        });
        expect(response.status).toBeLessThan(500);
        expect([...response.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
      }
    });
  }
});

describe('the callback', () => {
  test('answers a completed sign-in with Referrer-Policy: no-referrer (the URL carries the code)', async () => {
    const response = await new Browser(settings, { provider: signedIn.provider }).signIn();
    expect(response.status).toBe(302);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test('answers a refused sign-in with Referrer-Policy: no-referrer too', async () => {
    const browser = new Browser(settings);
    const state = new URL(await browser.startSignIn()).searchParams.get('state')!;
    const response = await browser.get(`/auth/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(`${idp.authority}/v2.0`)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('sign-out', () => {
  test("sends a fresh state to the provider's end-session endpoint", async () => {
    const states: string[] = [];
    for (let i = 0; i < 2; i++) {
      const browser = new Browser(settings, { provider: signedIn.provider });
      await browser.signIn();
      const response = await browser.post('/auth/logout', { headers: { origin: WORKER_ORIGIN } });
      expect(response.status).toBe(302);
      const target = new URL(response.headers.get('location')!);
      expect(target.href.startsWith(idp.authority)).toBe(true);
      states.push(target.searchParams.get('state') ?? '');
    }
    expect(states[0]).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(states[1]).not.toBe(states[0]);
  });
});
