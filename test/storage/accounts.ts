/** Accounts and clients for the account suites: an MSAL-shaped record and a client over memory. */
import type { AccountRecord } from '../../lib/account.ts';
import { ConfidentialClientApplication } from '../../lib/confidential-client.ts';
import type { KeyedLock } from '../../lib/concurrency.ts';
import type { CacheStore } from '../../lib/storage/ports.ts';
import { MemoryCacheStore, SEALING_SECRET } from '../lib/fakes.ts';

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const CLIENT_ID = 'web-app';
export const HOME = `uid.utid`;
export const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;
const ENVIRONMENT = 'login.microsoftonline.com';

export function accountRecord(overrides: Partial<AccountRecord> = {}, refreshToken = 'rt-0'): AccountRecord {
  return {
    account: { home_account_id: HOME, environment: ENVIRONMENT, realm: TENANT, local_account_id: 'oid-1', username: 'alice@contoso.test', authority_type: 'MSSTS' },
    idToken: { home_account_id: HOME, environment: ENVIRONMENT, credential_type: 'IdToken', client_id: CLIENT_ID, realm: TENANT, secret: 'id-token-1' },
    refreshToken: { home_account_id: HOME, environment: ENVIRONMENT, credential_type: 'RefreshToken', client_id: CLIENT_ID, secret: refreshToken },
    idTokenClaims: { name: 'Alice', preferred_username: 'alice@contoso.test', oid: 'oid-1', tid: TENANT, nonce: 'not for the UI' },
    accessTokenTargets: [],
    ...overrides,
  };
}

const unreachable: typeof fetch = () => Promise.reject(new Error('this test reaches no provider'));

/** A client over `cacheStore` (memory by default); `fetch` is the provider, unreachable unless given. */
export function client(options: { cacheStore?: CacheStore; fetch?: typeof fetch; accountLocks?: KeyedLock } = {}): Promise<ConfidentialClientApplication> {
  return ConfidentialClientApplication.fromSettings(
    { AUTHORITY, CLIENT_ID, CLIENT_SECRET: 's', CLIENT_SECRET_METHOD: 'post', TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_TIMEOUT_MS: '5000', PROVIDER_RETRY_DELAY_MS: '0' },
    { cacheStore: options.cacheStore ?? new MemoryCacheStore(), fetch: options.fetch ?? unreachable, ...(options.accountLocks ? { accountLocks: options.accountLocks } : {}) },
  );
}
