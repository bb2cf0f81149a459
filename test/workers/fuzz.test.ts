/**
 * Fuzz suite (issue 7, item 10): FUZZ_COUNT (default 10,000) generated requests across every route,
 * against the Worker in workerd with the local identity provider, seeded by FUZZ_SEED (default below).
 *
 * Asserted for every answer: no 500; an error is the documented JSON shape (`error`, `error_description`,
 * `correlation_id` strings; optional `error_codes` numbers, `suberror`, `claims`, `trace_id`; nothing
 * else; application/json, no-store) or, on the browser navigations only, the HTML error page (text/html,
 * no-store, no live markup from the input); a 429 has Retry-After, a 401 invalid_client WWW-Authenticate;
 * a token answer is no-store; a callback's redirect stays on this origin. For the run: no console line
 * holds a caller key, a setting's secret, a token, a refresh token or a code (the Worker and its Durable
 * Objects run in this isolate; the spies are first shown to see both); and afterwards the Worker still
 * answers: an app token, a fresh sign-in with its /auth/me and /auth/token, /auth/me of the fuzzed session.
 *
 * Much of the traffic is valid-looking, then mutated: real caller keys, the real session cookie, real flow
 * states with their transaction cookies (from the run's own /auth/login answers), real access tokens,
 * and a few full sign-ins whose real callback (a code the provider issued) is changed or replayed, so
 * that fuzzing reaches the deep code, not only the first check. Generators: fuzz-inputs.ts.
 *
 * Rate limits: the generated traffic uses client IPs of its own (198.18.0.0/15, mostly spread, one hot)
 * and never asks a real session to bypass the cache, so the buckets it fills are not the other files'.
 */
import { runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, expect, inject, test, vi } from 'vitest';
import { Browser, WORKER_ORIGIN, alice, bob, freshSignInState, signInSettings, type User } from './browser-driver.ts';
import { call, callers, callersSetting, env, idp } from './harness.ts';
import { Rng, generate, mutateCallback, returnTo, wellFormed, type FuzzPools, type FuzzRequest } from './fuzz-inputs.ts';
import type { Env } from '../../functions/workers/index.ts';
import { sha256, utf8 } from '../../lib/mod.ts';

/**
 * FUZZ_SEED / FUZZ_COUNT / FUZZ_VERBOSE. Inside workerd the test has no process.env. Read, in order:
 * - `inject('fuzz')`, when vitest.config.ts provides it (`test.provide: { fuzz: { FUZZ_SEED: process.env.FUZZ_SEED, … } }`);
 * - import.meta.env: Vite passes `VITE_`-prefixed variables, but bakes them into the transformed module,
 *   which vitest caches on disk, so they need `--no-fsModuleCache`:
 *   `VITE_FUZZ_SEED=7 VITE_FUZZ_COUNT=500 npx vitest run --no-fsModuleCache test/workers/fuzz.test.ts`;
 * - otherwise the defaults below (what `npm test` runs).
 */
const provided = (() => {
  try {
    return ((inject as (key: string) => unknown)('fuzz') ?? {}) as Record<string, string | undefined>;
  } catch {
    return {};
  }
})();
const viteEnv = (import.meta as unknown as { env?: Record<string, string | undefined> }).env ?? {};
function setting(name: string): string | undefined {
  const value = provided[name] ?? viteEnv[name] ?? viteEnv[`VITE_${name}`];
  return value === undefined || value === '' ? undefined : value;
}
const SEED = Number(setting('FUZZ_SEED') ?? 20261127) >>> 0;
const COUNT = Number(setting('FUZZ_COUNT') ?? 10_000);
/** Requests in flight at once. */
const BATCH = 16;
/** Full sign-ins (as Bob) whose real callback is mutated; they cost a trip through the provider's pages. */
const REAL_CALLBACKS = Math.max(2, Math.min(30, Math.round(COUNT / 300)));

/** The caller that sends the cache-bypassing requests: its own rate-limit key, not shared with other files. */
const bypassCaller = { key: 'fuzz-bypass-caller-key-7c1d9e3a5b', scopes: ['api://downstream/.default'] };

const LOG_METHODS = ['log', 'warn', 'error', 'info', 'debug'] as const;
const logLines: { method: string; text: string }[] = [];
const spies: ReturnType<typeof vi.spyOn>[] = [];
/** Whether captured lines are also printed (off while the capture check provokes its own lines). */
let passThrough = true;

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ''}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

