/**
 * The public surface of lib, MSAL-shaped: the client, its requests and results, accounts, errors, the
 * storage ports with their adapters, and the few building blocks an app's own routes need (settings,
 * scopes, sealing). functions/ imports from here only; tests may reach into modules directly.
 */

// The client (MSAL's ConfidentialClientApplication) and what goes in and out of it.
export { ConfidentialClientApplication, type ClientOptions } from './confidential-client.ts';
export { ProviderMetadataCache } from './oauth/provider-metadata.ts';
export { ThrottlingCache } from './oauth/provider-http.ts';
export { fleetRenewalAt, FLEET_RENEWAL_LEAD_SECONDS, type FleetFlights, type FleetTokenRequest } from './flows/fleet.ts';
export { EXPIRY_SKEW_SECONDS } from './cache/freshness.ts';
export type { ProviderCall, ProviderEndpoint, ProviderObserver } from './observation.ts';
export type { AuthenticationResult, CallOptions } from './flows/context.ts';
export type { ClientCredentialRequest } from './flows/client-credentials.ts';
export type { AuthCodeFlowRequest, AuthCodeResult } from './flows/auth-code.ts';
export type { SilentRequest } from './flows/silent.ts';
export type { OnBehalfOfRequest } from './flows/on-behalf-of.ts';
export type { DeviceCodeFlow, DeviceFlowOptions, DeviceFlowRequest, DevicePoll } from './flows/device-code.ts';
export { DEVICE_FLOW_TERMINAL_ERRORS, SLOW_DOWN_SECONDS } from './flows/device-code.ts';
export type { UsernamePasswordRequest } from './flows/password.ts';
export type { RefreshTokenImportRequest } from './flows/refresh-token-import.ts';
export { msalCacheAccounts, type MsalCacheAccount } from './flows/cache-serialization.ts';
export type { SignInOutcome, SignInResult } from './flows/sign-in-result.ts';
export type { AuthCodeFlow, ResponseMode } from './oauth/authorization-code.ts';

// Accounts.
export { accountInfo, displayClaims, type AccountInfo, type AccountRecord } from './account.ts';

// Errors (MSAL's names), and their plain-data form for boundaries that lose classes (RPC).
export * from './errors.ts';
export { endsSignIn } from './interaction.ts';

// Storage ports and adapters.
export type { CacheStore, FlowStore, AccountStore } from './storage/ports.ts';
export { KVCacheStore, type KVLike } from './storage/kv-cache-store.ts';
export { MemoryAccountStore } from './storage/memory-account-store.ts';

// Building blocks for the app's own routes.
export { requireSetting, optionalSetting, integerSetting, type Settings } from './config.ts';
export { normalizeScopes } from './scopes.ts';
export { deriveSealingKey, seal, open } from './cache/seal.ts';
export { base64url, constantTimeEqual, sha256, sha256Sync, fromHex, utf8 } from './encoding.ts';
export { KeyedMutex, type KeyedLock } from './concurrency.ts';
