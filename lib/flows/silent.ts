/**
 * Silent token acquisition for a signed-in account (MSAL's acquireTokenSilent): cache first, else one
 * refresh-token redemption per account at a time. Runs where the account's refresh token lives (its
 * Durable Object on Workers), so refreshes are serialised across all isolates, and a rotated refresh
 * token is never replayed.
 */
import type { AccountInfo, AccountRecord } from '../account.ts';
import type { AccessTokenQuery } from '../cache/entities.ts';
import { isUsable, shouldRefresh } from '../cache/freshness.ts';
import { accountMismatch, noTokensFound } from '../interaction.ts';
import { processRefreshTokenResponse, refreshTokenRequest } from '../oauth/refresh.ts';
import { resourceScopes, scopesToTarget } from '../scopes.ts';
import type { AccountStore } from '../storage/ports.ts';
import { cacheFirst } from './cache-first.ts';
import { toResult, type AuthenticationResult, type CallOptions, type ClientContext } from './context.ts';
import { redeem } from './redeem.ts';

export interface SilentRequest {
  scopes: readonly string[];
  account: Pick<AccountInfo, 'homeAccountId' | 'tenantId'>;
  forceRefresh?: boolean;
  /** A claims challenge (JSON): always goes to the provider, as in MSAL. */
  claims?: string;
  correlationId?: string;
}

/**
 * @throws InteractionRequiredError (no refresh token, or the provider wants the user back: `invalid_grant`,
 *   `interaction_required`, …, with its `suberror` and `claims`), ServerError, NetworkError.
 */
export async function acquireTokenSilent(
  ctx: ClientContext,
  store: AccountStore<AccountRecord>,
  request: SilentRequest,
  options: CallOptions = {},
): Promise<AuthenticationResult> {
  const scopes = resourceScopes(request.scopes);
  const query: AccessTokenQuery = {
    homeAccountId: request.account.homeAccountId,
    environment: ctx.config.authority.environment,
    clientId: ctx.config.clientId,
    realm: request.account.tenantId,
    target: scopesToTarget(scopes),
  };
  const correlationId = request.correlationId ?? crypto.randomUUID();
  const { claims } = request;
  const bypassCache = request.forceRefresh === true || claims !== undefined;
  const acquire = () =>
    ctx.accountLocks.run(query.homeAccountId, async () => {
      if (!bypassCache) {
        // Another refresh of this account (other scopes, the token rotated) may have finished while this one
        // waited, here or in another process sharing the store: the store has its token, memory may not.
        const cached = await ctx.deps.cache.getAccessToken(query, ctx.deps.now(), { fromStore: true });
        if (cached && isUsable(cached, ctx.deps.now()) && !shouldRefresh(cached, ctx.deps.now())) return toResult(cached, 'cache', correlationId);
      }
      return redeemRefreshToken(ctx, store, query, claims, correlationId);
    });
  return cacheFirst(ctx, { query, bypassCache, claims, correlationId }, acquire, options);
}

async function redeemRefreshToken(
  ctx: ClientContext,
  store: AccountStore<AccountRecord>,
  query: AccessTokenQuery,
  claims: string | undefined,
  correlationId: string,
): Promise<AuthenticationResult> {
  const record = await store.get(query.homeAccountId);
  if (!record?.refreshToken) throw noTokensFound('No refresh token is cached for this account; the user must sign in');
  const grant = { refreshToken: record.refreshToken.secret, scopes: query.target ? query.target.split(' ') : [], ...(claims ? { claims } : {}) };
  const { result } = await redeem(
    ctx,
    {
      grant: 'refresh_token',
      identity: [query.homeAccountId, query.target, claims ?? ''],
      send: (endpoint, init) => refreshTokenRequest(endpoint, grant, init),
      process: (response, checks, id) => processRefreshTokenResponse(checks, response, id),
      query: () => query,
      keep: async (tokens) => {
        // MSAL does not resurrect an account removed while its refresh was in flight.
        const current = await store.get(query.homeAccountId);
        if (!current) return false;
        if (tokens.idTokenClaims) assertSameAccount(current.idTokenClaims, tokens.idTokenClaims);
        const updated: AccountRecord = { ...current, accessTokenTargets: [...new Set([...current.accessTokenTargets, query.target])] };
        if (tokens.refresh_token && current.refreshToken) {
          updated.refreshToken = { ...current.refreshToken, secret: tokens.refresh_token, last_modification_time: String(Math.floor(ctx.deps.now() / 1000)) };
        }
        if (tokens.id_token && tokens.idTokenClaims) {
          updated.idToken = { ...current.idToken, secret: tokens.id_token };
          updated.idTokenClaims = tokens.idTokenClaims;
        }
        await store.put(query.homeAccountId, updated);
        return true;
      },
    },
    correlationId,
  );
  return result;
}

/** The claims that make an ID token this account's: a refresh may renew them, never change them. */
const IDENTITY_CLAIMS = ['iss', 'sub', 'tid', 'aud', 'oid'] as const;

/**
 * A refreshed ID token must be the signed-in account's (OIDC Core §12.2): same issuer, subject, tenant,
 * audience and object id (when either token has one).
 * @throws InteractionRequiredError `invalid_grant` (account_mismatch): the caller ends the sign-in.
 */
function assertSameAccount(signedIn: Record<string, unknown>, refreshed: Record<string, unknown>): void {
  for (const claim of IDENTITY_CLAIMS) {
    if ((signedIn[claim] !== undefined || refreshed[claim] !== undefined) && JSON.stringify(signedIn[claim]) !== JSON.stringify(refreshed[claim])) {
      throw accountMismatch(claim);
    }
  }
}
