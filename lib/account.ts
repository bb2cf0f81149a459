/**
 * Accounts as MSAL builds them from a token response: `home_account_id` = `<uid>.<utid>` from
 * `client_info` (else the ID token's `sub`), `local_account_id` = `oid`, `username` =
 * `preferred_username`, realm = the token's tenant. Pure; no I/O.
 */
import { fromBase64url, fromUtf8 } from './encoding.ts';
import type { Authority } from './oauth/authority.ts';
import type {
  AccessTokenEntity,
  AccountEntity,
  AppMetadataEntity,
  IdTokenEntity,
  RefreshTokenEntity,
} from './cache/entities.ts';

/** What the app shows of a signed-in user (MSAL's AccountInfo). */
export interface AccountInfo {
  homeAccountId: string;
  environment: string;
  tenantId: string;
  username: string;
  localAccountId: string;
  name?: string;
}

/**
 * Everything kept for one account besides its access tokens: what MSAL's cache holds for it. Lives in
 * the account's own serialised store (a Durable Object on Workers): refresh tokens never go to KV.
 */
export interface AccountRecord {
  account: AccountEntity;
  idToken: IdTokenEntity;
  refreshToken?: RefreshTokenEntity;
  appMetadata?: AppMetadataEntity;
  /** The validated ID token claims, for the UI. */
  idTokenClaims: Record<string, unknown>;
  /** Targets of this account's access tokens in the token cache, so that removal can find them. */
  accessTokenTargets: string[];
}

export interface ClientInfo {
  uid: string;
  utid: string;
}

export function parseClientInfo(raw: unknown): ClientInfo | null {
  if (typeof raw !== 'string') return null;
  const bytes = fromBase64url(raw.replace(/=+$/, ''));
  if (!bytes) return null;
  try {
    const json = JSON.parse(fromUtf8(bytes)) as Partial<ClientInfo>;
    return typeof json.uid === 'string' && typeof json.utid === 'string' && json.uid && json.utid ? { uid: json.uid, utid: json.utid } : null;
  } catch {
    return null;
  }
}

export function homeAccountIdOf(clientInfo: ClientInfo | null, claims: Record<string, unknown>): string {
  return clientInfo ? `${clientInfo.uid}.${clientInfo.utid}` : String(claims.sub);
}

export function buildAccount(input: {
  claims: Record<string, unknown>;
  clientInfoRaw: unknown;
  environment: string;
  realm: string;
  now: number;
  /** MSAL's account kind: AD FS accounts are `ADFS`, Microsoft's `MSSTS`. */
  authorityType?: AccountEntity['authority_type'];
}): AccountEntity {
  const { claims } = input;
  const clientInfo = parseClientInfo(input.clientInfoRaw);
  const account: AccountEntity = {
    home_account_id: homeAccountIdOf(clientInfo, claims),
    environment: input.environment,
    realm: input.realm,
    local_account_id: String(claims.oid ?? claims.sub ?? ''),
    username: usernameOf(claims),
    authority_type: input.authorityType ?? 'MSSTS',
    last_modification_time: String(Math.floor(input.now / 1000)),
  };
  if (typeof claims.name === 'string') account.name = claims.name;
  if (typeof input.clientInfoRaw === 'string') account.client_info = input.clientInfoRaw;
  account.tenantProfiles = [
    JSON.stringify({
      tenantId: input.realm,
      localAccountId: account.local_account_id,
      name: account.name ?? '',
      username: account.username,
      isHomeTenant: clientInfo ? clientInfo.utid === input.realm : true,
    }),
  ];
  return account;
}

/** The part of a user token answer a sign-in keeps: the verified ID token and the refresh token. */
export interface SignInTokens {
  id_token?: string;
  idTokenClaims?: Record<string, unknown>;
  refresh_token?: string;
  client_info?: string;
  foci?: string;
}

/**
 * The Account MSAL builds from a sign-in answer. Home account id: `client_info`'s `<uid>.<utid>` (B2C's
 * uid carries the user flow: `<oid>-<policy>`), else the ID token's `sub` (AD FS and plain OIDC, whose
 * issuer is fixed per deployment, so `sub` names the user). Realm: the ID token's `tid`, else
 * `client_info`'s `utid` (B2C), else the authority's tenant (`adfs`; '' for plain OIDC).
 */
export function signedInAccount(tokens: SignInTokens, authority: Pick<Authority, 'environment' | 'tenant' | 'type'>, now: number): AccountEntity {
  const claims = tokens.idTokenClaims ?? {};
  const realm = typeof claims.tid === 'string' ? claims.tid : (parseClientInfo(tokens.client_info)?.utid ?? authority.tenant);
  const authorityType = authority.type === 'adfs' ? 'ADFS' : 'MSSTS';
  return buildAccount({ claims, clientInfoRaw: tokens.client_info, environment: authority.environment, realm, now, authorityType });
}

/** MSAL's username: `preferred_username`, else `upn`, else an email (B2C's `emails` list), else AD FS's `unique_name`. */
function usernameOf(claims: Record<string, unknown>): string {
  const emails = Array.isArray(claims.emails) ? claims.emails.find((e) => typeof e === 'string') : undefined;
  return String(claims.preferred_username ?? claims.upn ?? claims.email ?? emails ?? claims.unique_name ?? '');
}

/**
 * What every sign-in (auth code, device code, password) stores for the account, as MSAL's cache holds
 * it: the Account, its ID token, its refresh token (with the family id, when the app is in one) and the
 * app metadata, which MSAL Python writes on every token response.
 */
export function accountRecord(input: { account: AccountEntity; tokens: SignInTokens; clientId: string; accessTokenTarget: string; now: number }): AccountRecord {
  const { account, tokens, clientId } = input;
  const { home_account_id, environment, realm } = account;
  const family = tokens.foci ? { family_id: tokens.foci } : {};
  const record: AccountRecord = {
    account,
    idToken: { home_account_id, environment, credential_type: 'IdToken', client_id: clientId, realm, secret: tokens.id_token ?? '' },
    idTokenClaims: tokens.idTokenClaims ?? {},
    accessTokenTargets: [input.accessTokenTarget],
    appMetadata: { client_id: clientId, environment, ...family },
  };
  if (tokens.refresh_token) {
    record.refreshToken = {
      home_account_id,
      environment,
      credential_type: 'RefreshToken',
      client_id: clientId,
      secret: tokens.refresh_token,
      last_modification_time: String(Math.floor(input.now / 1000)),
      ...family,
    };
  }
  return record;
}

export function accountInfo(account: AccountEntity): AccountInfo {
  const info: AccountInfo = {
    homeAccountId: account.home_account_id,
    environment: account.environment,
    tenantId: account.realm,
    username: account.username,
    localAccountId: account.local_account_id,
  };
  if (account.name !== undefined) info.name = account.name;
  return info;
}

/** The ID token claims fit for a UI: identity, not token plumbing. */
export function displayClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const keep = ['name', 'preferred_username', 'email', 'oid', 'tid', 'sub', 'iss', 'iat', 'exp', 'auth_time'];
  return Object.fromEntries(keep.filter((k) => claims[k] !== undefined).map((k) => [k, claims[k]]));
}

export type { AccessTokenEntity };
