/**
 * AccountObject: one SQLite-backed Durable Object per signed-in account (by home account id). It holds
 * what must never be only in KV — the refresh token — plus the account's sessions, and runs every
 * refresh of that account: a Durable Object is single-threaded and unique, so two isolates can never
 * redeem the same refresh token at once, and concurrent callers share one refresh. Expired sessions are
 * collected by the alarm; an account left with no session is deleted with its refresh token.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  KVCacheStore,
  accountInfo,
  displayClaims,
  endsSignIn,
  type AccountRecord,
  type AccountStore,
  type AuthenticationResult,
  type ConfidentialClientApplication,
} from '../../lib/mod.ts';
import { createDeps } from '../deps.ts';
import type { SessionTokenRequest, SessionView } from '../sessions.ts';
import { toRpcResult, type RpcResult } from './rpc-result.ts';

/** The Worker's own bindings and settings: the object acts as the same client as the Worker. */
interface Bindings {
  TOKEN_CACHE: KVNamespace;
  [setting: string]: unknown;
}

const RECORD_KEY = 'account';
const SESSION_PREFIX = 'session:';
/** Sessions one account may hold (browsers, devices); a new sign-in beyond it ends the oldest. */
export const MAX_SESSIONS_PER_ACCOUNT = 10;

/** AccountStore over this object's own storage: it holds exactly one account. */
class ObjectAccountStore implements AccountStore<AccountRecord> {
  private readonly storage: DurableObjectStorage;
  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }
  async list(): Promise<AccountRecord[]> {
    const record = await this.storage.get<AccountRecord>(RECORD_KEY);
    return record ? [record] : [];
  }
  async get(homeAccountId: string): Promise<AccountRecord | null> {
    const record = await this.storage.get<AccountRecord>(RECORD_KEY);
    return record && record.account.home_account_id === homeAccountId ? record : null;
  }
  async put(_homeAccountId: string, record: AccountRecord): Promise<void> {
    await this.storage.put(RECORD_KEY, record);
  }
  async delete(): Promise<void> {
    await this.storage.delete(RECORD_KEY);
  }
}

export class AccountObject extends DurableObject<Bindings> {
  private readonly accounts = new ObjectAccountStore(this.ctx.storage);

  /**
   * One client per object, built from the object's own env on first use: its KeyedMutex is then the
   * account's one refresh lock, and its memory layer holds this account's tokens only. Settings are
   * never taken from a caller: whoever can reach the object cannot make it act as another client.
   */
  private client: Promise<ConfidentialClientApplication> | undefined;

  private clientApplication(): Promise<ConfidentialClientApplication> {
    if (!this.client) {
      const built = createDeps(this.env, new KVCacheStore(this.env.TOKEN_CACHE), (input, init) => fetch(input, init)).then((deps) => deps.client);
      // A failed build (a missing setting) is not kept: the next call tries again.
      built.catch(() => {
        if (this.client === built) this.client = undefined;
      });
      this.client = built;
    }
    return this.client;
  }

  /** Stores the signed-in account (a new sign-in replaces it) and opens a new session. */
  async signIn(record: AccountRecord, sessionTtlSeconds: number): Promise<string> {
    const previous = await this.accounts.get(record.account.home_account_id);
    if (previous) record.accessTokenTargets = [...new Set([...previous.accessTokenTargets, ...record.accessTokenTargets])];
    const sessionId = crypto.randomUUID() + crypto.randomUUID();
    const expiresAt = Date.now() + sessionTtlSeconds * 1000;
    await this.accounts.put(record.account.home_account_id, record);
    await this.ctx.storage.put(SESSION_PREFIX + sessionId, expiresAt);
    await this.endOldestSessions();
    await this.scheduleCleanup();
    return sessionId;
  }

  async session(sessionId: string): Promise<SessionView | null> {
    if (!(await this.isLive(sessionId))) return null;
    const record = (await this.accounts.list())[0];
    return record ? { account: accountInfo(record.account), claims: displayClaims(record.idTokenClaims) } : null;
  }

  /** @returns null when the session is not live (signed out, expired) or the account is gone. */
  async acquireTokenSilent(sessionId: string, request: SessionTokenRequest): Promise<RpcResult<AuthenticationResult> | null> {
    if (!(await this.isLive(sessionId))) return null;
    const record = (await this.accounts.list())[0];
    if (!record) return null;
    return toRpcResult(async () => {
      const client = await this.clientApplication();
      try {
        return await client.acquireTokenSilent(
          this.accounts,
          { ...request, account: { homeAccountId: record.account.home_account_id, tenantId: record.account.realm } },
          { waitUntil: (promise) => this.ctx.waitUntil(promise) },
        );
      } catch (error) {
        // A revoked grant (or another account's ID token) ends the sign-in everywhere, not just this call.
        if (endsSignIn(error)) await this.endSignIn(record);
        throw error;
      }
    });
  }

  /** Ends every session of the account and removes it with its tokens (MSAL's removeAccount). */
  async signOut(sessionId: string): Promise<{ idToken?: string }> {
    if (!(await this.isLive(sessionId))) return {};
    const record = (await this.accounts.list())[0];
    await this.endSignIn(record);
    return record ? { idToken: record.idToken.secret } : {};
  }

  async serializeCache(): Promise<string> {
    const record = (await this.accounts.list())[0];
    const client = await this.clientApplication();
    return client.serializeCache(this.accounts, record?.account.home_account_id ?? '');
  }

  async alarm(): Promise<void> {
    const now = Date.now();
    const sessions = await this.ctx.storage.list<number>({ prefix: SESSION_PREFIX });
    const expired = [...sessions].filter(([, expiresAt]) => expiresAt <= now).map(([key]) => key);
    await this.ctx.storage.delete(expired);
    if (expired.length === sessions.size) await this.ctx.storage.deleteAll();
    else await this.scheduleCleanup();
  }

  /** Removes the account with its tokens (MSAL's removeAccount) and every session of it. */
  private async endSignIn(record: AccountRecord | undefined): Promise<void> {
    if (record) {
      const client = await this.clientApplication();
      await client.removeAccount(this.accounts, { homeAccountId: record.account.home_account_id });
    }
    await this.ctx.storage.deleteAll();
  }

  private async endOldestSessions(): Promise<void> {
    const sessions = [...(await this.ctx.storage.list<number>({ prefix: SESSION_PREFIX }))];
    if (sessions.length <= MAX_SESSIONS_PER_ACCOUNT) return;
    // Every session lives equally long, so the earliest expiry is the oldest sign-in.
    sessions.sort(([, a], [, b]) => a - b);
    await this.ctx.storage.delete(sessions.slice(0, sessions.length - MAX_SESSIONS_PER_ACCOUNT).map(([key]) => key));
  }

  private async isLive(sessionId: string): Promise<boolean> {
    if (typeof sessionId !== 'string' || sessionId.length > 100) return false;
    const expiresAt = await this.ctx.storage.get<number>(SESSION_PREFIX + sessionId);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  private async scheduleCleanup(): Promise<void> {
    const sessions = await this.ctx.storage.list<number>({ prefix: SESSION_PREFIX });
    const next = Math.min(...sessions.values());
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }
}
