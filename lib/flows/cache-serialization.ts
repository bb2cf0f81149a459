/**
 * One account's cache in MSAL's unified JSON format (what msal-node's `TokenCache.serialize()` and MSAL
 * Python's `SerializableTokenCache` write), out of and into our stores: the account record (account, ID
 * token, refresh token, app metadata) and its access tokens. Import is for trusted input (a migration
 * by the operator): the tokens in it are taken as they are, not re-validated.
 */
import * as jose from 'jose';
import { accountInfo, type AccountInfo, type AccountRecord } from '../account.ts';
import { CallerError } from '../errors.ts';
import { scopesToTarget, withoutOidcScopes } from '../scopes.ts';
import type { AccountStore } from '../storage/ports.ts';
import type { ClientContext } from './context.ts';
import { onBehalfOfQuery, validateCallerAssertion } from './on-behalf-of.ts';
import { normalizeScopes } from '../scopes.ts';
import {
  msalKeys,
  type AccessTokenEntity,
  type AccountEntity,
  type AppMetadataEntity,
  type IdTokenEntity,
  type RefreshTokenEntity,
} from '../cache/entities.ts';
import { isUsable } from '../cache/freshness.ts';
import type { ConfidentialClientConfig } from '../config.ts';

export interface MsalCache {
  Account: Record<string, AccountEntity>;
  IdToken: Record<string, IdTokenEntity>;
  AccessToken: Record<string, AccessTokenEntity>;
  RefreshToken: Record<string, RefreshTokenEntity>;
  AppMetadata: Record<string, AppMetadataEntity>;
}

function emptyCache(): MsalCache {
  return { Account: {}, IdToken: {}, AccessToken: {}, RefreshToken: {}, AppMetadata: {} };
}

export async function serializeCache(ctx: ClientContext, store: AccountStore<AccountRecord>, homeAccountId: string): Promise<string> {
  const cache = emptyCache();
  const record = await store.get(homeAccountId);
  if (record) {
    cache.Account[msalKeys.account(record.account)] = record.account;
    cache.IdToken[msalKeys.idToken(record.idToken)] = record.idToken;
    if (record.refreshToken) cache.RefreshToken[msalKeys.refreshToken(record.refreshToken)] = record.refreshToken;
    if (record.appMetadata) cache.AppMetadata[msalKeys.appMetadata(record.appMetadata)] = record.appMetadata;
    for (const target of record.accessTokenTargets) {
      const entity = await ctx.deps.cache.getAccessToken(
        { homeAccountId, environment: record.account.environment, clientId: ctx.config.clientId, realm: record.account.realm, target },
        ctx.deps.now(),
      );
      if (entity) cache.AccessToken[msalKeys.accessToken(entity)] = entity;
    }
  }
  return JSON.stringify(cache);
}

/**
 * The on-behalf-of token cached for one user's assertion and these scopes, in MSAL's JSON format: the
 * AccessToken entity with its `userAssertionHash`, which msal-node's acquireTokenOnBehalfOf answers from.
 * @throws CallerError `invalid_token` for an assertion this API does not accept.
 */
export async function serializeOnBehalfOfCache(ctx: ClientContext, request: { userAssertion: string; scopes: readonly string[] }): Promise<string> {
  const caller = await validateCallerAssertion(ctx, request.userAssertion);
  const cache = emptyCache();
  const entity = await ctx.deps.cache.getAccessToken(onBehalfOfQuery(ctx, caller, normalizeScopes(request.scopes)), ctx.deps.now());
  if (entity) {
    // msal-node files an OBO token under the user's home account (`<oid>.<tid>`): without it, exports of
    // two users' tokens for the same scopes would share one key in a merged msal-node cache.
    const { oid, tid } = caller.claims;
    const exported = typeof oid === 'string' && typeof tid === 'string' ? { ...entity, home_account_id: `${oid}.${tid}` } : entity;
    cache.AccessToken[msalKeys.accessToken(exported)] = exported;
  }
  return JSON.stringify(cache);
}

/**
 * Imports the accounts of an MSAL JSON cache that belong to this client and authority host.
 * @returns the imported accounts.
 * @throws CallerError `invalid_request` for input that is not an MSAL cache.
 */
