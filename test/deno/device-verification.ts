/**
 * The user's side of a device code flow without a browser, for tests under Deno: the provider's
 * /devicelogin page, the code, the confirmation (or the abort), the login and the consent, as forms
 * posted with a cookie jar. The workerd version is test/workers/device-verification.ts (its cookie jar
 * lives with the workerd browser driver); the real browser version is test/e2e/device.test.mjs.
 */

export interface User {
  username: string;
  password: string;
}

export const alice: User = { username: 'alice@contoso.test', password: 'alice-password' };

/** The provider's cookies, by name. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

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
}

/**
 * The user at the verification page: enters the code, confirms (or aborts), logs in and consents.
 * Returns the last page (the provider's success or abort page).
 */
export async function verifyAsUser(
  verificationUri: string,
  userCode: string,
  decision: 'confirm' | 'abort' = 'confirm',
  user: User = alice,
): Promise<{ status: number; html: string }> {
  const jar = new CookieJar();
  let url = verificationUri;
  let init: RequestInit = { method: 'GET' };
  let aborted = false;
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), cookie: jar.header() }, redirect: 'manual' });
    jar.store(response);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      url = new URL(response.headers.get('location')!, url).href;
      init = { method: 'GET' };
      continue;
    }
    const html = await response.text();
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
    // After an abort the provider shows the code input again, with the outcome: that page is the answer.
    if (response.status !== 200 || !form || aborted) return { status: response.status, html };
    const fields: Record<string, string> = {};
    for (const input of form[2]!.matchAll(/<input([^>]*)>/gi)) {
      const name = /name="([^"]*)"/i.exec(input[1]!)?.[1];
      if (name) fields[name] = (/value="([^"]*)"/i.exec(input[1]!)?.[1] ?? '').replace(/&amp;/g, '&');
    }
    if ('user_code' in fields && !fields.user_code) fields.user_code = userCode;
    if (fields.confirm === 'yes' && decision === 'abort') {
      delete fields.confirm;
      fields.abort = 'yes';
      aborted = true;
    }
    if (fields.prompt === 'login') Object.assign(fields, { login: user.username, password: user.password });
    url = new URL(form[1]!.replace(/&amp;/g, '&'), url).href;
    init = { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many hops at the verification page');
}
