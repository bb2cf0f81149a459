/**
 * AccountSessions over the ACCOUNTS Durable Object namespace: one object per home account id. Owns the
 * RPC: results and errors cross as data (rpc-result.ts) and the routes get values or AuthErrors.
 */
import type { AccountRecord, AuthenticationResult } from '../../lib/mod.ts';
import { interactionRequired, type AccountSessions, type NewSession, type SessionRef, type SessionTokenRequest } from '../sessions.ts';
import type { AccountObject } from './account-object.ts';
import { fromRpcResult, type RpcResult } from './rpc-result.ts';

export class DurableObjectAccountSessions implements AccountSessions {
  private readonly namespace: DurableObjectNamespace<AccountObject>;
  constructor(namespace: DurableObjectNamespace<AccountObject>) {
    this.namespace = namespace;
  }

  private stub(homeAccountId: string) {
    return this.namespace.get(this.namespace.idFromName(homeAccountId));
  }

  signIn(record: AccountRecord, session: NewSession) {
    return this.stub(record.account.home_account_id).signIn(record, session);
  }

  session(session: SessionRef) {
    return this.stub(session.hid).session(session);
  }

  async acquireTokenSilent(session: SessionRef, request: SessionTokenRequest): Promise<AuthenticationResult> {
    const outcome: RpcResult<AuthenticationResult> | null = await this.stub(session.hid).acquireTokenSilent(session, request);
    if (!outcome) throw interactionRequired('The session has ended');
    return fromRpcResult(outcome);
  }

  signOut(session: SessionRef) {
    return this.stub(session.hid).signOut(session);
  }

  endSession(session: SessionRef) {
    return this.stub(session.hid).endSession(session);
  }
}