export async function deserializeCache(ctx: ClientContext, store: AccountStore<AccountRecord>, json: string): Promise<AccountInfo[]> {
  const { environment } = ctx.config.authority;
  const imported: AccountInfo[] = [];
  for (const { account, idToken, refreshToken, appMetadata, accessTokens } of accountsOf(parseCache(json), ctx.config)) {
    if (!idToken) continue;
    // Filed under the Account's realm, as our own sign-ins file them (B2C, AD FS and OIDC tokens come in
    // under msal-node's realm for them; see accountsOf).
    const { realm } = account;
    const record: AccountRecord = {
      account: { ...account, environment: environment },
      idToken: { ...idToken, environment: environment, realm },
      idTokenClaims: safeClaims(idToken.secret),
      accessTokenTargets: [],
    };
    if (refreshToken) record.refreshToken = { ...refreshToken, environment: environment };
    if (appMetadata) record.appMetadata = appMetadata;
    for (const at of accessTokens) {
      // Our cache is looked up by exact target, so it is normalised the way requests are.
      const target = scopesToTarget(withoutOidcScopes(at.target.split(' ')));
      const entity: AccessTokenEntity = { ...at, environment: environment, realm, target, credential_type: 'AccessToken', token_type: at.token_type ?? 'Bearer' };
      entity.extended_expires_on ??= entity.expires_on;
      if (!isUsable(entity, ctx.deps.now())) continue;
      await ctx.deps.cache.saveAccessToken(entity, ctx.deps.now());
      record.accessTokenTargets.push(target);
    }
    await store.put(account.home_account_id, record);
    imported.push(accountInfo(record.account));
  }
  return imported;
}

/** An account of an MSAL cache as an import that redeems its refresh token needs it. */
export interface MsalCacheAccount {
  homeAccountId: string;
  username: string;
  /** The account's refresh token for this client (or its family); absent when the cache holds none. */
  refreshToken?: string;
  /**
   * The resource scopes of the account's most recent access token for this client (OIDC scopes left
   * out): what the app last asked for. Absent when the cache holds no such token.
   */
  scopes?: string[];
}

/**
 * The accounts of an MSAL JSON cache (msal-node's `serialize()` output, as text or parsed) that belong to
 * this client and authority host, with their refresh tokens. Stores nothing, validates no token: for an
 * untrusted import that redeems each refresh token at the provider (acquireTokenByRefreshToken), whose
 * answer is what gets checked and stored.
 * @throws CallerError `invalid_request` for input that is not an MSAL cache.
 */
export function msalCacheAccounts(config: Pick<ConfidentialClientConfig, 'clientId' | 'authority'>, cache: unknown): MsalCacheAccount[] {
  // MSAL files an Account per tenant the user signed in to, all under one home account id and sharing one
  // refresh token, which can be redeemed once: one entry per home account, its home tenant's if present.
  const byHome = new Map<string, CachedAccount>();
  for (const cached of accountsOf(parseCache(cache), config)) {
    const id = cached.account.home_account_id;
    const homeRealm = cached.account.realm.toLowerCase() === id.split('.')[1]?.toLowerCase();
    if (!byHome.has(id) || homeRealm) byHome.set(id, cached);
  }
  return [...byHome.values()].map(({ account, refreshToken, accessTokens }) => {
    const latest = accessTokens.slice().sort((a, b) => Number(b.cached_at) - Number(a.cached_at))[0];
    const scopes = latest ? withoutOidcScopes(latest.target.split(' ')) : [];
    return {
      homeAccountId: account.home_account_id,
      username: account.username,
      ...(refreshToken ? { refreshToken: refreshToken.secret } : {}),
      ...(scopes.length > 0 ? { scopes } : {}),
    };
  });
}

interface CachedAccount {
  account: AccountEntity;
  idToken: IdTokenEntity | undefined;
  refreshToken: RefreshTokenEntity | undefined;
  appMetadata: AppMetadataEntity | undefined;
  /** This client's access tokens for the account in the Account's realm (an account record covers one realm: other tenants' tokens are not imported). */
  accessTokens: AccessTokenEntity[];
}

/**
 * The cache's accounts of this client and authority host (by alias), each with its entities, matched as
 * both MSALs match them; malformed entries are passed over.
 */
