/**
 * POST /accounts/import — users moved here from another MSAL deployment by an authenticated caller allowed
 * the `account_import` grant: a refresh token (`{refresh_token, scopes}`), or an MSAL JSON cache
 * (`{msal_cache}`, msal-node's `serialize()` output, as text or as an object). Every refresh token is
 * redeemed once at the provider (MSAL's acquireTokenByRefreshToken), so it is checked and rotated, and
 * only the provider's answer (a validated ID token, a new refresh token) is stored, with a new session
 * whose key is answered once. Nothing in the input is trusted.
 *
 * A cache is imported account by account: one that fails is reported in `errors` and leaves nothing
 * stored, the others are imported.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AuthError, CallerError, msalCacheAccounts, normalizeScopes, type MsalCacheAccount } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { assertScopesAllowed } from '../allowed-scopes.ts';
import { assertCallerMay, authenticateCaller, type Caller } from '../callers.ts';
import { errorBody, postOnly, unexpectedErrorBody } from '../errors.ts';
import { openKeySession } from '../headless-sign-in.ts';
import { enforceRateLimit } from '../rate-limits.ts';
import { readBodyParameters } from '../request-body.ts';

/**
 * An MSAL cache holds an ID token and access tokens per account (Entra's are 1–3 KB each): more room than
 * a token request's 16 KiB, still bounded.
 */
export const MAX_IMPORT_BODY_BYTES = 128 * 1024;

/**
 * Accounts one import may hold: each is a provider request and a Durable Object write within one
 * request's subrequest budget (50 on Workers' free plan), and a minute's rate limit counts requests.
 */
export const MAX_IMPORT_ACCOUNTS = 10;

export const importBodyLimit = bodyLimit({
  maxSize: MAX_IMPORT_BODY_BYTES,
  onError: () => {
    throw new CallerError('request_too_large', `The request body is larger than ${MAX_IMPORT_BODY_BYTES} bytes`);
  },
});

export const accountImportRoutes = new Hono<AppEnv>();

accountImportRoutes.post('/import', async (c) => {
  // Authenticate before reading the body: an unknown caller learns nothing about the rules.
  const caller = await authenticateCaller(c.var.deps.callers(), c.req.header('authorization'));
  assertCallerMay(caller, 'account_import');
  const body = await readBodyParameters(c.req.raw);
  const hasToken = body.refresh_token !== undefined;
  const hasCache = body.msal_cache !== undefined;
  if (hasToken === hasCache) throw new CallerError('invalid_request', 'Send either refresh_token (with scopes) or msal_cache');
  // Scopes the caller names are its own mistake when refused (403), whichever form.
  const scopes = hasToken || body.scopes !== undefined ? normalizeScopes(body.scopes) : undefined;
  if (scopes) assertScopesAllowed(caller.scopes, scopes, 'This caller');
  if (hasToken) {
    if (typeof body.refresh_token !== 'string') throw new CallerError('invalid_request', 'refresh_token must be a string');
    await enforceRateLimit(c.var.rateLimits.signIn, `import:${caller.id}`, 'account imports by this caller');
    const account = await importOne(c, { refreshToken: body.refresh_token, scopes: scopes! });
    c.header('cache-control', 'no-store');
    return c.json({ accounts: [account], errors: [] });
  }
  if (typeof body.msal_cache !== 'string' && (typeof body.msal_cache !== 'object' || body.msal_cache === null)) {
    throw new CallerError('invalid_request', 'msal_cache must be an MSAL JSON cache, as text or as an object');
  }
  const entries = msalCacheAccounts(c.var.deps.client.config, body.msal_cache);
  if (entries.length === 0) throw new CallerError('invalid_request', 'The cache holds no account of this client and authority');
  if (entries.length > MAX_IMPORT_ACCOUNTS) throw new CallerError('invalid_request', `At most ${MAX_IMPORT_ACCOUNTS} accounts per import`);
  await enforceRateLimit(c.var.rateLimits.signIn, `import:${caller.id}`, 'account imports by this caller');
  const accounts: ImportedAccount[] = [];
  const errors: Record<string, unknown>[] = [];
  // One at a time: each redeems at the provider, and a burst of them is what throttling punishes.
  for (const entry of entries) {
    try {
      accounts.push(await importCached(c, caller, entry, scopes));
    } catch (error) {
      // Reported, not thrown: the accounts already imported keep their session keys in the answer.
      const fields = error instanceof AuthError ? errorBody(error, c.var.correlationId) : unexpectedErrorBody(error, c.var.correlationId);
      errors.push({ home_account_id: entry.homeAccountId, username: entry.username, ...fields });
    }
  }
  c.header('cache-control', 'no-store');
  return c.json({ accounts, errors });
});

accountImportRoutes.all('/import', (c) => postOnly(c.var.correlationId));

interface ImportedAccount {
  account: unknown;
  session_key: string;
  session_expires_in: number;
}

/** One cache entry: its scopes decided and allowed, then imported as one refresh token for its account. */
async function importCached(c: Context<AppEnv>, caller: Caller, entry: MsalCacheAccount, requested: string[] | undefined): Promise<ImportedAccount> {
  if (!entry.refreshToken) throw new CallerError('invalid_request', 'The cache holds no refresh token of this client for this account');
  const scopes = requested ?? entry.scopes;
  if (!scopes) throw new CallerError('invalid_request', 'No scopes: the cache holds no access token of this account to take them from; send scopes');
  assertScopesAllowed(caller.scopes, scopes, 'This caller');
  return importOne(c, { refreshToken: entry.refreshToken, scopes, homeAccountId: entry.homeAccountId });
}

/**
 * Redeems the refresh token once (checked and rotated; an answer for another account than `homeAccountId`
 * is refused before anything is cached), then stores the account with a new session key.
 */
async function importOne(c: Context<AppEnv>, request: { refreshToken: string; scopes: string[]; homeAccountId?: string }): Promise<ImportedAccount> {
  const { result, record } = await c.var.deps.client.acquireTokenByRefreshToken({ ...request, correlationId: c.var.correlationId });
  const { sessionKey, expiresIn } = await openKeySession(c, record);
  return { account: result.account, session_key: sessionKey, session_expires_in: expiresIn };
}
