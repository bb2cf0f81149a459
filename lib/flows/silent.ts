/**
 * Silent token acquisition for a signed-in account (MSAL's acquireTokenSilent): a cached access token
 * with more than 5 minutes left, else one refresh-token redemption per account at a time. Runs where
 * the account's refresh token lives (its Durable Object on Workers), so refreshes are serialised across
 * all isolates, and a rotated refresh token is never replayed.
 */
import { accountInfo, type AccountInfo, type AccountRecord } from '../account.ts';
import { accessTokenEntity, type AccessTokenQuery } from '../cache/entities.ts';
import { isUsable, shouldRefresh } from '../cache/freshness.ts';
import { classifyServerError, noTokensFound } from '../interaction.ts';
import { sendTokenRequest } from '../oauth/provider-http.ts';
import { refreshTokenRequest } from '../oauth/refresh.ts';
import { processUserTokenResponse } from '../oauth/user-token-response.ts';
import { resourceScopes, scopesToTarget } from '../scopes.ts';
import type { AccountStore } from '../storage/ports.ts';
import { KeyedMutex, SingleFlight, authorizationServer, toResult, type AuthenticationResult, type CallOptions, type ClientContext } from './context.ts';

export interface SilentRequest {
  scopes: readonly string[];
  account: Pick<AccountInfo, 'homeAccountId' | 'tenantId'>;
  forceRefresh?: boolean;
  /** A claims challenge: always goes to the provider, as in MSAL. */
  claimsChallenge?: string;
  correlationId?: string;
}

export interface SilentState {
  flights: SingleFlight<AuthenticationResult>;
  accountLocks: KeyedMutex;
}

export function newSilentState(): SilentState {
  return { flights: new SingleFlight(), accountLocks: new KeyedMutex() };
}

/**
 * @throws InteractionRequiredError (no refresh token, or the provider wants the user back: `invalid_grant`,
 *   `interaction_required`, …, with its `suberror` and `claims`), ServerError, NetworkError.
 */
export async function acquireTokenSilent(
  ctx: ClientContext,
  store: AccountStore<AccountRecord>,
  state: SilentState,
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
  const claims = request.claimsChallenge;
  const useCache = !request.forceRefresh && claims === undefined;
  const key = `${query.homeAccountId}\n${query.target}\n${claims ?? ''}`;
  const refresh = () => state.accountLocks.run(query.homeAccountId, () => redeemRefreshToken(ctx, store, query, claims, correlationId));

  if (useCache) {
    const cached = await ctx.deps.cache.getAccessToken(query, ctx.deps.now());
    if (cached && isUsable(cached, ctx.deps.now())) {
      if (shouldRefresh(cached, ctx.deps.now())) {
        // Never surface a renewal failure while the cached token is still valid.
        options.waitUntil?.(state.flights.run(key, refresh).catch(() => undefined));
      }
      return toResult(cached, 'cache', correlationId);
    }
  }
  return state.flights.run(key, async () => {
    if (useCache) {
      // A refresh for this account may have finished while this call waited.
      const cached = await ctx.deps.cache.getAccessToken(query, ctx.deps.now());
      if (cached && isUsable(cached, ctx.deps.now()) && !shouldRefresh(cached, ctx.deps.now())) return toResult(cached, 'cache', correlationId);
    }
    return refresh();
  });
}

async function redeemRefreshToken(
  ctx: ClientContext,
  store: AccountStore<AccountRecord>,
  query: AccessTokenQuery,
  claims: string | undefined,
  correlationId: string,
): Promise<AuthenticationResult> {
  const { authority, clientId, credential, timeoutMs, retryDelayMs } = ctx.config;
  const { fetch, now, throttling, cache } = ctx.deps;
  const record = await store.get(query.homeAccountId);
  if (!record?.refreshToken) throw noTokensFound('No refresh token is cached for this account; the user must sign in');
  const as = await authorizationServer(ctx);
  const requestedAt = now();
  let tokens;
  try {
    const response = await sendTokenRequest(
      (init) =>
        refreshTokenRequest(
          { as, authority, clientId, credential, fetch, refreshToken: record.refreshToken!.secret, scopes: query.target ? query.target.split(' ') : [], ...(claims ? { claims } : {}) },
          init,
        ),
      // A lost answer to a refresh may have rotated the token: retrying would replay the old one.
      { retry: false, thumbprint: [authority.url, clientId, 'refresh_token', query.homeAccountId, query.target, claims ?? ''].join('|'), throttling, correlationId },
      { timeoutMs, retryDelayMs, now },
    );
    tokens = await processUserTokenResponse('refresh_token', response, { as, authority, clientId, fetch, now: now(), timeoutMs }, undefined, correlationId);
  } catch (error) {
    throw classifyServerError(error);
  }
  const entity = accessTokenEntity(query, tokens, requestedAt);
  // MSAL does not resurrect an account removed while its refresh was in flight.
  const current = await store.get(query.homeAccountId);
  if (current) {
    const updated: AccountRecord = {
      ...current,
      accessTokenTargets: [...new Set([...current.accessTokenTargets, query.target])],
    };
    if (tokens.refresh_token && current.refreshToken) {
      updated.refreshToken = { ...current.refreshToken, secret: tokens.refresh_token, last_modification_time: String(Math.floor(now() / 1000)) };
    }
    if (tokens.id_token && tokens.idTokenClaims) {
      updated.idToken = { ...current.idToken, secret: tokens.id_token };
      updated.idTokenClaims = tokens.idTokenClaims;
    }
    await store.put(query.homeAccountId, updated);
    await cache.saveAccessToken(entity, now()).catch(() => undefined);
  }
  return toResult(entity, 'identity_provider', correlationId);
}

/** MSAL's getAccounts: every cached account, or those whose username matches (case-insensitive). */
export async function getAccounts(store: AccountStore<AccountRecord>, filter: { username?: string } = {}): Promise<AccountInfo[]> {
  const records = await store.list();
  const wanted = filter.username?.toLowerCase();
  return records.filter((r) => wanted === undefined || r.account.username.toLowerCase() === wanted).map((r) => accountInfo(r.account));
}

/** MSAL's removeAccount: the account, its ID and refresh tokens, and its access tokens in the cache. */
export async function removeAccount(ctx: ClientContext, store: AccountStore<AccountRecord>, account: Pick<AccountInfo, 'homeAccountId'>): Promise<void> {
  const record = await store.get(account.homeAccountId);
  if (!record) return;
  await store.delete(account.homeAccountId);
  await Promise.all(
    record.accessTokenTargets.map((target) =>
      ctx.deps.cache.removeAccessToken({
        homeAccountId: record.account.home_account_id,
        environment: record.account.environment,
        clientId: ctx.config.clientId,
        realm: record.account.realm,
        target,
      }),
    ),
  );
}