function accountsOf(input: MsalCache, config: Pick<ConfidentialClientConfig, 'clientId' | 'authority'>): CachedAccount[] {
  const { clientId } = config;
  const isOurs = environmentMatcher(config.authority.environment);
  const sameAccount = (e: { home_account_id?: unknown; environment?: unknown }, account: AccountEntity) =>
    e.home_account_id === account.home_account_id && isOurs(e.environment);
  const appMetadata = Object.values(input.AppMetadata).find((e) => isEntity(e, ['client_id', 'environment']) && e.client_id === clientId && isOurs(e.environment));
  // Entra files tokens under the tenant they were issued in: only the Account's own realm is this record's.
  // B2C, AD FS and plain OIDC have one realm per deployment, which msal-node writes its own way (B2C: the
  // user flow; AD FS: `adfs`; OIDC: the issuer's path), never the Account's: any realm is the account's.
  const oneRealm = config.authority.type === 'b2c' || config.authority.type === 'adfs' || config.authority.type === 'oidc';
  const sameRealm = (e: { realm: string }, account: AccountEntity) => oneRealm || e.realm.toLowerCase() === account.realm.toLowerCase();
  // An AD FS account is never another kind's, nor the reverse, even where both share a host.
  const ourKind = (account: AccountEntity) => account.authority_type === undefined || (account.authority_type === 'ADFS') === (config.authority.type === 'adfs');
  return Object.values(input.Account)
    .filter((account) => isEntity(account, ['home_account_id', 'environment', 'realm', 'local_account_id', 'username']) && isOurs(account.environment) && ourKind(account))
    .map((account) => ({
      account,
      idToken: Object.values(input.IdToken).find(
        (e) => isEntity(e, ['secret', 'realm']) && sameAccount(e, account) && e.client_id === clientId && sameRealm(e, account),
      ),
      refreshToken: Object.values(input.RefreshToken).find(
        (e) => isEntity(e, ['secret']) && sameAccount(e, account) && (e.client_id === clientId || (e.family_id !== undefined && e.family_id === appMetadata?.family_id)),
      ),
      appMetadata,
      accessTokens: Object.values(input.AccessToken).filter(
        (at) => isEntity(at, ['secret', 'realm', 'target', 'expires_on', 'cached_at']) && sameAccount(at, account) && at.client_id === clientId && sameRealm(at, account),
      ),
    }));
}

/**
 * Entra's clouds answer under several host names, and MSAL writes whichever alias it prefers
 * (msal-node: `login.windows.net` for the public cloud); both MSALs match environments by alias.
 */
const CLOUD_ALIASES = [
  ['login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
  ['login.partner.microsoftonline.cn', 'login.chinacloudapi.cn'],
  ['login.microsoftonline.de'],
  ['login.microsoftonline.us', 'login.usgovcloudapi.net'],
];

function environmentMatcher(environment: string): (candidate: unknown) => boolean {
  const host = environment.toLowerCase();
  const aliases = new Set(CLOUD_ALIASES.find((cloud) => cloud.includes(host)) ?? [host]);
  return (candidate) => typeof candidate === 'string' && aliases.has(candidate.toLowerCase());
}

/** An MSAL cache from its JSON text, or from that text already parsed. */
function parseCache(json: unknown): MsalCache {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      throw new CallerError('invalid_request', 'The cache is not JSON');
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CallerError('invalid_request', 'The cache is not an MSAL cache object');
  const cache = emptyCache();
  for (const section of Object.keys(cache) as (keyof MsalCache)[]) {
    const entries = (value as Record<string, unknown>)[section];
    if (entries === undefined) continue;
    if (!entries || typeof entries !== 'object' || Array.isArray(entries)) throw new CallerError('invalid_request', `${section} is not an object`);
    (cache[section] as Record<string, unknown>) = entries as Record<string, unknown>;
  }
  return cache;
}

function isEntity<T extends object>(value: T, fields: string[]): value is T {
  return !!value && typeof value === 'object' && fields.every((f) => typeof (value as Record<string, unknown>)[f] === 'string');
}

function safeClaims(idToken: string): Record<string, unknown> {
  try {
    return jose.decodeJwt(idToken) as Record<string, unknown>;
  } catch {
    return {};
  }
}
