/**
 * Authorities: an Entra tenant (`https://login.microsoftonline.com/<tenant>`) or any OIDC issuer, and
 * their discovery documents. Fetching only: what is kept, and for how long, is ProviderMetadataCache's job.
 */
import * as oauth from 'oauth4webapi';
import { ClientConfigurationError, NetworkError } from '../errors.ts';
import { bodyReadError, bufferedResponse, isTimeout, MAX_DISCOVERY_BYTES, readProviderError, withDeadline } from './provider-http.ts';

export type AuthorityType = 'entra' | 'oidc';

export interface Authority {
  type: AuthorityType;
  /** The authority URL without a trailing slash. */
  url: string;
  /** MSAL's `environment`: the authority's host (with port when not default). */
  environment: string;
  /** Entra tenant segment (`<guid>`, `organizations`, `common`, a domain); '' for plain OIDC, as MSAL's OIDC mode. */
  tenant: string;
  /** The issuer the discovery document must announce (Entra multi-tenant: the `{tenantid}` template). */
  issuer: string;
  /** True for `common`/`organizations`/`consumers`: no app tokens, issuer is a template. */
  multiTenant: boolean;
  /** http is accepted only for loopback hosts (local development and tests). */
  allowInsecure: boolean;
}

const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);
const TENANT_SEGMENT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|common|organizations|consumers|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})$/i;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * @param type `entra` or `oidc`; when omitted, a URL whose only path segment looks like an Entra
 *   tenant is Entra, anything else is a plain OIDC issuer.
 * @throws ClientConfigurationError for a URL that is not an absolute https (or loopback http) URL.
 */
export function parseAuthority(input: string, type?: AuthorityType, setting = 'AUTHORITY'): Authority {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ClientConfigurationError(setting, 'is not an absolute URL');
  }
  const allowInsecure = LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowInsecure)) {
    throw new ClientConfigurationError(setting, 'must use https (http is accepted for loopback hosts only)');
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ClientConfigurationError(setting, 'must not contain a query, fragment or credentials');
  }
  const path = url.pathname.replace(/\/+$/, '');
  const segments = path.split('/').filter(Boolean);
  const base = `${url.origin}${path}`;
  const looksEntra = segments.length === 1 && TENANT_SEGMENT.test(segments[0]!);
  const resolved = type ?? (looksEntra ? 'entra' : 'oidc');
  if (resolved === 'entra') {
    if (!looksEntra) throw new ClientConfigurationError(setting, 'must be https://<host>/<tenant> for an Entra authority');
    const tenant = segments[0]!.toLowerCase();
    const multiTenant = MULTI_TENANT.has(tenant);
    return {
      type: 'entra',
      url: base,
      environment: url.host,
      tenant,
      issuer: multiTenant ? `${url.origin}/{tenantid}/v2.0` : `${base}/v2.0`,
      multiTenant,
      allowInsecure,
    };
  }
  return { type: 'oidc', url: base, environment: url.host, tenant: '', issuer: base, multiTenant: false, allowInsecure };
}

export function discoveryUrl(authority: Authority): string {
  const issuerBase = authority.type === 'entra' ? `${authority.url}/v2.0` : authority.url;
  return `${issuerBase}/.well-known/openid-configuration`;
}

export interface DiscoveryOptions {
  fetch: typeof fetch;
  timeoutMs: number;
}

/**
 * The provider's metadata, checked against the authority: the issuer it announces must be the
 * authority's (Entra's multi-tenant template literally), and it must name a token endpoint.
 * @throws NetworkError / ServerError when discovery fails or announces another issuer.
 */
export async function fetchDiscovery(authority: Authority, options: DiscoveryOptions): Promise<oauth.AuthorizationServer> {
  // Headers and body share the deadline, so a slow-dripping document ends as a timeout too.
  const response = await withDeadline(options.timeoutMs, (signal) => fetchDiscoveryDocument(authority, options, signal));
  try {
    if (!authority.multiTenant) return await oauth.processDiscoveryResponse(new URL(authority.issuer), response);
    // Entra's multi-tenant documents announce the `{tenantid}` template, which is no URL and which
    // oauth4webapi cannot compare; it is checked literally here, the real tenant later against `tid`.
    const metadata = (await response.json()) as oauth.AuthorizationServer;
    if (metadata.issuer !== authority.issuer) throw new Error(`issuer ${String(metadata.issuer)} is not ${authority.issuer}`);
    if (typeof metadata.token_endpoint !== 'string') throw new Error('token_endpoint is missing');
    return metadata;
  } catch (cause) {
    throw new NetworkError('invalid_provider_response', `Discovery document of ${authority.url} is invalid: ${(cause as Error).message}`);
  }
}

/** The discovery document's bytes (bounded), as a Response to process. */
async function fetchDiscoveryDocument(authority: Authority, options: DiscoveryOptions, signal: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await options.fetch(discoveryUrl(authority), {
      headers: { accept: 'application/json' },
      signal,
      // Workers refuse 'error'; with 'manual' a redirect is a non-2xx answer and fails below.
      redirect: 'manual',
    });
  } catch (cause) {
    throw new NetworkError(
      isTimeout(cause) ? 'request_timeout' : 'network_error',
      `Discovery of ${authority.url} failed: ${isTimeout(cause) ? 'timed out' : 'provider unreachable'}`,
    );
  }
  if (!response.ok) throw await readProviderError(response, 'endpoints_resolution_error', undefined, Date.now(), signal);
  try {
    return await bufferedResponse(response, MAX_DISCOVERY_BYTES, signal);
  } catch (cause) {
    throw bodyReadError(cause, `Discovery document of ${authority.url}`, options.timeoutMs);
  }
}
