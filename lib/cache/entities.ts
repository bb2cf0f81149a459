/**
 * MSAL's unified token cache schema: entity shapes with MSAL's snake_case field names and key formats,
 * so entries can be exported to and imported from MSAL's JSON cache. Timestamps are strings of epoch
 * seconds, as the schema defines them.
 */

export interface AccessTokenEntity {
  home_account_id: string;
  environment: string;
  credential_type: 'AccessToken';
  client_id: string;
  realm: string;
  target: string;
  secret: string;
  cached_at: string;
  expires_on: string;
  extended_expires_on: string;
  refresh_on?: string;
  token_type: string;
  /** On-behalf-of tokens: base64url SHA-256 of the user's assertion (msal-node writes it so, camelCase). */
  userAssertionHash?: string;
}

/** The fields that identify an access token; the rest is payload. */
export interface AccessTokenQuery {
  homeAccountId: string;
  environment: string;
  clientId: string;
  realm: string;
  /** Normalised, space-joined scopes (MSAL's `target`). */
  target: string;
  /** On-behalf-of: whose assertion the token was exchanged for; part of the key, so one user's token is never another's. */
  userAssertionHash?: string;
}

/** MSAL's credential key: `<home_account_id>-<environment>-accesstoken-<client_id>-<realm>-<target>`, lower-cased. */
export function accessTokenKey(query: AccessTokenQuery): string {
  const key = [query.homeAccountId, query.environment, 'accesstoken', query.clientId, query.realm, query.target].join('-').toLowerCase();
  // The assertion hash is base64url: appended after lower-casing, since case is part of its value.
  return query.userAssertionHash === undefined ? key : `${key}-${query.userAssertionHash}`;
}

export function matchesQuery(entity: AccessTokenEntity, query: AccessTokenQuery): boolean {
  return accessTokenKey(queryOf(entity)) === accessTokenKey(query);
}

export function queryOf(entity: AccessTokenEntity): AccessTokenQuery {
  return {
    homeAccountId: entity.home_account_id,
    environment: entity.environment,
    clientId: entity.client_id,
    realm: entity.realm,
    target: entity.target,
    ...(entity.userAssertionHash !== undefined ? { userAssertionHash: entity.userAssertionHash } : {}),
  };
}

export interface TokenResponseTimes {
  expires_in: number;
  ext_expires_in?: number;
  refresh_in?: number;
}

/**
 * Builds the AccessToken entity for a token response. Expiry counts from when the request was *sent*
 * (MSAL's request timestamp), so a slow answer never stretches a token's life.
 */
export function accessTokenEntity(
  query: AccessTokenQuery,
  response: TokenResponseTimes & { access_token: string; token_type?: string },
  requestedAt: number,
): AccessTokenEntity {
  const at = Math.floor(requestedAt / 1000);
  const expiresOn = at + response.expires_in;
  const entity: AccessTokenEntity = {
    home_account_id: query.homeAccountId,
    environment: query.environment,
    credential_type: 'AccessToken',
    client_id: query.clientId,
    realm: query.realm,
    target: query.target,
    secret: response.access_token,
    cached_at: String(at),
    expires_on: String(expiresOn),
    extended_expires_on: String(at + Math.max(response.expires_in, response.ext_expires_in ?? 0)),
    token_type: response.token_type?.toLowerCase() === 'bearer' || !response.token_type ? 'Bearer' : response.token_type,
  };
  if (query.userAssertionHash !== undefined) entity.userAssertionHash = query.userAssertionHash;
  if (response.refresh_in !== undefined && response.refresh_in > 0 && response.refresh_in < response.expires_in) {
    entity.refresh_on = String(at + response.refresh_in);
  }
  return entity;
}

export interface RefreshTokenEntity {
  home_account_id: string;
  environment: string;
  credential_type: 'RefreshToken';
  client_id: string;
  secret: string;
  target?: string;
  family_id?: string;
  last_modification_time?: string;
}

export interface IdTokenEntity {
  home_account_id: string;
  environment: string;
  credential_type: 'IdToken';
  client_id: string;
  realm: string;
  secret: string;
}

export interface AccountEntity {
  home_account_id: string;
  environment: string;
  realm: string;
  local_account_id: string;
  username: string;
  authority_type: 'MSSTS' | 'ADFS' | 'Generic';
  name?: string;
  client_info?: string;
  /** msal-node's per-tenant views of the account, each a JSON string. */
  tenantProfiles?: string[];
  last_modification_time?: string;
}

export interface AppMetadataEntity {
  client_id: string;
  environment: string;
  family_id?: string;
}

/**
 * Keys as msal-node 7 writes them in its JSON cache (lower-cased, `-`-joined; the scheme slot is empty
 * for Bearer). Both MSALs match entries by value, so these keys only need to be well-formed.
 */
export const msalKeys = {
  accessToken: (e: AccessTokenEntity) => [e.home_account_id, e.environment, 'accesstoken', e.client_id, e.realm, e.target, ''].join('-').toLowerCase(),
  refreshToken: (e: RefreshTokenEntity) => [e.home_account_id, e.environment, 'refreshtoken', e.family_id ?? e.client_id, '', '', ''].join('-').toLowerCase(),
  idToken: (e: IdTokenEntity) => [e.home_account_id, e.environment, 'idtoken', e.client_id, e.realm, '', ''].join('-').toLowerCase(),
  account: (e: AccountEntity) => [e.home_account_id, e.environment, e.realm].join('-').toLowerCase(),
  appMetadata: (e: AppMetadataEntity) => ['appmetadata', e.environment, e.client_id].join('-').toLowerCase(),
};
