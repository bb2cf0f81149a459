/**
 * AccountSessions over Deno KV, for any number of processes sharing one KV: each account's record and
 * sessions live under ['accounts', <home account id>], and account-sessions-core.ts does the rest. The
 * refresh token is serialised by the client's account lock, which on Deno is a lease in the same KV
 * (kv-lease.ts), so the client passed here must be built with `accountLocks: new DenoKvLease(kv)`.
 *
 *   ['accounts', hid, 'record']                 → { record, until }  until = the latest session's expiry
 *   ['accounts', hid, 'session', kind, sid]     → expiry (epoch ms)
 *
 * Every entry has `expireIn`: sessions leave when they expire, and the record with the last of them.
 */
import type { AccountRecord, AuthenticationResult, ConfidentialClientApplication } from '../../lib/mod.ts';
import { AccountSessionsCore, type AccountSessionStorage, type StoredSession } from '../account-sessions-core.ts';
import { interactionRequired, type AccountSessions, type NewSession, type SessionKind, type SessionRef, type SessionTokenRequest } from '../sessions.ts';
import { whenNotBusy } from './kv-busy.ts';

interface StoredRecord {
  record: AccountRecord;
  /** Epoch ms: the latest expiry of any session opened for it. */
  until: number;
}

/** Deletions per atomic operation (Deno KV allows 1000 mutations in one). */
const DELETE_BATCH = 100;

/** One account's storage in Deno KV. Expiry is checked on read as well: KV removes expired entries late. */
export class DenoKvAccountStorage implements AccountSessionStorage {
  private readonly kv: Deno.Kv;
  private readonly base: Deno.KvKey;

  constructor(kv: Deno.Kv, homeAccountId: string) {
    this.kv = kv;
    this.base = ['accounts', homeAccountId];
  }

  private get recordKey(): Deno.KvKey {
    return [...this.base, 'record'];
  }

  private sessionKey(kind: SessionKind, sid: string): Deno.KvKey {
    return [...this.base, 'session', kind, sid];
  }

  async getRecord(): Promise<AccountRecord | null> {
    const { value } = await this.kv.get<StoredRecord>(this.recordKey);
    return value && value.until > Date.now() ? value.record : null;
  }

  async putRecord(record: AccountRecord): Promise<void> {
    // A record with no session yet lives a minute: putSession, which follows, extends it.
    await this.writeRecord((current) => ({ record, until: Math.max(current?.until ?? 0, Date.now() + 60_000) }));
  }

  async updateRecord(record: AccountRecord): Promise<boolean> {
    let present = false;
    await this.writeRecord((current) => {
      present = current !== null && current.until > Date.now();
      return present ? { record, until: current!.until } : null;
    });
    return present;
  }

  async getSession(kind: SessionKind, sid: string): Promise<number | null> {
    return (await this.kv.get<number>(this.sessionKey(kind, sid))).value;
  }

  async putSession(kind: SessionKind, sid: string, expiresAt: number): Promise<void> {
    const expireIn = Math.max(1, expiresAt - Date.now());
    for (;;) {
      const entry = await this.kv.get<StoredRecord>(this.recordKey);
      const write = () => {
        const op = this.kv.atomic().check(entry).set(this.sessionKey(kind, sid), expiresAt, { expireIn });
        // The record lives as long as its longest session.
        if (entry.value && entry.value.until < expiresAt) op.set(this.recordKey, { ...entry.value, until: expiresAt }, { expireIn });
        return op.commit();
      };
      if ((await whenNotBusy(write)).ok) return;
    }
  }

  async listSessions(kind: SessionKind): Promise<StoredSession[]> {
    const sessions: StoredSession[] = [];
    for await (const entry of this.kv.list<number>({ prefix: [...this.base, 'session', kind] })) {
      sessions.push({ sid: String(entry.key.at(-1)), expiresAt: entry.value });
    }
    return sessions;
  }

  async deleteSessions(kind: SessionKind, sids: readonly string[]): Promise<void> {
    await this.deleteKeys(sids.map((sid) => this.sessionKey(kind, sid)));
  }

  async deleteAll(): Promise<void> {
    const keys: Deno.KvKey[] = [];
    for await (const entry of this.kv.list({ prefix: this.base })) keys.push(entry.key);
    await this.deleteKeys(keys);
  }

  private async deleteKeys(keys: readonly Deno.KvKey[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      await whenNotBusy(() => {
        const op = this.kv.atomic();
        for (const key of batch) op.delete(key);
        return op.commit();
      });
    }
  }

  /** Read, decide, write only if unchanged meanwhile (else again); `next` returning null writes nothing. */
  private async writeRecord(next: (current: StoredRecord | null) => StoredRecord | null): Promise<void> {
    for (;;) {
      const entry = await this.kv.get<StoredRecord>(this.recordKey);
      const value = next(entry.value);
      if (value === null) return;
      const expireIn = Math.max(1, value.until - Date.now());
      if ((await whenNotBusy(() => this.kv.atomic().check(entry).set(this.recordKey, value, { expireIn }).commit())).ok) return;
    }
  }
}

/** The Deno entry's AccountSessions: one core per call, over the account's storage and the process's one client. */
export class DenoKvAccountSessions implements AccountSessions {
  private readonly kv: Deno.Kv;
  private readonly client: () => Promise<ConfidentialClientApplication>;

  constructor(kv: Deno.Kv, client: () => Promise<ConfidentialClientApplication>) {
    this.kv = kv;
    this.client = client;
  }

  private core(homeAccountId: string): AccountSessionsCore {
    // Deno keeps the process alive for pending promises: background renewals need no waitUntil.
    return new AccountSessionsCore({ storage: new DenoKvAccountStorage(this.kv, homeAccountId), client: this.client });
  }

  signIn(record: AccountRecord, session: NewSession): Promise<string> {
    return this.core(record.account.home_account_id).signIn(record, session);
  }

  session(session: SessionRef) {
    return this.core(session.hid).session(session);
  }

  async acquireTokenSilent(session: SessionRef, request: SessionTokenRequest): Promise<AuthenticationResult> {
    const result = await this.core(session.hid).acquireTokenSilent(session, request);
    if (!result) throw interactionRequired('The session has ended');
    return result;
  }

  signOut(session: SessionRef) {
    return this.core(session.hid).signOut(session);
  }

  endSession(session: SessionRef) {
    return this.core(session.hid).endSession(session);
  }
}
