/**
 * AccountObject: one SQLite-backed Durable Object per signed-in account (by home account id). It holds
 * what must never be only in KV — the refresh token — plus the account's sessions (browsers' by id,
 * session keys' by the hash of their secret), and runs every
 * refresh of that account: a Durable Object is single-threaded and unique, so two isolates can never
 * redeem the same refresh token at once, and concurrent callers share one refresh. Expired sessions are
 * collected by the alarm; an account left with no session is deleted with its refresh token.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  accountInfo,
  displayClaims,
  endsSignIn,
  type AccountRecord,
  type AccountStore,
  type AuthenticationResult,
} from '../../lib/mod.ts';
import type { NewSession, SessionKind, SessionRef, SessionTokenRequest, SessionView } from '../sessions.ts';
import { ObjectClient, type ObjectBindings } from './object-client.ts';
import { toRpcResult, type RpcResult } from './rpc-result.ts';


const RECORD_KEY = 'account';
/** Where each kind of session is kept: `<prefix><session id>` → expiry (epoch ms). */
const SESSION_PREFIXES: Record<SessionKind, string> = { browser: 'session:', device: 'device:' };
/**
 * Sessions of each kind one account may hold (browsers; devices and scripts); a new sign-in beyond it
 * ends the oldest of its kind, so that a device signing in never signs a browser out, nor the reverse.
 */
export const MAX_SESSIONS_PER_ACCOUNT = 10;

function sessionStorageKey(session: Pick<SessionRef, 'kind' | 'sid'>): string {
  return SESSION_PREFIXES[session.kind] + session.sid;
}

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

export class AccountObject extends DurableObject<ObjectBindings> {
  private readonly accounts = new ObjectAccountStore(this.ctx.storage);

  /** One client per object: its KeyedMutex is the account's one refresh lock, its memory layer this account's tokens. */
  private readonly client = new ObjectClient(this.env);

  /** Stores the signed-in account (a new sign-in replaces it) and opens a new session. @returns its id. */
  async signIn(record: AccountRecord, session: NewSession): Promise<string> {
    const previous = await this.accounts.get(record.account.home_account_id);
    if (previous) record.accessTokenTargets = [...new Set([...previous.accessTokenTargets, ...record.accessTokenTargets])];
    const sessionId = session.kind === 'device' ? session.keyHash : crypto.randomUUID() + crypto.randomUUID();
    const expiresAt = Date.now() + session.ttlSeconds * 1000;
    await this.accounts.put(record.account.home_account_id, record);
    await this.ctx.storage.put(sessionStorageKey({ kind: session.kind, sid: sessionId }), expiresAt);
    await this.endOldestSessions(session.kind);
    await this.scheduleCleanup();
    return sessionId;
  }

  async session(session: SessionRef): Promise<SessionView | null> {
    if (!(await this.isLive(session))) return null;
    const record = (await this.accounts.list())[0];
    return record ? { account: accountInfo(record.account), claims: displayClaims(record.idTokenClaims) } : null;
  }

  /** @returns null when the session is not live (signed out, expired) or the account is gone. */
  async acquireTokenSilent(session: SessionRef, request: SessionTokenRequest): Promise<RpcResult<AuthenticationResult> | null> {
    if (!(await this.isLive(session))) return null;
    const record = (await this.accounts.list())[0];
    if (!record) return null;
    return toRpcResult(async () => {
      const client = await this.client.get();
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
  async signOut(session: SessionRef): Promise<{ idToken?: string }> {
    if (!(await this.isLive(session))) return {};
    const record = (await this.accounts.list())[0];
    await this.endSignIn(record);
    return record ? { idToken: record.idToken.secret } : {};
  }

  /** Ends one session; the account, with its tokens, goes with its last one. */
  async endSession(session: SessionRef): Promise<boolean> {
    if (!(await this.isLive(session))) return false;
    await this.ctx.storage.delete(sessionStorageKey(session));
    if ((await this.sessions()).length === 0) await this.endSignIn((await this.accounts.list())[0]);
    return true;
  }

  async serializeCache(): Promise<string> {
    const record = (await this.accounts.list())[0];
    const client = await this.client.get();
    return client.serializeCache(this.accounts, record?.account.home_account_id ?? '');
  }

  async alarm(): Promise<void> {
    const now = Date.now();
    const sessions = await this.sessions();
    const expired = sessions.filter(([, expiresAt]) => expiresAt <= now).map(([key]) => key);
    await this.ctx.storage.delete(expired);
    if (expired.length === sessions.length) await this.ctx.storage.deleteAll();
    else await this.scheduleCleanup();
  }

  /** Every session of the account, of either kind: [storage key, expiry]. */
  private async sessions(kind?: SessionKind): Promise<[string, number][]> {
    const kinds = kind ? [kind] : (Object.keys(SESSION_PREFIXES) as SessionKind[]);
    const lists = await Promise.all(kinds.map((k) => this.ctx.storage.list<number>({ prefix: SESSION_PREFIXES[k] })));
    return lists.flatMap((list) => [...list]);
  }

  /** Removes the account with its tokens (MSAL's removeAccount) and every session of it. */
  private async endSignIn(record: AccountRecord | undefined): Promise<void> {
    if (record) {
      const client = await this.client.get();
      await client.removeAccount(this.accounts, { homeAccountId: record.account.home_account_id });
    }
    await this.ctx.storage.deleteAll();
  }

  private async endOldestSessions(kind: SessionKind): Promise<void> {
    const sessions = await this.sessions(kind);
    if (sessions.length <= MAX_SESSIONS_PER_ACCOUNT) return;
    // Every session of a kind lives equally long, so the earliest expiry is the oldest sign-in.
    sessions.sort(([, a], [, b]) => a - b);
    await this.ctx.storage.delete(sessions.slice(0, sessions.length - MAX_SESSIONS_PER_ACCOUNT).map(([key]) => key));
  }

  private async isLive(session: SessionRef): Promise<boolean> {
    if (typeof session?.sid !== 'string' || session.sid.length > 100 || !Object.hasOwn(SESSION_PREFIXES, session.kind)) return false;
    const expiresAt = await this.ctx.storage.get<number>(sessionStorageKey(session));
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  private async scheduleCleanup(): Promise<void> {
    const next = Math.min(...(await this.sessions()).map(([, expiresAt]) => expiresAt));
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }
}
