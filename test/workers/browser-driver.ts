/**
 * A browser without a browser, for sign-in tests inside workerd: cookie jars for the Worker and the
 * identity provider, manual redirects, and the provider's login and consent forms filled in. The real
 * browser test (Chromium) is test/e2e; this one lets each security rule be its own fast test. The cookie
 * jar, the provider's users and the walk through its forms are test/support's, shared with the contract
 * suite (test/contract/browser.ts) and the Deno suites.
 */
import { evictAllDurableObjects } from 'cloudflare:test';
import { call, env, idp, provider, settings } from './harness.ts';
import type { Env } from '../../functions/workers/index.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import { randomClientIp } from '../support/client-ip.ts';
import { alice, authenticateAtProvider, deliverToCallback, type ProviderAnswer, type User } from '../support/provider-forms.ts';

// The runtime-neutral pieces (test/support), for the suites that import them from here.
export { CookieJar, randomClientIp };
export { alice, bob, type ProviderAnswer, type User } from '../support/provider-forms.ts';

export const WORKER_ORIGIN = 'https://worker.test';

/**
 * The Worker's settings for a sign-in test: the sign-in bindings of vitest.config.ts unchanged, since the
 * account's Durable Object reads those (its own env) whatever the test hands the Worker. Overrides
 * change the Worker's side only (e.g. the multi-tenant authority its sign-in uses).
 */
export async function signInSettings(overrides: Record<string, string | undefined> = {}): Promise<Env> {
  return settings({
    AUTHORITY: env.AUTHORITY,
    CLIENT_ID: env.CLIENT_ID,
    CLIENT_SECRET: env.CLIENT_SECRET,
    TOKEN_CACHE_KEY: env.TOKEN_CACHE_KEY,
    PROVIDER_RETRY_DELAY_MS: env.PROVIDER_RETRY_DELAY_MS,
    ...overrides,
  });
}

/**
 * Before each sign-in test. The sign-in keys are fixed bindings shared by every test, so a fresh start
 * is made explicit: the provider's counters, faults and token lifetimes reset, and the account objects
 * evicted, so that no client of an earlier test (its memory layer of Alice's tokens, its throttling
 * state) serves this one. Their storage stays: a sign-in replaces the account.
 */
export async function freshSignInState(): Promise<void> {
  await provider.reset();
  await evictAllDurableObjects();
}

export interface BrowserOptions {
  /** The provider's cookies to start with, e.g. a copy of a signed-in jar (`CookieJar.copy`): single sign-on. */
  provider?: CookieJar;
  /** Sent as `CF-Connecting-IP`; a random address of its own by default. */
  ip?: string;
}

/** One browser: its own cookies for the Worker and for the provider, and its own client IP. */
export class Browser {
  readonly worker = new CookieJar();
  readonly provider: CookieJar;
  readonly ip: string;
  constructor(
    readonly env: Env,
    options: BrowserOptions = {},
  ) {
    this.provider = options.provider ?? new CookieJar();
    this.ip = options.ip ?? randomClientIp();
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await call(this.env, path, { method: 'GET', key: null, headers: { cookie: this.worker.header(), 'cf-connecting-ip': this.ip, ...headers } });
    this.worker.store(response);
    return response;
  }

  async post(path: string, options: { json?: unknown; body?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const response = await call(this.env, path, {
      key: null,
      ...(options.json !== undefined ? { json: options.json } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.contentType ? { contentType: options.contentType } : {}),
      headers: { cookie: this.worker.header(), 'cf-connecting-ip': this.ip, ...options.headers },
    });
    this.worker.store(response);
    return response;
  }

  /** XHR-style call from the SPA: same origin, with the CSRF header. */
  token(scopes: string[] = ['api://downstream/read']): Promise<Response> {
    return this.post('/auth/token', { json: { scopes }, headers: { origin: WORKER_ORIGIN, 'x-requested-with': 'fetch' } });
  }

  /** GET /auth/login: returns the provider URL the Worker redirected to. */
  async startSignIn(query = 'returnTo=/'): Promise<string> {
    const response = await this.get(`/auth/login?${query}`);
    if (response.status !== 302) throw new Error(`login answered ${response.status}: ${await response.text()}`);
    return response.headers.get('location')!;
  }

  /**
   * Goes through the provider's login and consent pages. Returns where the provider finally sends the
   * browser: the callback URL (query mode) or, for form_post, the form's fields.
   */
  async authenticate(authorizeUrl: string, user: User = alice): Promise<ProviderAnswer> {
    return authenticateAtProvider(authorizeUrl, { appOrigin: WORKER_ORIGIN, jar: this.provider, user });
  }

  /** Delivers the provider's answer to the Worker's callback, as the browser would. */
  async complete(answer: ProviderAnswer): Promise<Response> {
    return deliverToCallback(this, answer, idp.origin);
  }

  /** The whole sign-in; returns the callback's response. */
  async signIn(user: User = alice, query = 'returnTo=/'): Promise<Response> {
    return this.complete(await this.authenticate(await this.startSignIn(query), user));
  }
}
