/**
 * Sessions of a signed-in account, of two kinds: a browser's (a sealed `session` cookie naming the
 * account and an opaque session id) and a device's or a script's (a bearer session key, see
 * session-keys.ts). The session itself (and the account's refresh token) lives with the account (a
 * Durable Object on Workers), so signing out ends it everywhere and a copied cookie or key stops working.
 */
import { InteractionRequiredError, type AccountInfo, type AccountRecord, type AuthenticationResult } from '../lib/mod.ts';
import { cookieName, readSealedCookie, sealedCookie } from './cookies.ts';
import type { WebSettings } from './web-settings.ts';

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

/**
 * Which session a request presents: the account and the session's id within it. For a session key the
 * id is the SHA-256 (hex) of the key's secret: the account never sees, nor stores, the secret itself.
 */
export interface SessionRef {
  /** Home account id. */
  hid: string;
  sid: string;
  kind: SessionKind;
}

export type SessionKind = 'browser' | 'device';

/** A session to open at sign-in: a browser's (the account picks its id) or a session key's (by its hash). */
export type NewSession = { kind: 'browser'; ttlSeconds: number } | { kind: 'device'; ttlSeconds: number; keyHash: string };

/** A silent request for the session's account (MSAL's SilentFlowRequest without the account: the session names it). */
export interface SessionTokenRequest {
  scopes: string[];
  forceRefresh?: boolean;
  /** A claims challenge: always goes to the provider, as in MSAL. */
  claims?: string;
  correlationId: string;
}

/**
 * The per-account operations the sign-in routes need; one implementation per runtime, which owns its
 * transport: routes see results and AuthErrors only.
 */
export interface AccountSessions {
  /** Stores the account (a new sign-in replaces it) and opens a session. @returns the session's id. */
  signIn(record: AccountRecord, session: NewSession): Promise<string>;
  session(session: SessionRef): Promise<SessionView | null>;
  /**
   * @throws InteractionRequiredError when the session has ended (signed out, expired, account gone) or
   *   the provider wants the user back; any other AuthError of the silent acquisition.
   */
  acquireTokenSilent(session: SessionRef, request: SessionTokenRequest): Promise<AuthenticationResult>;
  /** Ends every session of the account and removes it with its tokens (MSAL's removeAccount). */
  signOut(session: SessionRef): Promise<{ idToken?: string }>;
  /** Ends this session only; the account goes with its last session. @returns false when it was not live. */
  endSession(session: SessionRef): Promise<boolean>;
}

/** The SPA's one signal for "send the user to sign in again" (401 `interaction_required`). */
export function interactionRequired(message: string): InteractionRequiredError {
  return new InteractionRequiredError({ error: 'interaction_required', error_description: message }, 401);
}

export function sessionCookieName(web: WebSettings): string {
  return cookieName(web, 'session');
}

export async function sessionCookie(web: WebSettings, session: SessionCookie): Promise<string> {
  return sealedCookie(web, sessionCookieName(web), session, Math.floor((session.exp - Date.now()) / 1000), 'Lax');
}

export async function readSession(web: WebSettings, cookieHeader: string | undefined): Promise<SessionRef | null> {
  const session = await readSealedCookie<SessionCookie>(web, cookieHeader, sessionCookieName(web));
  if (!session || typeof session.hid !== 'string' || typeof session.sid !== 'string' || typeof session.exp !== 'number') return null;
  return session.exp > Date.now() ? { hid: session.hid, sid: session.sid, kind: 'browser' } : null;
}
