/** AccountSessions over the ACCOUNTS Durable Object namespace: one object per home account id. */
import type { AccountRecord, Settings } from '../../lib/mod.ts';
import type { AccountSessions, SessionCookie } from '../sessions.ts';
import type { AccountObject } from './account-object.ts';

export class DurableObjectAccountSessions implements AccountSessions {
  private readonly namespace: DurableObjectNamespace<AccountObject>;
  constructor(namespace: DurableObjectNamespace<AccountObject>) {
    this.namespace = namespace;
  }

  private stub(homeAccountId: string) {
    return this.namespace.get(this.namespace.idFromName(homeAccountId));
  }

  signIn(record: AccountRecord, ttlSeconds: number) {
    return this.stub(record.account.home_account_id).signIn(record, ttlSeconds);
  }

  session(session: SessionCookie) {
    return this.stub(session.hid).session(session.sid);
  }

  acquireTokenSilent(session: SessionCookie, settings: Settings, request: Parameters<AccountSessions['acquireTokenSilent']>[2]) {
    return this.stub(session.hid).acquireTokenSilent(settings, session.sid, request);
  }

  signOut(session: SessionCookie, settings: Settings) {
    return this.stub(session.hid).signOut(settings, session.sid);
  }
}