beforeAll(() => {
  for (const method of LOG_METHODS) {
    const original = console[method].bind(console);
    spies.push(
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logLines.push({ method, text: args.map(stringify).join(' ') });
        if (passThrough) original(...args);
      }),
    );
  }
});

afterAll(() => {
  for (const spy of spies) spy.mockRestore();
});

async function hex(text: string): Promise<string> {
  return [...(await sha256(utf8(text)))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function fuzzCallers(): Promise<string> {
  const entries = JSON.parse(await callersSetting()) as Record<string, unknown>;
  entries['fuzz-bypass'] = { key_sha256: await hex(bypassCaller.key), scopes: bypassCaller.scopes };
  return JSON.stringify(entries);
}

let ipCounter = 0;
/** A client IP of this suite's own, never used by the generated traffic (198.18/15 there). */
function freshIp(): string {
  ipCounter += 1;
  return `203.0.113.${ipCounter % 250}`.replace(/\.0$/, '.250');
}

/** Browser.signIn, with a CF-Connecting-IP of our own on the rate-limited routes. */
async function signInFrom(browser: Browser, user: User, ip = freshIp()): Promise<Response> {
  const login = await browser.get('/auth/login?returnTo=/', { 'cf-connecting-ip': ip });
  if (login.status !== 302) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  const answer = await browser.authenticate(login.headers.get('location')!, user);
  if (!('url' in answer)) throw new Error('expected a query-mode callback');
  const url = new URL(answer.url);
  return browser.get(url.pathname + url.search, { 'cf-connecting-ip': ip });
}

function sessionPair(browser: Browser): string {
  const value = browser.worker.cookies.get('__Host-session');
  if (!value) throw new Error('no session cookie after sign-in');
  return `__Host-session=${value}`;
}

/** Sends one generated request to the Worker, as harness.ts `call()` does, with full control of method, headers and body. */
async function send(worker: Env, request: FuzzRequest): Promise<Response> {
  const noBody = ['GET', 'HEAD'].includes(request.method.toUpperCase());
  let body: BodyInit | null = null;
  if (!noBody && request.body !== undefined) {
    if (typeof request.body === 'string' || request.body instanceof Uint8Array) body = request.body;
    else {
      const bytes = request.body.stream;
      // A stream has no Content-Length: the body limit must count what it reads.
      body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
          controller.close();
        },
      });
    }
  }
  return call(worker, request.path, { method: request.method, key: null, headers: request.headers, body });
}

const ERROR_KEYS = new Set(['error', 'error_description', 'correlation_id', 'error_codes', 'suberror', 'claims', 'trace_id']);
const NAVIGATIONS = ['/auth/login', '/auth/callback', '/auth/logout'];

