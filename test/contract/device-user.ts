/**
 * The user's side of a device code flow without a browser, on either runtime: the provider's /devicelogin
 * page, the code, the confirmation (or the abort), the login and the consent, as forms posted with a
 * cookie jar. (test/workers/device-verification.ts is the workerd-only original.)
 */
import { CookieJar, alice, parseForm, type User } from './browser.ts';

/**
 * The user at the verification page: enters the code, confirms (or aborts), logs in and consents.
 * @returns the last page (the provider's success or abort page).
 */
export async function verifyAsUser(verificationUri: string, userCode: string, decision: 'confirm' | 'abort' = 'confirm', user: User = alice): Promise<{ status: number; html: string }> {
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
    const form = parseForm(html, url);
    // After an abort the provider shows the code input again, with the outcome: that page is the answer.
    if (response.status !== 200 || !form || aborted) return { status: response.status, html };
    const { fields } = form;
    if ('user_code' in fields && !fields.user_code) fields.user_code = userCode;
    if (fields.confirm === 'yes' && decision === 'abort') {
      delete fields.confirm;
      fields.abort = 'yes';
      aborted = true;
    }
    if (fields.prompt === 'login') Object.assign(fields, { login: user.username, password: user.password });
    url = form.action;
    init = { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many hops at the verification page');
}
