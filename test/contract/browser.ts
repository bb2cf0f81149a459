/**
 * A browser without a browser, on either runtime: fetch and cookie jars. Requests to the deployment's
 * origin go to `app.fetch`, requests to the provider over the network; redirects are followed by hand, and
 * the provider's login and consent forms filled in. The cookie jar, the provider's users and the walk
 * through its forms are test/support's, shared with test/workers/browser-driver.ts (workerd only, over the
 * Worker's env) and the Deno suites; the real browser is test/e2e.
 */
import { APP_ORIGIN, idp, type App } from './target.ts';
import { send } from './suite.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import { randomClientIp } from '../support/client-ip.ts';
import { alice, authenticateAtProvider, deliverToCallback, type ProviderAnswer, type User } from '../support/provider-forms.ts';

// The runtime-neutral pieces (test/support), for the contract tests that import them from here.
export { randomClientIp };
export { alice, bob, type ProviderAnswer, type User } from '../support/provider-forms.ts';

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
    return authenticateAtProvider(authorizeUrl.href, { appOrigin: APP_ORIGIN, jar: this.providerCookies, user });
  }

  /** Delivers the provider's answer to the callback, as the browser would. */
  async complete(answer: ProviderAnswer): Promise<Response> {
    return deliverToCallback(this, answer, idp.origin);
  }

  /** The whole sign-in: @returns the callback's answer. */
  async signIn(user: User = alice, query = 'returnTo=/'): Promise<Response> {
    return this.complete(await this.authenticate(await this.startSignIn(query), user));
  }
}
