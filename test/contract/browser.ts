/**
 * A browser without a browser, on either runtime: fetch and cookie jars. Requests to the deployment's
 * origin go to `app.fetch`, requests to the provider over the network; redirects are followed by hand, and
 * the provider's login and consent forms filled in. (test/workers/browser-driver.ts is the workerd-only
 * original; the real browser is test/e2e.)
 */
import { APP_ORIGIN, idp, type App } from './target.ts';
import { send } from './suite.ts';

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

  /** Replaces the jar's cookies with those of a Cookie header (e.g. one saved from another jar). */
  load(header: string): void {
    this.cookies.clear();
    for (const part of header.split('; ').filter(Boolean)) this.cookies.set(part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1));
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

/** Where the provider sends the browser back: the callback URL (query mode) or a form_post's fields. */
export type ProviderAnswer = { url: string } | { form: URLSearchParams };

/** One browser: its own cookies for the deployment and for the provider, and its own client address (`CF-Connecting-IP`). */
export class Browser {
  readonly cookies = new CookieJar();
  readonly providerCookies = new CookieJar();
  readonly ip = randomClientIp();

  constructor(readonly app: App) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await send(this.app, path, { method: 'GET', headers: { cookie: this.cookies.header(), 'cf-connecting-ip': this.ip, ...headers } });
    this.cookies.store(response);
    return response;
  }

  async post(path: string, options: { json?: unknown; body?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const response = await send(this.app, path, { ...options, headers: { cookie: this.cookies.header(), 'cf-connecting-ip': this.ip, ...options.headers } });
    this.cookies.store(response);
    return response;
  }

  /** The SPA's call for a token: same origin, with the CSRF header. */
  token(scopes: string[] = ['api://downstream/read'], extra: Record<string, unknown> = {}): Promise<Response> {
    return this.post('/auth/token', { json: { scopes, ...extra }, headers: { origin: APP_ORIGIN, 'x-requested-with': 'fetch' } });
  }

  /** GET /auth/login: @returns the provider URL the deployment redirected to. */
  async startSignIn(query = 'returnTo=/'): Promise<URL> {
    const response = await this.get(`/auth/login?${query}`);
    if (response.status !== 302) throw new Error(`/auth/login answered ${response.status}: ${await response.text()}`);
    return new URL(response.headers.get('location')!);
  }

  /** Through the provider's login and consent pages as `user`, until the provider sends the browser back. */
  async authenticate(authorizeUrl: URL, user: User = alice): Promise<ProviderAnswer> {
    let url = authorizeUrl.href;
    let init: RequestInit = { method: 'GET' };
    for (let hop = 0; hop < 20; hop++) {
      if (url.startsWith(APP_ORIGIN)) return { url };
      const headers = new Headers(init.headers);
      headers.set('cookie', this.providerCookies.header());
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      this.providerCookies.store(response);
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        url = new URL(response.headers.get('location')!, url).href;
        init = { method: 'GET' };
        continue;
      }
      const html = await response.text();
      if (response.status !== 200) throw new Error(`the provider answered ${response.status} at ${url}: ${html.slice(0, 300)}`);
      const form = parseForm(html, url);
      if (!form) throw new Error(`no form at ${url}`);
      if (form.action.startsWith(APP_ORIGIN)) return { form: new URLSearchParams(form.fields) };
      if (form.fields.prompt === 'login') Object.assign(form.fields, { login: user.username, password: user.password });
      url = form.action;
      init = { method: 'POST', body: new URLSearchParams(form.fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    }
    throw new Error('too many redirects at the provider');
  }

  /** Delivers the provider's answer to the callback, as the browser would. */
  async complete(answer: ProviderAnswer): Promise<Response> {
    if ('url' in answer) {
      const url = new URL(answer.url);
      return this.get(url.pathname + url.search);
    }
    return this.post('/auth/callback', { body: answer.form.toString(), contentType: 'application/x-www-form-urlencoded', headers: { origin: idp.origin } });
  }

  /** The whole sign-in: @returns the callback's answer. */
  async signIn(user: User = alice, query = 'returnTo=/'): Promise<Response> {
    return this.complete(await this.authenticate(await this.startSignIn(query), user));
  }
}

export function parseForm(html: string, pageUrl: string): { action: string; fields: Record<string, string> } | null {
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
