/**
 * The device code flow in tests, on any runtime: the scope the device tests ask for, what POST
 * /device/start answers, and the user's side at the provider without a browser (its /devicelogin page, the
 * code, the confirmation or the abort, the login and the consent, as forms posted with a cookie jar). Used
 * by test/workers (workerd), test/contract (workerd and Deno) and test/deno. Web APIs only. The real
 * browser version is test/e2e/device.test.mjs.
 */
import { CookieJar } from './cookie-jar.ts';
import { alice, fillLogin, walkProvider, type User } from './provider-forms.ts';

/** The scope the device tests ask for (the deployments' DEVICE_SCOPES hold it). */
export const DEVICE_SCOPE = 'api://downstream/read';

/** What POST /device/start answers the device: its flow handle, and what it shows its user. */
export interface DeviceStarted {
  flow_id: string;
  user_code: string;
  verification_uri: string;
  message: string;
  expires_in: number;
  interval: number;
}

/**
 * The user at the verification page: enters the code, confirms (or aborts), logs in and consents.
 * `fetchFn` reaches the provider (the global fetch by default).
 * @returns the last page (the provider's success or abort page).
 */
export function verifyAsUser(
  verificationUri: string,
  userCode: string,
  decision: 'confirm' | 'abort' = 'confirm',
  user: User = alice,
  fetchFn?: typeof fetch,
): Promise<{ status: number; html: string }> {
  let aborted = false;
  return walkProvider<{ status: number; html: string }>(
    verificationUri,
    new CookieJar(),
    ({ status, html, form }) => {
      // After an abort the provider shows the code input again, with the outcome: that page is the answer.
      if (status !== 200 || !form || aborted) return { done: { status, html } };
      const { fields } = form;
      if ('user_code' in fields && !fields.user_code) fields.user_code = userCode;
      if (fields.confirm === 'yes' && decision === 'abort') {
        delete fields.confirm;
        fields.abort = 'yes';
        aborted = true;
      }
      fillLogin(fields, user);
      return { post: form };
    },
    { tooManyHops: 'too many hops at the verification page', fetch: fetchFn },
  );
}
