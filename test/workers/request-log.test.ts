/**
 * The request log (functions/request-log.ts) through the Worker in workerd: one JSON line per request —
 * route pattern, status, duration, correlation id, token source, provider calls, error — and no secret
 * any request carried (tokens, codes, state, cookies, passwords, user names, caller and session keys,
 * the app's own secrets) in any line. With a METRICS binding, the same facts as Analytics Engine data
 * points: Miniflare's local Analytics Engine drops every write unseen, so the binding here is a recording
 * fake of its one method, `writeDataPoint`, that enforces Analytics Engine's documented limits.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Env } from '../../functions/workers/index.ts';
import { Browser, alice, bob, freshSignInState, signInSettings } from './browser-driver.ts';
import { call, clientToken, env, provider } from './harness.ts';
import { callersSettingOf, providerRefreshToken, testCaller } from './headless-callers.ts';

beforeEach(freshSignInState);

const APP_SCOPE = 'api://downstream/.default';
const USER_SCOPE = 'api://downstream/read';
const API_SCOPE = 'api://web-app/access_as_user';

/** What a request line may hold; anything else (a path, a header, a body) would be a leak waiting to happen. */
const LINE_FIELDS = new Set([
  'message', 'method', 'route', 'flow', 'status', 'duration_ms', 'correlation_id', 'client_request_id', 'token_source',
  'provider_calls', 'provider_ms', 'provider', 'error', 'throttled', 'exception',
]);
const CALL_FIELDS = new Set(['endpoint', 'grant', 'status', 'ms', 'retried', 'throttled']);

interface ProviderCallField {
  endpoint: string;
  grant?: string;
  status: number;
  ms: number;
  retried?: true;
  throttled?: true;
}

interface RequestLine {
  message: string;
  method: string;
  route: string;
  flow?: string;
  status: number;
  duration_ms: number;
  correlation_id: string;
  client_request_id?: string;
  token_source?: string;
  provider_calls: number;
  provider_ms: number;
  provider?: ProviderCallField[];
  error?: string;
  throttled?: true;
  exception?: string;
}

const captured: { level: string; text: string }[] = [];

