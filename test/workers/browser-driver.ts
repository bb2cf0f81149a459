/**
 * A browser without a browser, for sign-in tests inside workerd: cookie jars for the Worker and the
 * identity provider, manual redirects, and the provider's login and consent forms filled in. The real
 * browser test (Chromium) is test/e2e; this one lets each security rule be its own fast test.
 */
import { evictAllDurableObjects } from 'cloudflare:test';
import { call, env, idp, provider, settings } from './harness.ts';
import type { Env } from '../../functions/workers/index.ts';

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

export class CookieJar {
  readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=\s*0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** A jar holding the same cookies, e.g. to start another browser inside one provider session. */
  copy(): CookieJar {
    const jar = new CookieJar();
    for (const [name, value] of this.cookies) jar.cookies.set(name, value);
    return jar;
  }
}

export interface User {
  username: string;
  password: string;
}

export const alice: User = { username: 'alice@contoso.test', password: 'alice-password' };
export const bob: User = { username: 'bob@contoso.test', password: 'bob-password' };

/** A client address of its own (IPv6 documentation range), so that browsers never share a rate-limit bucket. */
export function randomClientIp(): string {
  const groups = [...crypto.getRandomValues(new Uint16Array(4))].map((n) => n.toString(16));
  return `2001:db8:${groups.join(':')}::1`;
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
  async authenticate(authorizeUrl: string, user: User = alice): Promise<{ url: string } | { form: URLSearchParams }> {
    let url = authorizeUrl;
    let init: RequestInit = { method: 'GET' };
    for (let hop = 0; hop < 20; hop++) {
      if (url.startsWith(WORKER_ORIGIN)) return { url };
      const headers = new Headers(init.headers);
      headers.set('cookie', this.provider.header());
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      this.provider.store(response);
      if (response.status >= 300 && response.status < 400) {
        url = new URL(response.headers.get('location')!, url).href;
        init = { method: 'GET' };
        continue;
      }
      const html = await response.text();
      if (response.status !== 200) throw new Error(`provider answered ${response.status} at ${url}: ${html.slice(0, 300)}`);
      const form = parseForm(html, url);
      if (!form) throw new Error(`no form at ${url}`);
      if (form.action.startsWith(WORKER_ORIGIN)) return { form: new URLSearchParams(form.fields) };
      if (form.fields.prompt === 'login') Object.assign(form.fields, { login: user.username, password: user.password });
      url = form.action;
      init = { method: 'POST', body: new URLSearchParams(form.fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    }
    throw new Error('too many redirects');
  }

  /** Delivers the provider's answer to the Worker's callback, as the browser would. */
  async complete(answer: { url: string } | { form: URLSearchParams }): Promise<Response> {
    if ('url' in answer) {
      const url = new URL(answer.url);
      return this.get(url.pathname + url.search);
    }
    return this.post('/auth/callback', { body: answer.form.toString(), contentType: 'application/x-www-form-urlencoded', headers: { origin: idp.origin } });
  }

  /** The whole sign-in; returns the callback's response. */
  async signIn(user: User = alice, query = 'returnTo=/'): Promise<Response> {
    return this.complete(await this.authenticate(await this.startSignIn(query), user));
  }
}

function parseForm(html: string, pageUrl: string): { action: string; fields: Record<string, string> } | null {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input([^>]*)>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[1]!)?.[1];
    const value = /value="([^"]*)"/i.exec(input[1]!)?.[1];
    if (name) fields[name] = decode(value ?? '');
  }
  return { action: new URL(decode(form[1]!), pageUrl).href, fields };
}

function decode(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/gi, '/');
}