function decodedPath(path: string): string {
  const pathname = new URL(`${WORKER_ORIGIN}${path}`).pathname;
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

interface Outcome {
  status: number;
  text: string;
  /** What is wrong with the answer, if anything. */
  problems: string[];
  json?: Record<string, unknown>;
}

/** The assertions on one answer; returns the problems found (empty: fine). */
function check(request: FuzzRequest, response: Response, text: string, serverSecrets: readonly string[]): Outcome {
  const problems: string[] = [];
  const status = response.status;
  const type = response.headers.get('content-type') ?? '';
  const head = request.method.toUpperCase() === 'HEAD';
  let json: Record<string, unknown> | undefined;
  if (status === 500 || status < 200 || status > 599) problems.push(`status ${status}`);
  if (status >= 400) {
    if (/^application\/json\b/i.test(type)) {
      if (!head) {
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          problems.push('error body is not JSON');
        }
        if (json) {
          if (!/\bno-store\b/.test(response.headers.get('cache-control') ?? '')) problems.push('JSON error without Cache-Control: no-store');
          if (typeof json !== 'object' || Array.isArray(json) || json === null) problems.push('error body is not an object');
          else {
            for (const key of ['error', 'error_description', 'correlation_id']) {
              if (typeof json[key] !== 'string') problems.push(`error field ${key} is not a string`);
            }
            for (const key of Object.keys(json)) if (!ERROR_KEYS.has(key)) problems.push(`undocumented error field ${key}`);
            if ('error_codes' in json && !(Array.isArray(json.error_codes) && json.error_codes.every((n) => typeof n === 'number'))) problems.push('error_codes is not an array of numbers');
            for (const key of ['suberror', 'claims', 'trace_id']) {
              if (key in json && typeof json[key] !== 'string') problems.push(`${key} is not a string`);
            }
            if (json.error === 'invalid_client' && status === 401 && !response.headers.get('www-authenticate')) problems.push('401 invalid_client without WWW-Authenticate');
          }
        }
      }
    } else if (/^text\/html\b/i.test(type)) {
      if (!NAVIGATIONS.some((route) => decodedPath(request.path).startsWith(route))) problems.push('HTML error page outside a browser navigation');
      if (!/\bno-store\b/.test(response.headers.get('cache-control') ?? '')) problems.push('HTML error page without Cache-Control: no-store');
      if (!head && !/^<!doctype html>/i.test(text)) problems.push('HTML error page is not a page');
      // Input shows up escaped (`&lt;img …`) or not at all; a live tag from the request would be reflected XSS.
      if (/<(?:script|img|svg|iframe|a\s+href="?javascript)\b/i.test(text)) problems.push('HTML error page reflects markup');
    } else {
      problems.push(`error with content-type "${type}"`);
    }
    if (status === 429 && !response.headers.get('retry-after')) problems.push('429 without Retry-After');
  } else if (status >= 300) {
    const location = response.headers.get('location');
    if (!location) problems.push(`${status} without Location`);
    // Issue 7 item 1's invariant: after sign-in the browser goes to a path on this origin.
    else if (decodedPath(request.path).startsWith('/auth/callback')) {
      if (!location.startsWith('/') || /^\/[\/\\]/.test(location) || /[\x00-\x20\x7f\\]/.test(location) || new URL(location, WORKER_ORIGIN).origin !== WORKER_ORIGIN) {
        problems.push(`callback redirects off the origin: ${location.slice(0, 200)}`);
      }
    }
  } else if (status === 200 && !head && /^application\/json\b/i.test(type)) {
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      problems.push('200 JSON body is not JSON');
    }
    if (json && 'access_token' in json) {
      if (typeof json.access_token !== 'string' || typeof json.expires_in !== 'number' || json.token_type !== 'Bearer') problems.push('token answer without access_token/expires_in/token_type');
      if (!/\bno-store\b/.test(response.headers.get('cache-control') ?? '')) problems.push('token answer without Cache-Control: no-store');
    }
  }
  for (const secret of serverSecrets) if (secret && text.includes(secret)) problems.push('response holds a server secret');
  return { status, text, problems, ...(json ? { json } : {}) };
}

/** The seed of request `index` of a run (a murmur3-style mix of the run's seed and the index). */
function requestSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A request as text for the report: enough to replay it. */
function describeRequest(request: FuzzRequest): string {
  const clip = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…(${s.length} chars)` : s);
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? clip(request.body)
        : request.body instanceof Uint8Array
          ? `<${request.body.length} random bytes>`
          : `<stream> ${clip(new TextDecoder().decode(request.body.stream))}`;
  const headers = Object.entries(request.headers).map(([k, v]) => `${k}: ${clip(v)}`).join('\n  ');
  return `${request.method} ${clip(request.path)}\n  ${headers}\n  body: ${body}`;
}

test(
  `fuzz: ${COUNT} generated requests across every route (seed ${SEED})`,
  async () => {
    console.log(`fuzz: seed ${SEED} (FUZZ_SEED), ${COUNT} requests (FUZZ_COUNT), ${BATCH} in flight`);
    await freshSignInState();
    // With the middle-tier settings, so that /token/obo and /api/profile are fuzzed as deployed.
    const worker = await signInSettings({ CALLERS: await fuzzCallers(), API_SCOPE: 'access_as_user', OBO_SCOPES: 'api://downstream/read' });
    const issuer = `${idp.authority}/v2.0`;

    // Valid material: a signed-in session (Alice), an expendable one (Bob), access tokens.
    const main = new Browser(worker);
    expect((await signInFrom(main, alice)).status).toBe(302);
    const mainSession = sessionPair(main);
    const me = (await (await main.get('/auth/me')).json()) as { account: { homeAccountId: string } };
    const aliceHid = me.account.homeAccountId;
    const userToken = (await (await main.token()).json()) as { access_token: string };
    const appToken = (await (await call(worker, '/token/client', { json: { scopes: ['api://downstream/.default'] } })).json()) as { access_token: string };
    const expendable = new Browser(worker);
    expect((await signInFrom(expendable, bob)).status).toBe(302);
    const bobHid = ((await (await expendable.get('/auth/me')).json()) as { account: { homeAccountId: string } }).account.homeAccountId;
    const pools: FuzzPools = {
      origin: WORKER_ORIGIN,
      issuer,
      callerKeys: Object.values(callers),
      bypassCaller,
      spaScopes: ['api://downstream/read'],
      mainSession,
      expendableSessions: [sessionPair(expendable)],
      states: [],
      accessTokens: [userToken.access_token, appToken.access_token],
    };

    /** Everything that must never appear in a log line. */
    const seenTokens = new Set<string>(pools.accessTokens);
    const seenCodes = new Set<string>();
    const serverSecrets = [String(worker.CLIENT_SECRET), String(worker.TOKEN_CACHE_KEY), String(env.SESSION_KEY), String(env.TOKEN_CACHE_KEY)];
    async function accountSecrets(hid: string): Promise<string[]> {
      const stub = env.ACCOUNTS.get(env.ACCOUNTS.idFromName(hid));
      const record = await runInDurableObject(stub, (_instance, state) => state.storage.get<{ refreshToken?: { secret?: string }; idToken?: { secret?: string } }>('account'));
      return [record?.refreshToken?.secret, record?.idToken?.secret].filter((s): s is string => typeof s === 'string' && s.length > 0);
    }
    const refreshTokensBefore = [...(await accountSecrets(aliceHid)), ...(await accountSecrets(bobHid))];
    expect(refreshTokensBefore.length).toBeGreaterThan(0);

    // The spies see the Worker's logs: a fault injected under /auth/login (a FLOWS binding that throws)
    // must end in unexpectedErrorResponse, whose error (by class name) the spy records at error level on
    // the request's line (functions/request-log.ts); and a line logged inside a Durable Object (the
    // AccountObject's isolate) reaches the same spy.
    const throwing = () => {
      throw new TypeError('fuzz: injected fault');
    };
    const faulty = { ...worker, FLOWS: { idFromName: throwing, get: throwing, newUniqueId: throwing, idFromString: throwing } } as unknown as Env;
    const before = logLines.length;
    passThrough = false;
    const faultResponse = await call(faulty, '/auth/login?returnTo=/', { method: 'GET', key: null, headers: { 'cf-connecting-ip': freshIp() } });
    expect(faultResponse.status).toBe(500);
    expect(logLines.slice(before).some((l) => l.method === 'error' && l.text.includes('"exception":"TypeError"'))).toBe(true);
    await runInDurableObject(env.ACCOUNTS.get(env.ACCOUNTS.idFromName(aliceHid)), () => console.warn('fuzz: probe from inside the AccountObject'));
    expect(logLines.slice(before).some((l) => l.method === 'warn' && l.text.includes('probe from inside the AccountObject'))).toBe(true);
    passThrough = true;
    console.log('fuzz: log capture checked: the spies saw the error-level line of an injected fault (500) and a console.warn from inside the AccountObject');
    const logStart = logLines.length;

    const statuses = new Map<number, number>();
    const byCategory = new Map<string, Map<number, number>>();
    const failures: { index: number; kind: string; status: number; problems: string[]; request: string; body: string }[] = [];
    const count = (map: Map<number, number>, status: number) => map.set(status, (map.get(status) ?? 0) + 1);
    // FUZZ_VERBOSE: a table of (method, generator/variant, status, error) at the end.
    const verbose = setting('FUZZ_VERBOSE') !== undefined;
    const detail = new Map<string, number>();
    const record = (index: number, request: FuzzRequest, outcome: Outcome) => {
      if (verbose) {
        const line = `${request.method} ${request.kind} → ${outcome.status} ${String(outcome.json?.error ?? /<strong>([^<]*)/.exec(outcome.text)?.[1] ?? '')}`;
        detail.set(line, (detail.get(line) ?? 0) + 1);
      }
      count(statuses, outcome.status);
      const category = request.kind.split('/')[0]!;
      if (!byCategory.has(category)) byCategory.set(category, new Map());
      count(byCategory.get(category)!, outcome.status);
      if (outcome.problems.length > 0) {
        failures.push({ index, kind: request.kind, status: outcome.status, problems: outcome.problems, request: describeRequest(request), body: outcome.text.slice(0, 400) });
      }
      const token = outcome.json?.access_token;
      if (outcome.status === 200 && typeof token === 'string') {
        seenTokens.add(token);
        if (pools.accessTokens.length < 40) pools.accessTokens.push(token);
      }
    };

    const realCallbackAt = new Set(Array.from({ length: REAL_CALLBACKS }, (_, i) => Math.floor(((i + 0.5) * COUNT) / REAL_CALLBACKS / BATCH) * BATCH));
    /** Of the sequence of generators (routes) picked: equal for equal seeds and counts. */
    let fingerprint = 0x811c9dc5;
    const started = Date.now();
    let sent = 0;
    for (let index = 0; index < COUNT; index += BATCH) {
      if (realCallbackAt.has(index)) {
        // A real callback, mutated: the code the provider issued to this browser, with one thing changed.
        // Started with a generated returnTo (the login refuses the bad ones: then with "/"), so that the
        // callback's Location is checked for generated values too.
        const browser = new Browser(worker);
        const ip = freshIp();
        const callbackRng = new Rng(requestSeed(SEED, 0x40000000 + index));
        const target = returnTo(callbackRng);
        const loginRequest: FuzzRequest = {
          kind: 'real-callback/login',
          method: 'GET',
          path: `/auth/login${target === undefined ? '' : `?returnTo=${encodeURIComponent(wellFormed(target))}`}`,
          headers: { 'cf-connecting-ip': ip },
        };
        let login = await send(worker, loginRequest);
        record(-1, loginRequest, check(loginRequest, login, await login.clone().text(), serverSecrets));
        sent += 1;
        if (login.status !== 302) login = await browser.get('/auth/login?returnTo=/', { 'cf-connecting-ip': ip });
        else browser.worker.store(login);
        if (login.status === 302) {
          const answer = await browser.authenticate(login.headers.get('location')!, bob);
          if ('url' in answer) {
            const url = new URL(answer.url);
            const code = url.searchParams.get('code');
            if (code) seenCodes.add(code);
            const mutated = mutateCallback(callbackRng, url, issuer);
            for (let attempt = 0; attempt < (mutated.replay ? 2 : 1); attempt++) {
              const request: FuzzRequest = {
                kind: `real-callback/${mutated.variant}`,
                method: 'GET',
                path: mutated.url.pathname + mutated.url.search,
                headers: { cookie: browser.worker.header(), 'cf-connecting-ip': ip },
              };
              const response = await send(worker, request);
              browser.worker.store(response);
              const text = await response.text();
              record(-1, request, check(request, response, text, serverSecrets));
              sent += 1;
              if (response.status === 302 && browser.worker.cookies.has('__Host-session')) pools.expendableSessions.push(sessionPair(browser));
            }
          }
        }
      }
      // One PRNG per request, seeded by (seed, index): request i is the same in every run with this seed,
      // whatever the Worker answered before it (only values taken from the pools differ).
      const batch = Array.from({ length: Math.min(BATCH, COUNT - index) }, (_, j) => generate(new Rng(requestSeed(SEED, index + j)), pools));
      for (const request of batch) fingerprint = fnv1a(fingerprint, `${request.kind.split('/')[0]}\n`);
      const results = await Promise.all(
        batch.map(async (request) => {
          try {
            const response = await send(worker, request);
            const text = await response.text();
            return { response, text };
          } catch (error) {
            return { error };
          }
        }),
      );
      // In request order, not completion order: the pools (and so the next batch) stay reproducible.
      results.forEach((result, i) => {
        const request = batch[i]!;
        sent += 1;
        if ('error' in result) {
          failures.push({ index: index + i, kind: request.kind, status: 0, problems: [`the request could not be sent: ${stringify(result.error).slice(0, 200)}`], request: describeRequest(request), body: '' });
          return;
        }
        const { response, text } = result;
        const outcome = check(request, response, text, serverSecrets);
        record(index + i, request, outcome);
        if (request.kind === 'auth-login' && response.status === 302) {
          const state = new URL(response.headers.get('location')!).searchParams.get('state');
          const cookie = response.headers.getSetCookie().find((c) => c.startsWith('__Host-txn-'))?.split(';')[0];
          if (state && cookie) {
            pools.states.push({ state, cookie });
            if (pools.states.length > 200) pools.states.shift();
          }
        }
      });
    }
    const elapsed = (Date.now() - started) / 1000;

    // Afterwards the Worker still answers correctly.
    const health: string[] = [];
    const app = await call(worker, '/token/client', { json: { scopes: ['api://downstream/.default'] } });
    const appBody = (await app.json()) as { access_token?: string };
    if (app.status !== 200 || typeof appBody.access_token !== 'string') health.push(`/token/client answered ${app.status}`);
    else seenTokens.add(appBody.access_token);
    const fresh = new Browser(worker);
    const freshSignIn = await signInFrom(fresh, alice);
    if (freshSignIn.status !== 302) health.push(`a fresh sign-in answered ${freshSignIn.status}`);
    const freshMe = await fresh.get('/auth/me');
    if (freshMe.status !== 200 || ((await freshMe.json()) as { account?: { username?: string } }).account?.username !== alice.username) health.push(`/auth/me of the fresh session answered ${freshMe.status}`);
    const freshToken = await fresh.token();
    const freshTokenBody = (await freshToken.json()) as { access_token?: string };
    if (freshToken.status !== 200) health.push(`/auth/token of the fresh session answered ${freshToken.status}`);
    else seenTokens.add(freshTokenBody.access_token!);
    const mainMe = await main.get('/auth/me');
    if (mainMe.status !== 200) health.push(`/auth/me of the fuzzed session answered ${mainMe.status}`);

    // No log line holds a token, secret or code.
    const secrets = [
      ...Object.values(callers).map((c) => c.key),
      bypassCaller.key,
      ...serverSecrets,
      ...refreshTokensBefore,
      ...(await accountSecrets(aliceHid)),
      ...(await accountSecrets(bobHid)),
      ...seenTokens,
      ...seenCodes,
    ].filter((s) => s.length >= 8);
    // Known values, JWT-looking text, and long opaque strings (opaque refresh tokens and codes are ≥ 40 base64url chars).
    const leaky = (text: string) => secrets.some((s) => text.includes(s)) || /eyJ[A-Za-z0-9_-]{8,}/.test(text) || /[A-Za-z0-9_-]{40,}/.test(text);
    // The detector itself: every kind of secret the run holds is caught (and so the lists are not empty).
    for (const sample of [callers.orders.key, String(worker.CLIENT_SECRET), String(env.SESSION_KEY), refreshTokensBefore[0]!, [...seenTokens][0]!, [...seenCodes][0] ?? 'no code seen']) {
      expect(leaky(`token=${sample.slice(0, 40)}`) || leaky(`x ${sample} y`), `leak detector misses ${sample.slice(0, 6)}…`).toBe(true);
    }
    expect(seenCodes.size).toBeGreaterThan(0);
    const leaks = logLines.slice(logStart).filter((line) => leaky(line.text)).map((line) => `console.${line.method}: ${line.text.slice(0, 300)}`);

    for (const spy of spies) spy.mockRestore();
    const histogram = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ');
    const perCategory = [...byCategory].sort(([a], [b]) => a.localeCompare(b)).map(([c, m]) => `  ${c}: ${[...m].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`).join('\n');
    console.log(
      `fuzz: ${sent} requests (seed ${SEED}) in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(0)}/s), ${REAL_CALLBACKS} of them real callbacks mutated; sequence fingerprint ${(fingerprint >>> 0).toString(16)}\n` +
        `fuzz: statuses ${histogram} (429: ${statuses.get(429) ?? 0})\n${perCategory}\n` +
        `fuzz: ${logLines.length - logStart} log lines during the run, ${leaks.length} with a secret; ` +
        `${failures.length} failing answers; health: ${health.length ? health.join('; ') : 'ok'}`,
    );
    if (verbose) console.log([...detail].sort(([a], [b]) => a.localeCompare(b)).map(([line, n]) => `${String(n).padStart(5)} ${line}`).join('\n'));
    for (const failure of failures.slice(0, 15)) {
      console.log(`fuzz failure #${failure.index} (${failure.kind}) → ${failure.status}: ${failure.problems.join('; ')}\n  ${failure.request}\n  answer: ${failure.body}`);
    }
    for (const leak of leaks.slice(0, 10)) console.log(`fuzz leak: ${leak}`);

    expect(failures.map((f) => `#${f.index} ${f.kind} → ${f.status}: ${f.problems.join('; ')}`)).toEqual([]);
    expect(leaks).toEqual([]);
    expect(health).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(COUNT);
  },
  600_000,
);