beforeEach(() => {
  captured.length = 0;
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      captured.push({ level, text: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') });
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Request lines are JSON with a `route`; a provider call outside any request has a line of its own. */
function requestLinesSince(from: number): { level: string; line: RequestLine }[] {
  return captured.slice(from).flatMap(({ level, text }) => {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return 'route' in parsed ? [{ level, line: parsed as unknown as RequestLine }] : [];
  });
}

/** Sends one request and returns its answer with the one line it wrote. */
async function logged(send: () => Promise<Response>): Promise<{ response: Response; body: Record<string, unknown> | undefined; line: RequestLine; level: string }> {
  const from = captured.length;
  const response = await send();
  const lines = requestLinesSince(from);
  expect(lines, "one request line (is requestLog mounted first in functions/app.ts?)").toHaveLength(1);
  const { line, level } = lines[0]!;
  expect(Object.keys(line).filter((key) => !LINE_FIELDS.has(key))).toEqual([]);
  for (const providerCall of line.provider ?? []) expect(Object.keys(providerCall).filter((key) => !CALL_FIELDS.has(key))).toEqual([]);
  expect(typeof line.duration_ms).toBe('number');
  expect(line.duration_ms).toBeGreaterThanOrEqual(0);
  expect(line.message).toBe(`${line.method} ${line.route} ${line.status}`);
  expect(line.status).toBe(response.status);
  expect(line.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(line.provider_calls).toBe((line.provider ?? []).length);
  expect(line.provider_ms).toBeCloseTo((line.provider ?? []).reduce((sum, c) => sum + c.ms, 0), 0);
  const json = response.headers.get('content-type')?.startsWith('application/json');
  const body = json ? ((await response.clone().json()) as Record<string, unknown>) : undefined;
  // The id a caller reports is the one that finds the line.
  if (body && 'correlation_id' in body) expect(line.correlation_id).toBe(body.correlation_id);
  return { response, body, line, level };
}

function tokenCall(line: RequestLine, grant: string): ProviderCallField | undefined {
  return line.provider?.find((c) => c.endpoint === 'token' && c.grant === grant);
}

/** Settings for app tokens, sign-in, on-behalf-of and the password grant at once; a cache of this test's own. */
async function everythingSettings(caller: ReturnType<typeof testCaller>): Promise<Env> {
  return signInSettings({
    SPA_SCOPES: `${USER_SCOPE} ${API_SCOPE}`,
    API_SCOPE: 'access_as_user',
    OBO_SCOPES: USER_SCOPE,
    ENABLE_PASSWORD_GRANT: 'true',
    CALLERS: await callersSettingOf(caller),
    TOKEN_CACHE_KEY: crypto.randomUUID() + crypto.randomUUID(),
  });
}

describe('one JSON line per request', () => {
  test('app token miss and hit, sign-in, cookie and session-key tokens, on-behalf-of, password grant, errors: the facts of each, and no secret in any line', async () => {
    const caller = testCaller(['client_credentials', 'password'], [APP_SCOPE, USER_SCOPE]);
    const settings = await everythingSettings(caller);
    const secrets: string[] = [caller.key, String(settings.CLIENT_SECRET), String(settings.TOKEN_CACHE_KEY), String(env.TOKEN_CACHE_KEY), String(env.SESSION_KEY)];
    const keep = (body: Record<string, unknown> | undefined, ...names: string[]) => {
      for (const name of names) if (typeof body?.[name] === 'string') secrets.push(body[name] as string);
    };

    // App token: a miss goes to the provider, the same request again is a hit.
    const miss = await logged(() => clientToken(settings, [APP_SCOPE], { key: caller.key }));
    expect(miss.response.status).toBe(200);
    expect(miss.line).toMatchObject({ method: 'POST', route: '/token/client', flow: 'client_credentials', token_source: 'identity_provider' });
    expect(miss.level).toBe('log');
    expect(tokenCall(miss.line, 'client_credentials')).toMatchObject({ status: 200 });
    expect(miss.line.provider_ms).toBeGreaterThanOrEqual(0);
    expect(miss.line.error).toBeUndefined();
    keep(miss.body, 'access_token');
    const hit = await logged(() => clientToken(settings, [APP_SCOPE], { key: caller.key }));
    expect(hit.line).toMatchObject({ route: '/token/client', token_source: 'cache', provider_calls: 0, provider_ms: 0 });
    expect(hit.line.provider).toBeUndefined();
    expect(hit.line.correlation_id).not.toBe(miss.line.correlation_id);

    // Browser sign-in: the callback carries the code and the state; the provider's pages are not the Worker's.
    const browser = new Browser(settings);
    const login = await logged(() => browser.get('/auth/login?returnTo=/'));
    expect(login.line).toMatchObject({ method: 'GET', route: '/auth/login', flow: 'authorization_code', status: 302 });
    const answer = await browser.authenticate(login.response.headers.get('location')!, alice);
    const params = 'url' in answer ? new URL(answer.url).searchParams : answer.form;
    secrets.push(params.get('code')!, params.get('state')!);
    const callback = await logged(() => browser.complete(answer));
    expect(callback.line).toMatchObject({ route: '/auth/callback', flow: 'authorization_code', status: 302 });
    expect(tokenCall(callback.line, 'authorization_code')).toMatchObject({ status: 200 });
    secrets.push(...browser.worker.cookies.values());

    // The SPA's token with its session cookie (the account's Durable Object answers it).
    const cookieToken = await logged(() => browser.token([API_SCOPE]));
    expect(cookieToken.response.status).toBe(200);
    expect(cookieToken.line).toMatchObject({ route: '/auth/token', flow: 'silent', token_source: cookieToken.body!.token_source });
    keep(cookieToken.body, 'access_token');
    const assertion = cookieToken.body!.access_token as string;

    // On-behalf-of with that token as the bearer: an exchange, then the cache.
    const obo = () => call(settings, '/token/obo', { key: assertion, json: { scopes: [USER_SCOPE] } });
    const exchange = await logged(obo);
    expect(exchange.response.status).toBe(200);
    expect(exchange.line).toMatchObject({ route: '/token/obo', flow: 'on_behalf_of', token_source: 'identity_provider' });
    expect(tokenCall(exchange.line, 'jwt-bearer')).toMatchObject({ status: 200 });
    keep(exchange.body, 'access_token');
    expect((await logged(obo)).line).toMatchObject({ route: '/token/obo', token_source: 'cache', provider_calls: 0 });

    // The password grant, and the session key it hands out.
    const password = await logged(() => call(settings, '/token/password', { key: caller.key, json: { username: bob.username, password: bob.password, scopes: [USER_SCOPE] } }));
    expect(password.response.status).toBe(200);
    expect(password.line).toMatchObject({ route: '/token/password', flow: 'password', token_source: 'identity_provider' });
    expect(tokenCall(password.line, 'password')).toMatchObject({ status: 200 });
    keep(password.body, 'access_token', 'session_key');
    const keyToken = await logged(() => call(settings, '/auth/token', { key: password.body!.session_key as string, json: { scopes: [USER_SCOPE] } }));
    expect(keyToken.response.status).toBe(200);
    expect(keyToken.line).toMatchObject({ route: '/auth/token', token_source: keyToken.body!.token_source });
    keep(keyToken.body, 'access_token');

    // Errors: an unknown caller key, a wrong password, an unknown path, a method the route does not take.
    const wrongKey = `not-a-caller-key-${crypto.randomUUID()}`;
    secrets.push(wrongKey);
    const refused = await logged(() => clientToken(settings, [APP_SCOPE], { key: wrongKey }));
    expect(refused.line).toMatchObject({ route: '/token/client', status: 401, error: 'invalid_client', provider_calls: 0 });
    expect(refused.line.token_source).toBeUndefined();
    const wrongPassword = `wrong-${crypto.randomUUID()}`;
    secrets.push(wrongPassword);
    const badPassword = await logged(() => call(settings, '/token/password', { key: caller.key, json: { username: bob.username, password: wrongPassword, scopes: [USER_SCOPE] } }));
    expect(badPassword.line).toMatchObject({ route: '/token/password', status: 400, error: 'invalid_grant' });
    expect(tokenCall(badPassword.line, 'password')).toMatchObject({ status: 400 });
    // An unknown path is logged under the last pattern it matched (a middleware's), never as itself.
    const unknown = await logged(() => call(settings, `/nowhere-${crypto.randomUUID()}?code=abc`, { method: 'GET', key: null }));
    expect(unknown.line).toMatchObject({ status: 404, error: 'not_found' });
    expect(unknown.line.route).not.toContain('nowhere');
    expect((await logged(() => call(settings, '/token/client', { method: 'GET', key: caller.key }))).line).toMatchObject({ route: '/token/client', status: 405, error: 'method_not_allowed' });

    // No line, of any kind, holds what the requests carried. Known values, JWT-looking text and long
    // opaque strings (refresh tokens and codes are ≥ 40 base64url characters), as the fuzz suite checks.
    secrets.push(alice.username, alice.password, bob.username, bob.password, assertion);
    const known = secrets.filter((s) => s.length >= 8);
    expect(known.length).toBeGreaterThan(15);
    const leaks = captured.filter(({ text }) => known.some((s) => text.includes(s)) || /eyJ[A-Za-z0-9_-]{8,}/.test(text) || /[A-Za-z0-9_-]{40,}/.test(text));
    expect(leaks).toEqual([]);
    expect(captured.every(({ text }) => !text.includes('?'))).toBe(true);
  });

  test('an unexpected error is one line, at error level, naming the error class only', async () => {
    const throwing = () => {
      throw new TypeError('request-log: injected fault with a secret-looking message');
    };
    const settings = await signInSettings();
    const faulty = { ...settings, FLOWS: { idFromName: throwing, get: throwing, newUniqueId: throwing, idFromString: throwing } } as unknown as Env;
    const { response, body, line, level } = await logged(() => new Browser(faulty).get('/auth/login?returnTo=/'));
    expect(response.status).toBe(500);
    expect(body).toMatchObject({ error: 'server_error' });
    expect(captured).toHaveLength(1);
    expect(level).toBe('error');
    expect(line).toMatchObject({ route: '/auth/login', status: 500, error: 'server_error', exception: 'TypeError' });
    expect(captured[0]!.text).not.toContain('injected fault');
  });

  test('what a request brings is never written as a field: a callback\'s own error code and correlation id, an unknown method', async () => {
    const settings = await signInSettings();
    const browser = new Browser(settings);
    // The provider's real answer, turned into an error answer of the browser's own making.
    const answer = await browser.authenticate(await browser.startSignIn(), alice);
    const query = 'url' in answer ? new URL(answer.url).searchParams : answer.form;
    const junk = `Junk${crypto.randomUUID().replace(/-/g, '')}`;
    query.delete('code');
    for (const name of ['error', 'error_description', 'correlation_id']) query.set(name, junk);
    const callback = await logged(() => browser.get(`/auth/callback?${query}`));
    expect(callback.response.status).toBe(400);
    expect(callback.line).toMatchObject({ route: '/auth/callback', error: 'other' });
    expect(callback.line.client_request_id).toBeUndefined();
    const method = await logged(() => call(settings, '/token/client', { method: 'PROPFIND', key: null }));
    expect(method.line.method).toBe('OTHER');
    expect(captured.filter(({ text }) => text.includes(junk) || text.includes('PROPFIND'))).toEqual([]);
  });

  test("the provider's throttling, and the answers given from the throttling state, are marked throttled", async () => {
    const caller = testCaller(['client_credentials'], [APP_SCOPE]);
    const settings = await everythingSettings(caller);
    await provider.fault({ endpoint: 'token', kind: '429', retryAfter: 30 });
    const throttled = await logged(() => clientToken(settings, [APP_SCOPE], { key: caller.key }));
    expect(throttled.response.status).toBe(429);
    expect(throttled.line).toMatchObject({ route: '/token/client', status: 429, throttled: true, error: throttled.body!.error });
    expect(tokenCall(throttled.line, 'client_credentials')).toMatchObject({ status: 429, throttled: true });
    const again = await logged(() => clientToken(settings, [APP_SCOPE], { key: caller.key }));
    expect(again.line).toMatchObject({ status: 429, throttled: true, provider_calls: 0 });
    // The throttling state answers with the throttled request's correlation id: the line has it (the
    // answer's), and this request's own as client_request_id.
    expect(again.line.correlation_id).toBe(throttled.line.correlation_id);
    expect(again.line.client_request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.line.client_request_id).not.toBe(again.line.correlation_id);
  });

  test('a retried provider call is listed with each attempt', async () => {
    const caller = testCaller(['client_credentials'], [APP_SCOPE]);
    const settings = await everythingSettings(caller);
    await provider.fault({ endpoint: 'token', kind: '500', times: 1 });
    const { response, line } = await logged(() => clientToken(settings, [APP_SCOPE], { key: caller.key }));
    expect(response.status).toBe(200);
    expect(line.provider?.filter((c) => c.endpoint === 'token')).toEqual([
      expect.objectContaining({ grant: 'client_credentials', status: 500 }),
      expect.objectContaining({ grant: 'client_credentials', status: 200, retried: true }),
    ]);
  });
});

/**
 * A recording fake of the Analytics Engine binding's one method, refusing what Analytics Engine refuses
 * (at most 20 blobs, 20 doubles, one index of at most 96 bytes, 16 KB of blobs in all).
 */
function recordingDataset() {
  const points: { indexes: string[]; blobs: string[]; doubles: number[] }[] = [];
  const bytes = (text: string) => new TextEncoder().encode(text).byteLength;
  return {
    points,
    writeDataPoint(point: { indexes?: (string | null)[]; blobs?: (string | null)[]; doubles?: number[] }) {
      const indexes = (point.indexes ?? []) as string[];
      const blobs = (point.blobs ?? []) as string[];
      const doubles = point.doubles ?? [];
      if (indexes.length > 1 || indexes.some((i) => bytes(i) > 96)) throw new Error('Analytics Engine takes one index of at most 96 bytes');
      if (blobs.length > 20 || doubles.length > 20) throw new Error('Analytics Engine takes at most 20 blobs and 20 doubles');
      if (blobs.reduce((sum, b) => sum + bytes(b), 0) > 16 * 1024) throw new Error('Analytics Engine takes at most 16 KB of blobs');
      if (doubles.some((d) => typeof d !== 'number' || !Number.isFinite(d))) throw new Error('doubles must be finite numbers');
      points.push({ indexes, blobs, doubles });
    },
  };
}

describe('metrics with a METRICS Analytics Engine binding', () => {
  test('each request is one data point in the documented layout: route index; route, flow, method, token source, error; status, duration, provider calls and time, hit, throttled, refreshes', async () => {
    const caller = testCaller(['client_credentials'], [APP_SCOPE]);
    const dataset = recordingDataset();
    const settings = { ...(await everythingSettings(caller)), METRICS: dataset } as Env;

    const miss = await logged(() => clientToken(settings, [APP_SCOPE], { key: caller.key }));
    const hit = await logged(() => clientToken(settings, [APP_SCOPE], { key: caller.key }));
    const refused = await logged(() => clientToken(settings, [APP_SCOPE], { key: `not-a-caller-key-${crypto.randomUUID()}` }));
    await provider.fault({ endpoint: 'token', kind: '429', retryAfter: 30 });
    const throttled = await logged(() => call(settings, '/token/client', { key: caller.key, json: { scopes: [APP_SCOPE], force_refresh: true } }));
    expect(throttled.response.status).toBe(429);

    expect(dataset.points).toHaveLength(4);
    const [missPoint, hitPoint, refusedPoint, throttledPoint] = dataset.points;
    expect(missPoint).toEqual({
      indexes: ['/token/client'],
      blobs: ['/token/client', 'client_credentials', 'POST', 'identity_provider', ''],
      doubles: [200, miss.line.duration_ms, miss.line.provider_calls, miss.line.provider_ms, 0, 0, 0],
    });
    expect(miss.line.provider_calls).toBeGreaterThanOrEqual(1);
    expect(hitPoint).toEqual({
      indexes: ['/token/client'],
      blobs: ['/token/client', 'client_credentials', 'POST', 'cache', ''],
      doubles: [200, hit.line.duration_ms, 0, 0, 1, 0, 0],
    });
    expect(refusedPoint!.blobs).toEqual(['/token/client', 'client_credentials', 'POST', '', 'invalid_client']);
    expect(refusedPoint!.doubles.slice(0, 1)).toEqual([401]);
    expect(refused.line.error).toBe('invalid_client');
    expect(throttledPoint!.blobs[4]).toBe(throttled.line.error);
    expect(throttledPoint!.doubles[0]).toBe(429);
    expect(throttledPoint!.doubles[5]).toBe(1);
  });

  test('a refresh token redeemed for the request (an account import) counts as a refresh', async () => {
    const caller = testCaller(['account_import'], [USER_SCOPE]);
    const dataset = recordingDataset();
    const settings = { ...(await everythingSettings(caller)), METRICS: dataset } as Env;
    const refreshToken = await providerRefreshToken(bob);
    const imported = await logged(() => call(settings, '/accounts/import', { key: caller.key, json: { refresh_token: refreshToken, scopes: [USER_SCOPE] } }));
    expect(imported.response.status).toBe(200);
    expect(imported.line).toMatchObject({ route: '/accounts/import', flow: 'refresh_token' });
    expect(tokenCall(imported.line, 'refresh_token')).toMatchObject({ status: 200 });
    expect(dataset.points).toHaveLength(1);
    expect(dataset.points[0]!.blobs.slice(0, 2)).toEqual(['/accounts/import', 'refresh_token']);
    expect(dataset.points[0]!.doubles[6]).toBe(1);
    expect(captured.some(({ text }) => text.includes(refreshToken))).toBe(false);
  });
});
