/**
 * The Deno entry end to end over Deno KV, against the local identity provider that `npm test` starts in
 * Node and describes in IDP_INFO: an app token, the browser sign-in through every /auth route, one
 * refresh for concurrent callers, and the cache-bypass limit.
 */
import { createDenoHandler } from '../../functions/deno/main.ts';
import { assert, assertEquals } from '../lib/spec.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import { authenticateAtProvider } from '../support/provider-forms.ts';
import { control, idp } from './idp.ts';

const callerKey = 'deno-caller-key-0123456789abcdef';

async function hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

type Handler = (r: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/** The app's origin: a plain http://localhost redirect URI, which the provider knows and which relaxes the cookie rules. */
const ORIGIN = 'http://localhost:8787';

async function withHandler(fn: (handler: Handler, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(':memory:');
  try {
    const handler = await createDenoHandler(kv, {
      AUTHORITY: idp!.authority,
      CLIENT_ID: idp!.webApp.clientId,
      CLIENT_SECRET: idp!.webApp.clientSecret,
      TOKEN_CACHE_KEY: crypto.randomUUID() + crypto.randomUUID(),
      CALLERS: JSON.stringify({ deno: { key_sha256: await hex(callerKey), scopes: ['api://downstream/.default'] } }),
      SESSION_KEY: crypto.randomUUID() + crypto.randomUUID(),
      REDIRECT_URI: `${ORIGIN}/auth/callback`,
      SPA_SCOPES: 'api://downstream/read',
      ALLOWED_ORIGINS: ORIGIN,
      POST_LOGOUT_REDIRECT_URI: `${ORIGIN}/`,
      PROVIDER_RETRY_DELAY_MS: '50',
    });
    await fn(handler, kv);
  } finally {
    kv.close();
  }
}

function tokenRequest(key = callerKey): Request {
  return new Request('http://deno.test/token/client', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scopes: ['api://downstream/.default'] }),
  });
}

async function clientCredentialCalls(): Promise<number> {
  const counts = await (await fetch(`${idp!.origin}/_control/counts`)).json();
  return counts['token:client_credentials'] ?? 0;
}

Deno.test({
  name: 'the Deno entry gets an app token from the provider, then serves it from Deno KV',
  ignore: !idp,
  async fn() {
    await (await fetch(`${idp!.origin}/_control/reset`, { method: 'POST' })).body?.cancel();
    await withHandler(async (handler, kv) => {
      const first = await handler(tokenRequest());
      assertEquals(first.status, 200);
      assertEquals((await first.json()).token_source, 'identity_provider');
      const second = await handler(tokenRequest());
      assertEquals((await second.json()).token_source, 'cache');
      assertEquals(await clientCredentialCalls(), 1);
      const stored = [];
      for await (const entry of kv.list<string>({ prefix: ['token-cache'] })) stored.push(entry.value);
      assertEquals(stored.length, 1);
      assert(stored[0]!.startsWith('v1.'), 'the KV value is sealed');
    });
  },
});

Deno.test({
  name: 'the Deno entry refuses an unknown caller with 401 invalid_client',
  ignore: !idp,
  async fn() {
    await withHandler(async (handler) => {
      const response = await handler(tokenRequest('not-a-caller'));
      assertEquals(response.status, 401);
      assertEquals((await response.json()).error, 'invalid_client');
    });
  },
});

/** A browser without a browser (as test/workers/browser-driver.ts): cookie jars, manual redirects, the provider's forms filled in (test/support). */
class Browser {
  readonly app = new CookieJar();
  readonly provider = new CookieJar();
  constructor(readonly handler: Handler) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('cookie', this.app.header());
    const response = await this.handler(new Request(new URL(path, ORIGIN), { ...init, headers }));
    this.app.store(response);
    return response;
  }

  /** XHR-style call of the SPA: same origin, with the CSRF header. */
  token(body: Record<string, unknown> = { scopes: ['api://downstream/read'] }): Promise<Response> {
    return this.request('/auth/token', {
      method: 'POST',
      headers: { origin: ORIGIN, 'x-requested-with': 'fetch', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** /auth/login, the provider's login and consent pages as alice, then /auth/callback: the callback's answer. */
  async signIn(): Promise<Response> {
    const login = await this.request('/auth/login?returnTo=/after');
    assertEquals(login.status, 302);
    const answer = await authenticateAtProvider(login.headers.get('location')!, { appOrigin: ORIGIN, jar: this.provider });
    assert('url' in answer, 'the provider sends the browser back to the callback (query mode)');
    const callback = new URL(answer.url);
    return this.request(callback.pathname + callback.search);
  }
}

/** Rate-limit tests count in fixed one-minute windows: start one well inside a window, not at its edge. */
async function awayFromWindowEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 3000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

async function keysUnder(kv: Deno.Kv, prefix: Deno.KvKey): Promise<Deno.KvKey[]> {
  const keys: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix })) keys.push(entry.key);
  return keys;
}

