/**
 * The password grant and the refresh-token import (lib/flows/password.ts, refresh-token-import.ts) in
 * workerd against the local provider: real ID token signatures, a real refresh token, Entra's errors.
 */
import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../lib/cache/token-cache.ts';
import { ValidatedAssertions } from '../../lib/cache/validated-assertions.ts';
import { KeyedMutex, SingleFlight } from '../../lib/concurrency.ts';
import { parseClientSettings } from '../../lib/config.ts';
import { InteractionRequiredError, ServerError } from '../../lib/errors.ts';
import type { ClientContext } from '../../lib/flows/context.ts';
import { acquireTokenByUsernamePassword } from '../../lib/flows/password.ts';
import { acquireTokenByRefreshToken } from '../../lib/flows/refresh-token-import.ts';
import { ThrottlingCache } from '../../lib/oauth/provider-http.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { MemoryCacheStore, SEALING_SECRET } from '../lib/fakes.ts';
import { idp, jwtPayload, provider } from './harness.ts';

const ALICE = { username: 'alice@contoso.test', password: 'alice-password', oid: '4b1c6a52-7e3f-4d28-9f0a-1c2d3e4f5a61' };

async function context(settings: Record<string, string> = {}): Promise<ClientContext> {
  const { client, sealingKey } = await parseClientSettings({
    AUTHORITY: idp.authority,
    CLIENT_ID: idp.webApp.clientId,
    CLIENT_SECRET: idp.webApp.clientSecret,
    TOKEN_CACHE_KEY: SEALING_SECRET,
    ...settings,
  });
  return {
    config: client,
    deps: { cache: new TokenCache(new MemoryCacheStore(), sealingKey), throttling: new ThrottlingCache(), metadata: new ProviderMetadataCache(), fetch: (input, init) => fetch(input, init), now: () => Date.now() },
    flights: new SingleFlight(),
    assertions: new ValidatedAssertions(),
    accountLocks: new KeyedMutex(),
  };
}

describe('password grant and refresh-token import against the local provider', () => {
  it('signs Alice in with her password: account, validated ID token, refresh token, cached access token', async () => {
    await provider.reset();
    const ctx = await context();
    const { result, record } = await acquireTokenByUsernamePassword(ctx, { ...ALICE, scopes: ['api://downstream/read'] });
    const tenant = idp.tenants.primary;
    expect(result.account).toMatchObject({ homeAccountId: `${ALICE.oid}.${tenant}`, tenantId: tenant, username: ALICE.username, localAccountId: ALICE.oid });
    expect(result.idTokenClaims).toMatchObject({ aud: idp.webApp.clientId, tid: tenant, oid: ALICE.oid, preferred_username: ALICE.username });
    expect(result.idTokenClaims.nonce).toBeUndefined();
    expect(jwtPayload(result.accessToken)).toMatchObject({ aud: 'api://downstream', scp: 'read', oid: ALICE.oid, tid: tenant });
    expect(record.refreshToken?.secret).toBeTruthy();
    expect(JSON.stringify(record)).not.toContain(ALICE.password);
    expect((await provider.counts())['token:password']).toBe(1);

    // The refresh token works with the normal refresh grant: imported elsewhere, redeemed once and rotated.
    const imported = await acquireTokenByRefreshToken(await context(), { refreshToken: record.refreshToken!.secret, scopes: ['api://downstream/read'] });
    expect(imported.result.account.homeAccountId).toBe(result.account.homeAccountId);
    expect(imported.record.refreshToken?.secret).toBeTruthy();
    expect(imported.record.refreshToken?.secret).not.toBe(record.refreshToken!.secret);
    // The rotated-away token is dead (the provider revokes the grant on reuse): interaction required.
    await expect(acquireTokenByRefreshToken(await context(), { refreshToken: record.refreshToken!.secret, scopes: ['api://downstream/read'] })).rejects.toBeInstanceOf(
      InteractionRequiredError,
    );
  });

  it('a wrong password is ServerError invalid_grant AADSTS50126 (not interaction required), without the password in it', async () => {
    const error = await acquireTokenByUsernamePassword(await context(), { ...ALICE, password: 'wrong-Secret-42', scopes: ['api://downstream/read'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).not.toBeInstanceOf(InteractionRequiredError);
    expect((error as ServerError).errorCode).toBe('invalid_grant');
    expect((error as ServerError).errorCodes).toEqual([50126]);
    expect((error as ServerError).providerStatus).toBe(400);
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain('wrong-Secret-42');
  });

  it('a user of a tenant outside ALLOWED_TENANTS is refused with access_denied', async () => {
    const ctx = await context({ ALLOWED_TENANTS: idp.tenants.secondary });
    await expect(acquireTokenByUsernamePassword(ctx, { ...ALICE, scopes: ['api://downstream/read'] })).rejects.toMatchObject({ errorCode: 'access_denied' });
  });
});
