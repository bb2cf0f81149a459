/** MSAL's account operations over an account store: list the cached accounts, remove one with its tokens. */
import { accountInfo, type AccountInfo, type AccountRecord } from '../account.ts';
import type { AccountStore } from '../storage/ports.ts';
import type { ClientContext } from './context.ts';

/** MSAL's getAccounts: every cached account, or those whose username matches (case-insensitive). */
export async function getAccounts(store: AccountStore<AccountRecord>, filter: { username?: string } = {}): Promise<AccountInfo[]> {
  const records = await store.list();
  const wanted = filter.username?.toLowerCase();
  return records.filter((r) => wanted === undefined || r.account.username.toLowerCase() === wanted).map((r) => accountInfo(r.account));
}

/** MSAL's removeAccount: the account, its ID and refresh tokens, and its access tokens in the cache. */
export async function removeAccount(ctx: ClientContext, store: AccountStore<AccountRecord>, account: Pick<AccountInfo, 'homeAccountId'>): Promise<void> {
  const record = await store.get(account.homeAccountId);
  if (!record) return;
  await store.delete(account.homeAccountId);
  await Promise.all(
    record.accessTokenTargets.map((target) =>
      ctx.deps.cache.removeAccessToken({
        homeAccountId: record.account.home_account_id,
        environment: record.account.environment,
        clientId: ctx.config.clientId,
        realm: record.account.realm,
        target,
      }),
    ),
  );
}