Deno.test({
  name: 'the Deno entry signs a browser in over Deno KV: login, callback, me, token, logout',
  ignore: !idp,
  async fn() {
    await control('reset', {});
    await withHandler(async (handler, kv) => {
      const browser = new Browser(handler);
      const callback = await browser.signIn();
      assertEquals(callback.status, 302);
      assertEquals(callback.headers.get('location'), '/after');
      assertEquals(await keysUnder(kv, ['flows']), [], 'the flow was consumed');

      const me = await browser.request('/auth/me');
      assertEquals(me.status, 200);
      const { account } = await me.json();
      assertEquals(account.username, 'alice@contoso.test');
      const hid: string = account.homeAccountId;
      const stored = await keysUnder(kv, ['accounts', hid]);
      assertEquals(stored.length, 2, 'the record and one session');
      assert(stored.some((key) => key[2] === 'record') && stored.some((key) => key[2] === 'session' && key[3] === 'browser'));

      const token = await browser.token();
      assertEquals(token.status, 200);
      const body = await token.json();
      assert(typeof body.access_token === 'string' && body.access_token.length > 20, 'an access token');

      const logout = await browser.request('/auth/logout', { method: 'POST', headers: { origin: ORIGIN } });
      assertEquals(logout.status, 302);
      const endSession = new URL(logout.headers.get('location')!);
      assertEquals(endSession.origin, idp!.origin);
      assertEquals(endSession.searchParams.get('post_logout_redirect_uri'), `${ORIGIN}/`);
      assertEquals(await keysUnder(kv, ['accounts', hid]), [], 'the account and its sessions are gone');
      assertEquals((await browser.request('/auth/me')).status, 401);
      assertEquals((await browser.token()).status, 401);
    });
  },
});

Deno.test({
  name: 'the Deno entry: 20 concurrent /auth/token with an expired access token make one refresh at the provider',
  ignore: !idp,
  async fn() {
    await control('reset', {});
    await withHandler(async (handler) => {
      // Tokens that outlive the 5-minute freshness window by a second: 2 s later the sign-in's is due.
      await control('token-lifetime', { accessTokenTtl: 301 });
      const browser = new Browser(handler);
      assertEquals((await browser.signIn()).status, 302);
      await control('token-lifetime', { accessTokenTtl: 3600 });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const before = (await control('counts'))['token:refresh_token'] ?? 0;
      const responses = await Promise.all(Array.from({ length: 20 }, () => browser.token()));
      const bodies = await Promise.all(responses.map((r) => r.json()));
      assertEquals(responses.map((r) => r.status), Array<number>(20).fill(200));
      assertEquals(new Set(bodies.map((b) => b.access_token)).size, 1, 'every caller got the one refreshed token');
      assertEquals(((await control('counts'))['token:refresh_token'] ?? 0) - before, 1);
    });
  },
});

Deno.test({
  name: 'the Deno entry limits cache-bypassing token requests per account (10 a minute, then 429)',
  ignore: !idp,
  async fn() {
    await control('reset', {});
    await withHandler(async (handler) => {
      const browser = new Browser(handler);
      assertEquals((await browser.signIn()).status, 302);
      await awayFromWindowEdge();
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const response = await browser.token({ scopes: ['api://downstream/read'], force_refresh: true });
        statuses.push(response.status);
        if (response.status === 429) assert(response.headers.has('retry-after'), 'Retry-After');
        await response.body?.cancel();
      }
      assertEquals(statuses, [...Array<number>(10).fill(200), 429]);
    });
  },
});

Deno.test({
  name: "the Deno entry limits sign-ins per connection address (60 a minute); a client's own CF-Connecting-IP is not believed",
  ignore: !idp,
  async fn() {
    await withHandler(async (handler) => {
      const from = (hostname: string): Deno.ServeHandlerInfo => ({ remoteAddr: { transport: 'tcp', hostname, port: 50000 }, completed: Promise.resolve() });
      const login = async (address: string, spoofed: string) => {
        const response = await handler(new Request(`${ORIGIN}/auth/login?returnTo=/`, { headers: { 'cf-connecting-ip': spoofed } }), from(address));
        await response.body?.cancel();
        return response.status;
      };
      await awayFromWindowEdge();
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) statuses.push(await login('198.51.100.7', `203.0.113.${i}`));
      assertEquals(statuses, [...Array<number>(60).fill(302), 429]);
      assertEquals(await login('198.51.100.8', '198.51.100.7'), 302, 'another address has its own count');
    });
  },
});
