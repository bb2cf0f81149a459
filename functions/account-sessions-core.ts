/**
 * The runtime-free core of one account's sessions (see sessions.ts): sign-in, the session view, silent
 * acquisition, sign-out, ending one session and collecting expired ones. It reads and writes only through
 * an AccountSessionStorage scoped to one account (a Durable Object's own storage on Workers, keys under
 * ['accounts', <home account id>] in Deno KV); the clock is Date.now(). Serialising refreshes is the
 * client's account lock, not this module's concern.
 */
import {
  accountInfo,
  displayClaims,
  endsSignIn,
  type AccountRecord,
  type AccountStore,
  type AuthenticationResult,
  type CallOptions,
  type ConfidentialClientApplication,
} from '../lib/mod.ts';
import type { NewSession, SessionKind, SessionRef, SessionTokenRequest, SessionView } from './sessions.ts';

/**
 * Sessions of each kind one account may hold (browsers; devices and scripts); a new sign-in beyond it
 * ends the oldest of its kind, so that a device signing in never signs a browser out, nor the reverse.
 */
export const MAX_SESSIONS_PER_ACCOUNT = 10;

export const SESSION_KINDS: readonly SessionKind[] = ['browser', 'device'];

/** Session ids are 72 characters (browser) or 43 (a key's hash); anything much longer is not ours. */
const MAX_SESSION_ID_LENGTH = 100;

export interface StoredSession {
  sid: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** The storage of one account: its record and its sessions. Adapters need not check expiry; the core does. */
export interface AccountSessionStorage {
  getRecord(): Promise<AccountRecord | null>;
  /** Stores the record, creating or replacing it (a sign-in). */
  putRecord(record: AccountRecord): Promise<void>;
  /**
   * Replaces the record only while one is stored, in one step: a refresh that ends after a sign-out must
   * not bring the account back. @returns false when there was none.
   */
  updateRecord(record: AccountRecord): Promise<boolean>;
  /** @returns the session's expiry (epoch ms), or null when there is no such session. */
  getSession(kind: SessionKind, sid: string): Promise<number | null>;
  putSession(kind: SessionKind, sid: string, expiresAt: number): Promise<void>;
  listSessions(kind: SessionKind): Promise<StoredSession[]>;
  deleteSessions(kind: SessionKind, sids: readonly string[]): Promise<void>;
  /** The record and every session. */
  deleteAll(): Promise<void>;
}

export interface AccountSessionsCoreOptions {
  storage: AccountSessionStorage;
  /** The client that refreshes this account: its account lock serialises the refreshes. */
  client: () => Promise<ConfidentialClientApplication>;
  /** Keeps a background renewal alive after the response (a Durable Object's ctx.waitUntil). */
  waitUntil?: CallOptions['waitUntil'];
}

/** The client's view of the storage: an AccountStore holding exactly this one account. */
class SingleAccountStore implements AccountStore<AccountRecord> {
  private readonly storage: AccountSessionStorage;
  constructor(storage: AccountSessionStorage) {
    this.storage = storage;
  }
  async list(): Promise<AccountRecord[]> {
    const record = await this.storage.getRecord();
    return record ? [record] : [];
  }
  async get(homeAccountId: string): Promise<AccountRecord | null> {
    const record = await this.storage.getRecord();
    return record && record.account.home_account_id === homeAccountId ? record : null;
  }
  async put(_homeAccountId: string, record: AccountRecord): Promise<void> {
    // Only a refresh writes through here (a sign-in uses putRecord): never recreate a removed account.
    await this.storage.updateRecord(record);
  }
  async delete(): Promise<void> {
    await this.storage.deleteAll();
  }
}

export class AccountSessionsCore {
  private readonly storage: AccountSessionStorage;
  private readonly accounts: SingleAccountStore;
  private readonly client: () => Promise<ConfidentialClientApplication>;
  private readonly waitUntil: CallOptions['waitUntil'];

  constructor(options: AccountSessionsCoreOptions) {
    this.storage = options.storage;
    this.accounts = new SingleAccountStore(options.storage);
    this.client = options.client;
    this.waitUntil = options.waitUntil;
  }

  /** Stores the signed-in account (a new sign-in replaces it, keeping its token targets) and opens a session. @returns its id. */
  async signIn(record: AccountRecord, session: NewSession): Promise<string> {
    const previous = await this.accounts.get(record.account.home_account_id);
    const stored: AccountRecord = previous
      ? { ...record, accessTokenTargets: [...new Set([...previous.accessTokenTargets, ...record.accessTokenTargets])] }
      : record;
    const sessionId = session.kind === 'device' ? session.keyHash : crypto.randomUUID() + crypto.randomUUID();
    await this.storage.putRecord(stored);
    await this.storage.putSession(session.kind, sessionId, Date.now() + session.ttlSeconds * 1000);
    await this.endOldestSessions(session.kind);
    return sessionId;
  }

