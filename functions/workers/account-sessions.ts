/**
 * AccountSessions over the ACCOUNTS Durable Object namespace: one object per home account id. Owns the
 * RPC: results and errors cross as data (rpc-result.ts) and the routes get values or AuthErrors.
 */
import type { AccountRecord, AuthenticationResult } from '../../lib/mod.ts';
import { interactionRequired, type AccountSessions, type SessionCookie, type SessionTokenRequest } from '../sessions.ts';
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

  signIn(record: AccountRecord, ttlSeconds: number) {
    return this.stub(record.account.home_account_id).signIn(record, ttlSeconds);
  }

  session(session: SessionCookie) {
    return this.stub(session.hid).session(session.sid);
  }

  async acquireTokenSilent(session: SessionCookie, request: SessionTokenRequest): Promise<AuthenticationResult> {
    const outcome: RpcResult<AuthenticationResult> | null = await this.stub(session.hid).acquireTokenSilent(session.sid, request);
    if (!outcome) throw interactionRequired('The session has ended');
    return fromRpcResult(outcome);
  }

  signOut(session: SessionCookie) {
    return this.stub(session.hid).signOut(session.sid);
  }
}
