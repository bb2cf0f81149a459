/**
 * AccountObject: one SQLite-backed Durable Object per signed-in account (by home account id). It holds
 * what must never be only in KV — the refresh token — plus the account's sessions (browsers' by id,
 * session keys' by the hash of their secret), and runs every refresh of that account: a Durable Object is
 * single-threaded and unique, so two isolates can never redeem the same refresh token at once, and
 * concurrent callers share one refresh. A thin RPC shell over account-sessions-core.ts: its storage is
 * the object's own (`account`, `session:<id>`, `device:<hash>`), its alarm collects expired sessions.
 */
import { DurableObject } from 'cloudflare:workers';
import type { AccountRecord, AuthenticationResult } from '../../lib/mod.ts';
import { AccountSessionsCore, type AccountSessionStorage, type StoredSession } from '../account-sessions-core.ts';
import type { NewSession, SessionKind, SessionRef, SessionTokenRequest, SessionView } from '../sessions.ts';
import { ObjectClient, type ObjectBindings } from './object-client.ts';
import { toRpcResult, type RpcResult } from './rpc-result.ts';

export { MAX_SESSIONS_PER_ACCOUNT } from '../account-sessions-core.ts';

const RECORD_KEY = 'account';
/** Where each kind of session is kept: `<prefix><session id>` → expiry (epoch ms). */
const SESSION_PREFIXES: Record<SessionKind, string> = { browser: 'session:', device: 'device:' };

/** The object's own storage: it holds exactly one account. */
export class ObjectSessionStorage implements AccountSessionStorage {
  private readonly storage: DurableObjectStorage;
  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }
  async getRecord(): Promise<AccountRecord | null> {
    return (await this.storage.get<AccountRecord>(RECORD_KEY)) ?? null;
  }
  async putRecord(record: AccountRecord): Promise<void> {
    await this.storage.put(RECORD_KEY, record);
  }
  async updateRecord(record: AccountRecord): Promise<boolean> {
    // Input gates keep other events out between these two storage calls.
    if ((await this.storage.get(RECORD_KEY)) === undefined) return false;
    await this.storage.put(RECORD_KEY, record);
    return true;
  }
  async getSession(kind: SessionKind, sid: string): Promise<number | null> {
    return (await this.storage.get<number>(SESSION_PREFIXES[kind] + sid)) ?? null;
  }
  async putSession(kind: SessionKind, sid: string, expiresAt: number): Promise<void> {
    await this.storage.put(SESSION_PREFIXES[kind] + sid, expiresAt);
  }
  async listSessions(kind: SessionKind): Promise<StoredSession[]> {
    const prefix = SESSION_PREFIXES[kind];
    const entries = await this.storage.list<number>({ prefix });
    return [...entries].map(([key, expiresAt]) => ({ sid: key.slice(prefix.length), expiresAt }));
  }
  async deleteSessions(kind: SessionKind, sids: readonly string[]): Promise<void> {
    await this.storage.delete(sids.map((sid) => SESSION_PREFIXES[kind] + sid));
  }
  async deleteAll(): Promise<void> {
    await this.storage.deleteAll();
  }
}

export class AccountObject extends DurableObject<ObjectBindings> {
  /** One client per object: its KeyedMutex is the account's one refresh lock, its memory layer this account's tokens. */
  private readonly client = new ObjectClient(this.env);

  private readonly core = new AccountSessionsCore({
    storage: new ObjectSessionStorage(this.ctx.storage),
    client: () => this.client.get(),
    waitUntil: (promise) => this.ctx.waitUntil(promise),
  });

  /** Stores the signed-in account (a new sign-in replaces it) and opens a new session. @returns its id. */
  async signIn(record: AccountRecord, session: NewSession): Promise<string> {
    const sessionId = await this.core.signIn(record, session);
    await this.scheduleCleanup();
    return sessionId;
  }

  session(session: SessionRef): Promise<SessionView | null> {
    return this.core.session(session);
  }

  /** @returns null when the session is not live (signed out, expired) or the account is gone. */
  async acquireTokenSilent(session: SessionRef, request: SessionTokenRequest): Promise<RpcResult<AuthenticationResult> | null> {
    const outcome = await toRpcResult(() => this.core.acquireTokenSilent(session, request));
    if (outcome.ok && outcome.value === null) return null;
    return outcome as RpcResult<AuthenticationResult>;
  }

  /** Ends every session of the account and removes it with its tokens (MSAL's removeAccount). */
  signOut(session: SessionRef): Promise<{ idToken?: string }> {
    return this.core.signOut(session);
  }

  /** Ends one session; the account, with its tokens, goes with its last one. */
  endSession(session: SessionRef): Promise<boolean> {
    return this.core.endSession(session);
  }

  serializeCache(): Promise<string> {
    return this.core.serializeCache();
  }

  async alarm(): Promise<void> {
    const next = await this.core.collectExpired(Date.now());
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleCleanup(): Promise<void> {
    const next = await this.core.nextExpiry();
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }
}
