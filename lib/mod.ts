/** The public surface of lib: functions/ imports from here only. */
export * from './errors.ts';
export { normalizeScopes, scopesToTarget } from './scopes.ts';
export { constantTimeEqual, sha256, base64url, fromHex, utf8 } from './encoding.ts';
export { parseAuthority, discoveryUrl, resolveAuthority, clearDiscoveryCache, type Authority, type AuthorityType } from './oauth/authority.ts';
export { ThrottlingCache, DEFAULT_THROTTLE_SECONDS, MAX_THROTTLE_SECONDS } from './oauth/provider-http.ts';
export { importCertificateKey, parseThumbprint, type ClientCredential } from './oauth/client-auth.ts';
export { accessTokenKey, accessTokenEntity, type AccessTokenEntity, type AccessTokenQuery } from './cache/entities.ts';
export { isUsable, shouldRefresh, EXPIRY_SKEW_SECONDS } from './cache/freshness.ts';
export { TokenCache, storageKeyFor } from './cache/token-cache.ts';
export { deriveSealingKey, seal, open } from './cache/seal.ts';
export type { CacheStore, FlowStore } from './storage/ports.ts';
export { KVCacheStore, KV_MIN_TTL_SECONDS, type KVLike } from './storage/kv-cache-store.ts';
export {
  ConfidentialClientApplication,
  type ConfidentialClientConfig,
  type AcquireTokenForClientRequest,
  type AuthenticationResult,
  type CallOptions,
} from './confidential-client.ts';
export { parseClientSettings, requireSetting, optionalSetting, type Settings } from './config.ts';
