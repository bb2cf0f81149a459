/**
 * How a sign-in without a browser ends (device code, password, an imported refresh token or MSAL cache):
 * the account stored with a new session whose bearer key goes to the device or script, once, with the
 * access token and the account.
 */
import type { Context } from 'hono';
import type { AccountRecord, SignInResult } from '../lib/mod.ts';
import type { AppEnv } from './app-env.ts';
import { noteTokenSource } from './request-log.ts';
import { newSessionKey } from './session-keys.ts';
import { tokenFields } from './token-response.ts';

/** Stores the account and opens a session for a session key. @returns the key (shown once) and its lifetime. */
export async function openKeySession(c: Context<AppEnv>, record: AccountRecord): Promise<{ sessionKey: string; expiresIn: number }> {
  const web = await c.var.deps.web();
  const { key, keyHash } = await newSessionKey(web, record.account.home_account_id);
  await c.var.signIn.accounts.signIn(record, { kind: 'device', ttlSeconds: web.deviceSessionTtlSeconds, keyHash });
  return { sessionKey: key, expiresIn: web.deviceSessionTtlSeconds };
}

/** The answer of a headless sign-in: the token fields of every token endpoint, the account, the session key. */
export async function headlessSignInResponse(c: Context<AppEnv>, result: SignInResult, record: AccountRecord): Promise<Response> {
  const { sessionKey, expiresIn } = await openKeySession(c, record);
  noteTokenSource(c.var.correlationId, result.tokenSource);
  return new Response(JSON.stringify({ ...tokenFields(result), account: result.account, session_key: sessionKey, session_expires_in: expiresIn }), {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}
