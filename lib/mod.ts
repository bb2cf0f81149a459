/** The public surface of lib: functions/ imports from here only. */
export * from './errors.ts';
export { normalizeScopes, scopesToTarget, OIDC_SCOPES } from './scopes.ts';
export { constantTimeEqual, sha256, base64url, fromBase64url, fromHex, fromUtf8, utf8 } from './encoding.ts';
export { parseAuthority, discoveryUrl, resolveAuthority, clearDiscoveryCache, type Authority, type AuthorityType } from './oauth/authority.ts';
export { ThrottlingCache, DEFAULT_THROTTLE_SECONDS, MAX_THROTTLE_SECONDS } from './oauth/provider-http.ts';
export { importCertificateKey, parseThumbprint, type ClientCredential } from './oauth/client-auth.ts';
export type { AuthCodeFlow, ResponseMode } from './oauth/authorization-code.ts';
export {
  accessTokenKey,
  accessTokenEntity,
  msalKeys,
  type AccessTokenEntity,
  type AccessTokenQuery,
  type AccountEntity,
  type IdTokenEntity,
  type RefreshTokenEntity,
  type AppMetadataEntity,
} from './cache/entities.ts';
export { isUsable, shouldRefresh, EXPIRY_SKEW_SECONDS } from './cache/freshness.ts';
export { TokenCache, storageKeyFor } from './cache/token-cache.ts';
export { deriveSealingKey, seal, open } from './cache/seal.ts';
export { type MsalCache } from './cache/serialize.ts';
export { accountInfo, displayClaims, type AccountInfo, type AccountRecord } from './account.ts';
export type { CacheStore, FlowStore, AccountStore } from './storage/ports.ts';
export { KVCacheStore, KV_MIN_TTL_SECONDS, type KVLike } from './storage/kv-cache-store.ts';
export { MemoryAccountStore } from './storage/memory-account-store.ts';
export {
  ConfidentialClientApplication,
  type ConfidentialClientConfig,
  type AcquireTokenForClientRequest,
  type AuthenticationResult,
  type CallOptions,
} from './confidential-client.ts';
export type { AuthCodeFlowRequest, AuthCodeResult } from './flows/auth-code.ts';
export type { SilentRequest } from './flows/silent.ts';
export { parseClientSettings, requireSetting, optionalSetting, type Settings } from './config.ts';
export { isInteractionRequired } from './interaction.ts';
