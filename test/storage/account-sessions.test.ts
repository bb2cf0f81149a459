/**
 * The per-account storage of account-sessions-core.ts, and the core over each adapter: the record and
 * its two kinds of sessions, a refresh that never brings back a removed account, the per-kind bound,
 * sign-out, the last session taking the account, and the collection of expired sessions. Memory
 * everywhere; Deno KV under deno test; an AccountObject's own storage in workerd.
 */
import { AccountSessionsCore, MAX_SESSIONS_PER_ACCOUNT, type AccountSessionStorage } from '../../functions/account-sessions-core.ts';
import type { SessionRef } from '../../functions/sessions.ts';
import { assert, assertEquals, test } from '../lib/spec.ts';
import { HOME, accountRecord, client } from './accounts.ts';
import { sleep, storageAdapters } from './adapters.ts';

const { accountStorages } = await storageAdapters();

function core(storage: AccountSessionStorage): AccountSessionsCore {
  return new AccountSessionsCore({ storage, client: () => client() });
}

const sids = async (storage: AccountSessionStorage, kind: 'browser' | 'device') => (await storage.listSessions(kind)).map((s) => s.sid).sort();

for (const adapter of accountStorages) {
  const name = (what: string) => `AccountSessionStorage [${adapter.name}]: ${what}`;

  test(name('a record is stored and read back; updateRecord replaces it only while there is one'), () =>
    adapter.use(async (storage) => {
      assertEquals(await storage.getRecord(), null);
      assertEquals(await storage.updateRecord(accountRecord()), false);
      assertEquals(await storage.getRecord(), null, 'an update creates nothing');
      await storage.putRecord(accountRecord());
      assertEquals(await storage.getRecord(), accountRecord());
      const rotated = accountRecord({}, 'rt-1');
      assertEquals(await storage.updateRecord(rotated), true);
      assertEquals((await storage.getRecord())?.refreshToken?.secret, 'rt-1');
    }));

  test(name('sessions are kept per kind, listed by kind and deleted by id'), () =>
    adapter.use(async (storage) => {
      const expiry = Date.now() + 3600_000;
      await storage.putSession('browser', 'b1', expiry);
      await storage.putSession('browser', 'b2', expiry + 1);
      await storage.putSession('device', 'b1', expiry + 2);
      assertEquals(await storage.getSession('browser', 'b2'), expiry + 1);
      assertEquals(await storage.getSession('device', 'b1'), expiry + 2);
      assertEquals(await storage.getSession('device', 'b2'), null);
      assertEquals(await sids(storage, 'browser'), ['b1', 'b2']);
      assertEquals(await sids(storage, 'device'), ['b1']);
      await storage.deleteSessions('browser', ['b1', 'unknown']);
      assertEquals(await sids(storage, 'browser'), ['b2']);
      assertEquals(await sids(storage, 'device'), ['b1'], 'the same id of the other kind stays');
    }));

  test(name('deleteAll removes the record and every session; a late refresh brings nothing back'), () =>
    adapter.use(async (storage) => {
      await storage.putRecord(accountRecord());
      await storage.putSession('browser', 's', Date.now() + 3600_000);
      await storage.putSession('device', 'd', Date.now() + 3600_000);
      await storage.deleteAll();
      assertEquals([await storage.getRecord(), await sids(storage, 'browser'), await sids(storage, 'device')], [null, [], []]);
      assertEquals(await storage.updateRecord(accountRecord({}, 'rt-late')), false);
      assertEquals(await storage.getRecord(), null);
    }));

  const coreName = (what: string) => `AccountSessionsCore [${adapter.name}]: ${what}`;

  test(coreName('signIn opens a live session showing the account; a new sign-in keeps the token targets'), () =>
    adapter.use(async (storage) => {
      const sessions = core(storage);
      const sid = await sessions.signIn(accountRecord({ accessTokenTargets: ['api://a/read'] }), { kind: 'browser', ttlSeconds: 3600 });
      assert(sid.length > 40, 'an unguessable id');
      const view = await sessions.session({ hid: HOME, sid, kind: 'browser' });
      assertEquals(view?.account.homeAccountId, HOME);
      assertEquals(view?.claims, { name: 'Alice', preferred_username: 'alice@contoso.test', oid: 'oid-1', tid: accountRecord().account.realm });
      assertEquals(await sessions.session({ hid: HOME, sid, kind: 'device' }), null, 'a session is of one kind');
      await sessions.signIn(accountRecord({ accessTokenTargets: ['api://b/read'] }), { kind: 'device', ttlSeconds: 3600, keyHash: 'key-hash' });
      assertEquals((await storage.getRecord())?.accessTokenTargets, ['api://a/read', 'api://b/read']);
      assert((await sessions.session({ hid: HOME, sid: 'key-hash', kind: 'device' })) !== null, 'a key session by its hash');
    }));

  test(coreName(`each kind keeps at most ${MAX_SESSIONS_PER_ACCOUNT} sessions: the oldest of that kind ends`), () =>
    adapter.use(async (storage) => {
      const sessions = core(storage);
      const browser = await sessions.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 });
      for (let i = 0; i <= MAX_SESSIONS_PER_ACCOUNT; i++) {
        await sessions.signIn(accountRecord(), { kind: 'device', ttlSeconds: 7200 + i, keyHash: `hash-${String(i).padStart(2, '0')}` });
      }
      const devices = await sids(storage, 'device');
      assertEquals(devices.length, MAX_SESSIONS_PER_ACCOUNT);
      assert(!devices.includes('hash-00'), 'the oldest key ended');
      assert((await sessions.session({ hid: HOME, sid: browser, kind: 'browser' })) !== null, 'the browser session stays');
    }));

  test(coreName('endSession ends one session; the last one takes the account with it'), () =>
    adapter.use(async (storage) => {
      const sessions = core(storage);
      const a: SessionRef = { hid: HOME, sid: await sessions.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 }), kind: 'browser' };
      const b: SessionRef = { hid: HOME, sid: await sessions.signIn(accountRecord(), { kind: 'device', ttlSeconds: 3600, keyHash: 'k' }), kind: 'device' };
      assertEquals(await sessions.endSession(b), true);
      assertEquals(await sessions.endSession(b), false, 'not live any more');
      assert((await sessions.session(a)) !== null, 'the other session stays');
      assert((await storage.getRecord()) !== null, 'and so does the account');
      assertEquals(await sessions.endSession(a), true);
      assertEquals(await storage.getRecord(), null);
    }));

  test(coreName('signOut ends every session and removes the account, answering its ID token'), () =>
    adapter.use(async (storage) => {
      const sessions = core(storage);
      const a: SessionRef = { hid: HOME, sid: await sessions.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 }), kind: 'browser' };
      const b: SessionRef = { hid: HOME, sid: await sessions.signIn(accountRecord(), { kind: 'device', ttlSeconds: 3600, keyHash: 'k' }), kind: 'device' };
      assertEquals(await sessions.signOut(a), { idToken: 'id-token-1' });
      assertEquals([await sessions.session(a), await sessions.session(b), await storage.getRecord()], [null, null, null]);
      assertEquals(await sessions.signOut(a), {}, 'a second sign-out finds nothing');
      assertEquals(await sessions.acquireTokenSilent(b, { scopes: ['api://a/read'], correlationId: 'c' }), null);
    }));

  test(coreName('an expired session is not live; collection deletes it, and the account with the last one'), () =>
    adapter.use(async (storage) => {
      const sessions = core(storage);
      const short: SessionRef = { hid: HOME, sid: await sessions.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 0.1 }), kind: 'browser' };
      const long: SessionRef = { hid: HOME, sid: await sessions.signIn(accountRecord(), { kind: 'browser', ttlSeconds: 3600 }), kind: 'browser' };
      await sleep(200);
      assertEquals(await sessions.session(short), null);
      const next = await sessions.collectExpired();
      assert(next !== null && next > Date.now() + 3500_000, `the next expiry is the long session's (${next})`);
      assertEquals(await sids(storage, 'browser'), [long.sid]);
      assertEquals(await sessions.collectExpired(Date.now() + 3601_000), null);
      assertEquals([await storage.getRecord(), await sids(storage, 'browser')], [null, []]);
    }));

  test(coreName('a session id that is too long, or of no known kind, is never live'), () =>
    adapter.use(async (storage) => {
      const sessions = core(storage);
      await sessions.signIn(accountRecord(), { kind: 'device', ttlSeconds: 3600, keyHash: 'x'.repeat(101) });
      assertEquals(await sessions.session({ hid: HOME, sid: 'x'.repeat(101), kind: 'device' }), null);
      assertEquals(await sessions.session({ hid: HOME, sid: 'x', kind: 'admin' as 'device' }), null);
    }));
}
