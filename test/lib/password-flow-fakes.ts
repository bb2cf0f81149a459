/** A fake Entra tenant for the user sign-in flows: discovery, its signing keys and a scripted token endpoint. */
import * as jose from 'jose';
import { TokenCache } from '../../lib/cache/token-cache.ts';
import { KeyedMutex, SingleFlight } from '../../lib/concurrency.ts';
import { ValidatedAssertions } from '../../lib/cache/validated-assertions.ts';
import { parseClientSettings } from '../../lib/config.ts';
import type { ClientContext } from '../../lib/flows/context.ts';
import { ThrottlingCache } from '../../lib/oauth/provider-http.ts';
import { ProviderMetadataCache } from '../../lib/oauth/provider-metadata.ts';
import { MemoryCacheStore, SEALING_SECRET, jsonResponse } from './fakes.ts';

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`;
export const CLIENT_ID = 'app';
export const OID = '4b1c6a52-7e3f-4d28-9f0a-1c2d3e4f5a61';
export const CLIENT_INFO = btoa(JSON.stringify({ uid: OID, utid: TENANT })).replace(/=+$/, '');

export async function fakeTenant(settings: Record<string, string> = {}) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const forms: URLSearchParams[] = [];
  const answers: (() => Response | Promise<Response>)[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (request.url.endsWith('/.well-known/openid-configuration')) {
      return jsonResponse({ issuer: `${AUTHORITY}/v2.0`, token_endpoint: `${AUTHORITY}/oauth2/v2.0/token`, jwks_uri: `${AUTHORITY}/discovery/v2.0/keys` });
    }
    if (request.url.endsWith('/discovery/v2.0/keys')) return jsonResponse({ keys: [jwk] });
    forms.push(new URLSearchParams(await request.text()));
    const answer = answers.shift();
    if (!answer) throw new Error('unexpected token request');
    return answer();
  }) as typeof globalThis.fetch;
  const { client, sealingKey } = await parseClientSettings({ AUTHORITY, CLIENT_ID, CLIENT_SECRET: 's', CLIENT_SECRET_METHOD: 'post', TOKEN_CACHE_KEY: SEALING_SECRET, PROVIDER_RETRY_DELAY_MS: '0', ...settings });
  const store = new MemoryCacheStore();
  const ctx: ClientContext = {
    config: client,
    deps: { cache: new TokenCache(store, sealingKey), throttling: new ThrottlingCache(), metadata: new ProviderMetadataCache(), fetch, now: () => Date.now() },
    flights: new SingleFlight(),
    assertions: new ValidatedAssertions(),
    accountLocks: new KeyedMutex(),
  };
  const idToken = (claims: Record<string, unknown> = {}) =>
    new jose.SignJWT({ tid: TENANT, oid: OID, preferred_username: 'alice@contoso.test', name: 'Alice', ver: '2.0', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(`${AUTHORITY}/v2.0`)
      .setSubject('sub-alice')
      .setAudience(CLIENT_ID)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  const tokens = async (extra: Record<string, unknown> = {}) =>
    jsonResponse({
      access_token: 'at-1',
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      scope: 'api://a/read',
      refresh_token: 'rt-2',
      id_token: await idToken(),
      client_info: CLIENT_INFO,
      ...extra,
    });
  return { ctx, store, forms, answers, idToken, tokens };
}

export function entraError(error: string, code: number, description: string, extra: Record<string, unknown> = {}): Response {
  return jsonResponse({ error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], ...extra }, 400);
}