  async session(session: SessionRef): Promise<SessionView | null> {
    if (!(await this.isLive(session))) return null;
    const record = await this.storage.getRecord();
    return record ? { account: accountInfo(record.account), claims: displayClaims(record.idTokenClaims) } : null;
  }

  /**
   * @returns null when the session is not live (signed out, expired) or the account is gone.
   * @throws any AuthError of the silent acquisition; one that ends the sign-in (a revoked grant, another
   *   account's ID token) has ended it everywhere first.
   */
  async acquireTokenSilent(session: SessionRef, request: SessionTokenRequest): Promise<AuthenticationResult | null> {
    if (!(await this.isLive(session))) return null;
    const record = await this.storage.getRecord();
    if (!record) return null;
    const client = await this.client();
    try {
      return await client.acquireTokenSilent(
        this.accounts,
        { ...request, account: { homeAccountId: record.account.home_account_id, tenantId: record.account.realm } },
        this.waitUntil ? { waitUntil: this.waitUntil } : {},
      );
    } catch (error) {
      if (endsSignIn(error)) await this.endSignIn(record);
      throw error;
    }
  }

  /** Ends every session of the account and removes it with its tokens (MSAL's removeAccount). */
  async signOut(session: SessionRef): Promise<{ idToken?: string }> {
    if (!(await this.isLive(session))) return {};
    const record = await this.storage.getRecord();
    await this.endSignIn(record);
    return record ? { idToken: record.idToken.secret } : {};
  }

  /** Ends one session; the account, with its tokens, goes with its last one. @returns false when it was not live. */
  async endSession(session: SessionRef): Promise<boolean> {
    if (!(await this.isLive(session))) return false;
    await this.storage.deleteSessions(session.kind, [session.sid]);
    // Sessions past their expiry that the store still holds do not keep the account.
    const now = Date.now();
    if (!(await this.sessions()).some((s) => s.expiresAt > now)) await this.endSignIn(await this.storage.getRecord());
    return true;
  }

  /** The account's cache in MSAL's JSON format. */
  async serializeCache(): Promise<string> {
    const record = await this.storage.getRecord();
    const client = await this.client();
    return client.serializeCache(this.accounts, record?.account.home_account_id ?? '');
  }

  /**
   * Deletes the sessions expired by `now`; an account left with none is deleted with its refresh token.
   * @returns the next expiry (epoch ms), or null when nothing is left.
   */
  async collectExpired(now: number = Date.now()): Promise<number | null> {
    const sessions = await this.sessions();
    for (const kind of SESSION_KINDS) {
      const expired = sessions.filter((s) => s.kind === kind && s.expiresAt <= now).map((s) => s.sid);
      if (expired.length > 0) await this.storage.deleteSessions(kind, expired);
    }
    const live = sessions.filter((s) => s.expiresAt > now);
    if (live.length === 0) {
      await this.storage.deleteAll();
      return null;
    }
    return Math.min(...live.map((s) => s.expiresAt));
  }

  /** The earliest expiry of any session (epoch ms), or null when there is none. */
  async nextExpiry(): Promise<number | null> {
    const next = Math.min(...(await this.sessions()).map((s) => s.expiresAt));
    return Number.isFinite(next) ? next : null;
  }

  /** Every session of the account, of either kind (or of one). */
  private async sessions(kind?: SessionKind): Promise<(StoredSession & { kind: SessionKind })[]> {
    const kinds = kind ? [kind] : SESSION_KINDS;
    const lists = await Promise.all(kinds.map(async (k) => (await this.storage.listSessions(k)).map((s) => ({ ...s, kind: k }))));
    return lists.flat();
  }

  /** Removes the account with its tokens (MSAL's removeAccount) and every session of it. */
  private async endSignIn(record: AccountRecord | null): Promise<void> {
    if (record) {
      const client = await this.client();
      await client.removeAccount(this.accounts, { homeAccountId: record.account.home_account_id });
    }
    await this.storage.deleteAll();
  }

  private async endOldestSessions(kind: SessionKind): Promise<void> {
    const sessions = await this.sessions(kind);
    if (sessions.length <= MAX_SESSIONS_PER_ACCOUNT) return;
    // Every session of a kind lives equally long, so the earliest expiry is the oldest sign-in.
    sessions.sort((a, b) => a.expiresAt - b.expiresAt);
    await this.storage.deleteSessions(kind, sessions.slice(0, sessions.length - MAX_SESSIONS_PER_ACCOUNT).map((s) => s.sid));
  }

  private async isLive(session: SessionRef): Promise<boolean> {
    if (typeof session?.sid !== 'string' || session.sid.length > MAX_SESSION_ID_LENGTH || !SESSION_KINDS.includes(session.kind)) return false;
    const expiresAt = await this.storage.getSession(session.kind, session.sid);
    return expiresAt !== null && expiresAt > Date.now();
  }
}
