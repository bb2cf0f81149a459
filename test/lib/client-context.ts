/** A flow context over a fake provider: what the flows get from a ConfidentialClientApplication, built by hand. */
import { TokenCache } from '../../lib/cache/token-cache.ts';
import { ValidatedAssertions } from '../../lib/cache/validated-assertions.ts';
import { KeyedMutex, SingleFlight } from '../../lib/concurrency.ts';
import { parseClientSettings, type Settings } from '../../lib/config.ts';
import type { ClientContext } from '../../lib/flows/context.ts';
import { ThrottlingCache } from '../../lib/oauth/provider-http.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { MemoryCacheStore, SEALING_SECRET } from './fakes.ts';

/** @param settings AUTHORITY and CLIENT_ID at least; a secret, the sealing key and no retry delay are added. */
export async function clientContext(settings: Settings, fetch: typeof globalThis.fetch, clock: { now: number }): Promise<{ ctx: ClientContext; store: MemoryCacheStore }> {
  const { client, sealingKey } = await parseClientSettings({ CLIENT_SECRET: 's', TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_RETRY_DELAY_MS: '0', ...settings });
  const store = new MemoryCacheStore();
  const ctx: ClientContext = {
    config: client,
    deps: { cache: new TokenCache(store, sealingKey), throttling: new ThrottlingCache(), metadata: new ProviderMetadataCache(), fetch, now: () => clock.now },
    flights: new SingleFlight(),
    assertions: new ValidatedAssertions(),
    accountLocks: new KeyedMutex(),
  };
  return { ctx, store };
}
