/**
 * The session a request to /auth/token, /auth/me or /auth/logout presents. A session key in
 * `Authorization: Bearer` (a device, a script) is checked alone: no browser sends it on its own, so the
 * Origin and CSRF rules do not apply to it. Otherwise the browser's session cookie, whose state-changing
 * calls must pass the same-site rules (see same-origin.ts).
 */
import type { Context } from 'hono';
import { CallerError } from '../lib/mod.ts';
import type { AppEnv } from './app-env.ts';
import { assertSameSiteRequest } from './same-origin.ts';
import { readSessionKey } from './session-keys.ts';
import { readSession, type SessionRef } from './sessions.ts';
import type { WebSettings } from './web-settings.ts';

/** Which same-site rule a cookie-authenticated call must pass: none (a read), Origin, or Origin and X-Requested-With. */
export type CookieRule = 'read' | 'navigation' | 'script';

/** True when the request presents a bearer credential (which then must be a session key). */
export function presentsSessionKey(c: Context<AppEnv>): boolean {
  return c.req.header('authorization') !== undefined;
}

/**
 * @returns the session, or null when a cookie request carries no live session cookie.
 * @throws CallerError `invalid_token` for an Authorization header that is not a session key of ours;
 *   `forbidden` for a cookie request that fails its same-site rule.
 */
export async function requestSession(c: Context<AppEnv>, web: WebSettings, rule: CookieRule): Promise<SessionRef | null> {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer ([\x21-\x7E]+)$/i.exec(authorization);
    const session = match ? await readSessionKey(web, match[1]!) : null;
    if (!session) throw new CallerError('invalid_token', 'The Authorization header does not carry a valid session key');
    return session;
  }
  if (rule !== 'read') assertSameSiteRequest(c, web, rule === 'script');
  return readSession(web, c.req.header('cookie'));
}
