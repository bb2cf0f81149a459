/**
 * What an isolate remembers about providers: discovery documents (a day) and signing key sets (jose's
 * remote JWKS: refetched at most once a minute for an unknown `kid`). Injected like the throttling
 * cache, so each client — and each test — decides how widely it is shared; bounded so that many
 * authorities cannot grow it without limit.
 */
import * as jose from 'jose';
import type * as oauth from 'oauth4webapi';
import { fetchDiscovery, discoveryUrl, type Authority, type DiscoveryOptions } from './authority.ts';
import { bufferedResponse, MAX_KEY_SET_BYTES, ResponseTooLargeError } from './provider-http.ts';

const DISCOVERY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY_REFETCH_COOLDOWN_MS = 60_000;
const KEY_SET_MAX_AGE_MS = 10 * 60_000;

/** The keys a JWT of this provider may be signed with, as jose's verify functions take them. */
export type KeySet = jose.JWTVerifyGetKey;

export class ProviderMetadataCache {
  private readonly discovered = new Map<string, { at: number; metadata: Promise<oauth.AuthorizationServer> }>();
  private readonly keySets = new Map<string, KeySet>();
  private readonly maxEntries: number;

  constructor(maxEntries = 100) {
    this.maxEntries = maxEntries;
  }

  /**
   * The provider's metadata, fetched at most once a day; concurrent callers share one request and a
   * failure is not kept.
   * @throws NetworkError / ServerError when discovery fails or announces another issuer.
   */
  authorizationServer(authority: Authority, options: DiscoveryOptions, now: number): Promise<oauth.AuthorizationServer> {
    const url = discoveryUrl(authority);
    const hit = this.discovered.get(url);
    if (hit && now - hit.at < DISCOVERY_TTL_MS) return hit.metadata;
    const metadata = fetchDiscovery(authority, options);
    bounded(this.discovered, this.maxEntries).set(url, { at: now, metadata });
    metadata.catch(() => {
      if (this.discovered.get(url)?.metadata === metadata) this.discovered.delete(url);
    });
    return metadata;
  }

  keySet(jwksUri: string, options: DiscoveryOptions): KeySet {
    let keySet = this.keySets.get(jwksUri);
    if (!keySet) {
      keySet = jose.createRemoteJWKSet(new URL(jwksUri), {
        cooldownDuration: KEY_REFETCH_COOLDOWN_MS,
        cacheMaxAge: KEY_SET_MAX_AGE_MS,
        timeoutDuration: options.timeoutMs,
        [jose.customFetch]: (url, init) => fetchKeySet(options.fetch, url, init),
      });
      bounded(this.keySets, this.maxEntries).set(jwksUri, keySet);
    }
    return keySet;
  }
}

/**
 * jose's key-set fetch with the body read bounded, under jose's own timeout signal (a slow drip ends in
 * jose's JWKSTimeout). A failure leaves jose's key set as it was: nothing half-read is ever used.
 */
async function fetchKeySet(fetchImpl: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  const response = await fetchImpl(url, init);
  if (response.status !== 200) return response;
  try {
    return await bufferedResponse(response, MAX_KEY_SET_BYTES, init.signal ?? undefined);
  } catch (cause) {
    if (cause instanceof ResponseTooLargeError) throw new jose.errors.JOSEError(`The JSON Web Key Set HTTP response is larger than ${MAX_KEY_SET_BYTES / 1024} KiB`);
    throw cause;
  }
}

function bounded<K, V>(map: Map<K, V>, maxEntries: number): Map<K, V> {
  if (map.size >= maxEntries) map.delete(map.keys().next().value!);
  return map;
}
