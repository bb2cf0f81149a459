/**
 * The local identity provider's pages (test/idp) as a browser without a browser sees them, on any runtime:
 * its users, its HTML forms parsed, the login filled in, and the walk through its pages (redirects followed
 * by hand, the provider's cookies kept in a jar) until the provider sends the browser back. Used by the
 * workerd browser driver (test/workers/browser-driver.ts), the contract suite's browser
 * (test/contract/browser.ts), the Deno entry's tests (test/deno) and the user's side of the device code
 * flow (device-user.ts). Web APIs only: plain fetch, no cloudflare:test, no Deno, no node:.
 */
import type { CookieJar } from './cookie-jar.ts';

/** A user of the local provider (test/idp/config.mjs). */
export interface User {
  username: string;
  password: string;
}

export const alice: User = { username: 'alice@contoso.test', password: 'alice-password' };
export const bob: User = { username: 'bob@contoso.test', password: 'bob-password' };

/** A page's first form: where it posts (absolute) and its inputs' names and values. */
export interface ParsedForm {
  action: string;
  fields: Record<string, string>;
}

/** The first form of a page at `pageUrl`, its action resolved against the page; null when the page has none. */
export function parseForm(html: string, pageUrl: string): ParsedForm | null {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input([^>]*)>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[1]!)?.[1];
    const value = /value="([^"]*)"/i.exec(input[1]!)?.[1];
    if (name) fields[name] = decodeHtml(value ?? '');
  }
  return { action: new URL(decodeHtml(form[1]!), pageUrl).href, fields };
}

/** The entities the provider's pages escape in attribute values. */
export function decodeHtml(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/gi, '/');
}

/** On the provider's login page (`prompt=login`), the user's name and password; other forms stay as they are. */
export function fillLogin(fields: Record<string, string>, user: User): void {
  if (fields.prompt === 'login') Object.assign(fields, { login: user.username, password: user.password });
}

/** A page of the provider that is not a redirect. */
export interface ProviderPage {
  url: string;
  status: number;
  html: string;
  /** Its first form, parsed (null when it has none). */
  form: ParsedForm | null;
}

/** What to do on a page: post a form (the page's, its fields filled in), or end the walk with a result. */
export type PageStep<T> = { post: ParsedForm } | { done: T };

export interface WalkOptions<T> {
  /** Checked before each request: a result ends the walk there, without fetching `url` (e.g. the app's callback). */
  stopAt?: (url: string) => T | undefined;
  /** The fetch that reaches the provider; the global one by default. */
  fetch?: typeof fetch;
  /** What the error says when the walk takes more than 20 requests. */
  tooManyHops?: string;
}

/**
 * Walks the provider's pages as a browser does, from `start`: each request with the jar's cookies, each
 * redirect followed by hand (its body dropped), each other page handed to `onPage`, which posts a form
 * or ends the walk. @returns the result that ended it.
 */
export async function walkProvider<T>(start: string, jar: CookieJar, onPage: (page: ProviderPage) => PageStep<T>, options: WalkOptions<T> = {}): Promise<T> {
  const fetchFn = options.fetch ?? fetch;
  let url = start;
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    const stop = options.stopAt?.(url);
    if (stop !== undefined) return stop;
    const headers = new Headers(init.headers);
    headers.set('cookie', jar.header());
    const response = await fetchFn(url, { ...init, headers, redirect: 'manual' });
    jar.store(response);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      url = new URL(response.headers.get('location')!, url).href;
      init = { method: 'GET' };
      continue;
    }
    const html = await response.text();
    const step = onPage({ url, status: response.status, html, form: parseForm(html, url) });
    if ('done' in step) return step.done;
    url = step.post.action;
    init = { method: 'POST', body: new URLSearchParams(step.post.fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error(options.tooManyHops ?? 'too many redirects at the provider');
}

/** Where the provider sends the browser back: the callback URL (query mode) or a form_post's fields. */
export type ProviderAnswer = { url: string } | { form: URLSearchParams };

export interface AuthenticateOptions {
  /** The app's origin: a redirect there, or a form posting there (form_post), is the provider's answer. */
  appOrigin: string;
  /** The browser's cookies at the provider (a signed-in jar: single sign-on, no login page). */
  jar: CookieJar;
  user?: User;
  fetch?: typeof fetch;
}

/**
 * Through the provider's login and consent pages as `user` (alice by default), from the authorize URL
 * until the provider sends the browser back to the app. A page that is not 200, or has no form, is an error.
 */
export function authenticateAtProvider(authorizeUrl: string, options: AuthenticateOptions): Promise<ProviderAnswer> {
  const { appOrigin, jar, user = alice } = options;
  return walkProvider<ProviderAnswer>(
    authorizeUrl,
    jar,
    ({ url, status, html, form }) => {
      if (status !== 200) throw new Error(`the provider answered ${status} at ${url}: ${html.slice(0, 300)}`);
      if (!form) throw new Error(`no form at ${url}`);
      if (form.action.startsWith(appOrigin)) return { done: { form: new URLSearchParams(form.fields) } };
      fillLogin(form.fields, user);
      return { post: form };
    },
    { stopAt: (url) => (url.startsWith(appOrigin) ? { url } : undefined), fetch: options.fetch },
  );
}

/** The two requests a browser makes of the app, as much as delivering the provider's answer needs. */
export interface CallbackBrowser {
  get(path: string): Promise<Response>;
  post(path: string, options: { body: string; contentType: string; headers: Record<string, string> }): Promise<Response>;
}

/**
 * Delivers the provider's answer to the app's callback, as the browser would: a GET of the callback URL
 * (query mode), or the form posted to /auth/callback from the provider's page (form_post, Origin the
 * provider's). @returns the callback's answer.
 */
export function deliverToCallback(browser: CallbackBrowser, answer: ProviderAnswer, providerOrigin: string): Promise<Response> {
  if ('url' in answer) {
    const url = new URL(answer.url);
    return browser.get(url.pathname + url.search);
  }
  return browser.post('/auth/callback', { body: answer.form.toString(), contentType: 'application/x-www-form-urlencoded', headers: { origin: providerOrigin } });
}
