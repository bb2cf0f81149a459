/**
 * A headless browser's cookies for one site, by name: what the workerd suite (test/workers), the contract
 * suite on either runtime (test/contract) and the Deno suites (test/deno) keep between requests, for the
 * deployment and for the identity provider. Web APIs only (no cloudflare:test, no Deno, no node:), so it
 * loads in workerd, Deno and Node alike.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  /** Takes a response's Set-Cookie lines: each cookie set, or removed (an empty value or `Max-Age=0`). */
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=\s*0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** The Cookie header a request sends. */
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Replaces the jar's cookies with those of a Cookie header (e.g. one saved from another jar). */
  load(header: string): void {
    this.cookies.clear();
    for (const part of header.split('; ').filter(Boolean)) this.cookies.set(part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1));
  }

  /** A jar holding the same cookies, e.g. to start another browser inside one provider session. */
  copy(): CookieJar {
    const jar = new CookieJar();
    for (const [name, value] of this.cookies) jar.cookies.set(name, value);
    return jar;
  }
}
