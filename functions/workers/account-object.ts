/**
 * AccountObject: one SQLite-backed Durable Object per signed-in account (by home account id). It holds
 * what must never be only in KV — the refresh token — plus the account's sessions, and runs every
 * refresh of that account: a Durable Object is single-threaded and unique, so two isolates can never
 * redeem the same refresh token at once, and concurrent callers share one refresh. Expired sessions are
 * collected by the alarm; an account left with no session is deleted with its refresh token.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  AuthError,
  KVCacheStore,
  accountInfo,
  displayClaims,
  serializeAuthError,
  type AccountRecord,
  type AccountStore,
  type AuthenticationResult,
  type Settings,
} from '../../lib/mod.ts';
import { depsFor } from '../deps.ts';
import type { RpcResult, SessionView } from '../sessions.ts';

interface Bindings {
  TOKEN_CACHE: KVNamespace;
}

const RECORD_KEY = 'account';
const SESSION_PREFIX = 'session:';

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

  private deps(settings: Settings) {
    return depsFor(settings, new KVCacheStore(this.env.TOKEN_CACHE), this.env.TOKEN_CACHE, (input, init) => fetch(input, init));
  }

  /** Stores the signed-in account (a new sign-in replaces it) and opens a new session. */
  async signIn(record: AccountRecord, sessionTtlSeconds: number): Promise<string> {
    const previous = await this.accounts.get(record.account.home_account_id);
    if (previous) record.accessTokenTargets = [...new Set([...previous.accessTokenTargets, ...record.accessTokenTargets])];
    const sessionId = crypto.randomUUID() + crypto.randomUUID();
    const expiresAt = Date.now() + sessionTtlSeconds * 1000;
    await this.accounts.put(record.account.home_account_id, record);
    await this.ctx.storage.put(SESSION_PREFIX + sessionId, expiresAt);
    await this.scheduleCleanup();
    return sessionId;
  }

  async session(sessionId: string): Promise<SessionView | null> {
    if (!(await this.isLive(sessionId))) return null;
    const record = (await this.accounts.list())[0];
    return record ? { account: accountInfo(record.account), claims: displayClaims(record.idTokenClaims) } : null;
  }

  async acquireTokenSilent(
    settings: Settings,
    sessionId: string,
    request: { scopes: string[]; forceRefresh?: boolean; claimsChallenge?: string; correlationId: string },
  ): Promise<RpcResult<AuthenticationResult> | null> {
    if (!(await this.isLive(sessionId))) return null;
    const record = (await this.accounts.list())[0];
    if (!record) return null;
    try {
      const { client } = await this.deps(settings);
      const value = await client.acquireTokenSilent(
        this.accounts,
        { ...request, account: { homeAccountId: record.account.home_account_id, tenantId: record.account.realm } },
        { waitUntil: (promise) => this.ctx.waitUntil(promise) },
      );
      return { ok: true, value };
    } catch (error) {
      if (error instanceof AuthError) return { ok: false, error: serializeAuthError(error) };
      throw error;
    }
  }

  /** Ends every session of the account and removes it with its tokens (MSAL's removeAccount). */
  async signOut(settings: Settings, sessionId: string): Promise<{ idToken?: string }> {
    if (!(await this.isLive(sessionId))) return {};
    const record = (await this.accounts.list())[0];
    if (record) {
      const { client } = await this.deps(settings);
      await client.removeAccount(this.accounts, { homeAccountId: record.account.home_account_id });
    }
    await this.ctx.storage.deleteAll();
    return record ? { idToken: record.idToken.secret } : {};
  }

  async serializeCache(settings: Settings): Promise<string> {
    const record = (await this.accounts.list())[0];
    const { client } = await this.deps(settings);
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
