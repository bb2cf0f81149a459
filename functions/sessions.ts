/**
 * Browser sessions: a sealed `session` cookie naming the account and an opaque session id; the session
 * itself (and the account's refresh token) lives with the account (a Durable Object on Workers), so
 * signing out ends it everywhere and a copied cookie stops working.
 */
import type { AccountInfo, AccountRecord, AuthenticationResult, SerializedAuthError, Settings } from '../lib/mod.ts';
import { cookieName, readSealedCookie, sealedCookie } from './cookies.ts';
import type { WebSettings } from './web-settings.ts';

/** A result that crosses an RPC boundary: errors travel as data because classes do not survive it. */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: SerializedAuthError };

export interface SessionView {
  account: AccountInfo;
  claims: Record<string, unknown>;
}

/** Absolute session lifetime: a new sign-in after 8 hours, whatever the activity. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

export interface SessionCookie {
  /** Home account id. */
  hid: string;
  /** Opaque session id. */
  sid: string;
  /** Epoch ms. */
  exp: number;
}

/** The per-account operations the sign-in routes need; one implementation per runtime. */
export interface AccountSessions {
  signIn(record: AccountRecord, ttlSeconds: number): Promise<string>;
  session(session: SessionCookie): Promise<SessionView | null>;
  acquireTokenSilent(
    session: SessionCookie,
    settings: Settings,
    request: { scopes: string[]; forceRefresh?: boolean; claimsChallenge?: string; correlationId: string },
  ): Promise<RpcResult<AuthenticationResult> | null>;
  signOut(session: SessionCookie, settings: Settings): Promise<{ idToken?: string }>;
}

export function sessionCookieName(web: WebSettings): string {
  return cookieName(web, 'session');
}

export async function sessionCookie(web: WebSettings, session: SessionCookie): Promise<string> {
  return sealedCookie(web, sessionCookieName(web), session, Math.floor((session.exp - Date.now()) / 1000), 'Lax');
}

export async function readSession(web: WebSettings, cookieHeader: string | undefined): Promise<SessionCookie | null> {
  const session = await readSealedCookie<SessionCookie>(web, cookieHeader, sessionCookieName(web));
  if (!session || typeof session.hid !== 'string' || typeof session.sid !== 'string' || typeof session.exp !== 'number') return null;
  return session.exp > Date.now() ? session : null;
}
