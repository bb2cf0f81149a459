/**
 * The device code flow of lib (initiateDeviceFlow, pollDeviceFlow) inside workerd against the local
 * provider: the user completes the verification as a browser would (the provider's /devicelogin page,
 * the code, the confirmation, alice's login and consent), and the next poll signs alice in.
 */
import { beforeEach, expect, test } from 'vitest';
import { TokenCache } from '../../lib/cache/token-cache.ts';
import { ValidatedAssertions } from '../../lib/cache/validated-assertions.ts';
import { KeyedMutex, SingleFlight } from '../../lib/concurrency.ts';
import { parseClientSettings } from '../../lib/config.ts';
import { ServerError } from '../../lib/errors.ts';
import type { ClientContext } from '../../lib/flows/context.ts';
import { initiateDeviceFlow, pollDeviceFlow } from '../../lib/flows/device-code.ts';
import { ThrottlingCache } from '../../lib/oauth/provider-http.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { MemoryCacheStore, SEALING_SECRET } from '../lib/fakes.ts';
import { verifyAsUser } from '../support/device-user.ts';
import { idp, provider } from './harness.ts';

const SCOPES = ['api://downstream/read'];

async function context(): Promise<ClientContext> {
  const { client, sealingKey } = await parseClientSettings({
    AUTHORITY: idp.authority,
    CLIENT_ID: idp.webApp.clientId,
    CLIENT_SECRET: idp.webApp.clientSecret,
    TOKEN_CACHE_KEY: SEALING_SECRET,
    PROVIDER_RETRY_DELAY_MS: '0',
  });
  return {
    config: client,
    deps: { cache: new TokenCache(new MemoryCacheStore(), sealingKey), throttling: new ThrottlingCache(), metadata: new ProviderMetadataCache(), fetch: (i, init) => fetch(i, init), now: () => Date.now() },
    flights: new SingleFlight(),
    assertions: new ValidatedAssertions(),
    accountLocks: new KeyedMutex(),
  };
}

beforeEach(async () => {
  await provider.reset();
});

test('device code flow: pending until alice verifies at /devicelogin, then one poll signs her in', async () => {
  const ctx = await context();
  const flow = await initiateDeviceFlow(ctx, { scopes: SCOPES });
  expect(flow.verificationUri).toBe(`${idp.authority}/devicelogin`);
  expect(flow.message).toContain(flow.userCode);
  expect(flow.interval).toBe(5);
  expect(flow.expiresAt).toBeGreaterThan(Date.now() + 800_000);

  expect(await pollDeviceFlow(ctx, flow)).toEqual({ status: 'pending' });
  const page = await verifyAsUser(flow.verificationUri, flow.userCode);
  expect(page.status).toBe(200);
  expect(page.html).toMatch(/Sign-in Success/i);

  const done = await pollDeviceFlow(ctx, flow);
  if (done.status !== 'done') throw new Error(`expected done, got ${done.status}`);
  expect(done.result.account.username).toBe('alice@contoso.test');
  expect(done.result.account.tenantId).toBe(idp.tenants.primary);
  expect(done.result.account.homeAccountId).toBe(`${done.result.account.localAccountId}.${idp.tenants.primary}`);
  expect(done.result.scopes).toEqual(['api://downstream/read']);
  expect(done.record.refreshToken?.secret).toBeTruthy();
  expect(done.record.idTokenClaims.preferred_username).toBe('alice@contoso.test');
  const counts = await provider.counts();
  expect(counts.devicecode).toBe(1);
  expect(counts['token:device_code']).toBe(2);
});

test('device code flow: alice aborts at the confirmation page → access_denied', async () => {
  const ctx = await context();
  const flow = await initiateDeviceFlow(ctx, { scopes: SCOPES });
  await verifyAsUser(flow.verificationUri, flow.userCode, 'abort');
  const error = await pollDeviceFlow(ctx, flow).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ServerError);
  expect((error as ServerError).errorCode).toBe('access_denied');
  expect((error as ServerError).errorCodes).toEqual([70020]);
});

test('device code flow: the provider\'s slow_down is a status, its expired_token an error', async () => {
  const ctx = await context();
  const flow = await initiateDeviceFlow(ctx, { scopes: SCOPES });
  await provider.fault({ endpoint: 'token:device_code', kind: 'slow_down' });
  await provider.fault({ endpoint: 'token:device_code', kind: 'expired_token' });
  expect(await pollDeviceFlow(ctx, flow)).toEqual({ status: 'slow_down' });
  const error = await pollDeviceFlow(ctx, flow).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ServerError);
  expect((error as ServerError).errorCode).toBe('expired_token');
  expect(await pollDeviceFlow(ctx, flow)).toEqual({ status: 'pending' });
});
