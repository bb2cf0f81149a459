/**
 * Authorities, of the kinds MSAL knows: an Entra tenant (GUID, domain name, or `common` /
 * `organizations` / `consumers`), Entra External ID (CIAM), Azure AD B2C with its user flow, AD FS, and
 * any OpenID provider. Each kind has its URL form, its discovery URL and its issuer rule. Entra-family
 * kinds are accepted only on Microsoft's hosts, hosts the deployment lists in KNOWN_AUTHORITY_HOSTS, or
 * loopback (development); anything else must say it is `oidc` or `adfs`. Fetching only: what is kept, and
 * for how long, is ProviderMetadataCache's job.
 */
import * as oauth from 'oauth4webapi';
import { CallerError, ClientConfigurationError, NetworkError } from '../errors.ts';
import { bodyReadError, bufferedResponse, isTimeout, MAX_DISCOVERY_BYTES, readProviderError, withDeadline } from './provider-http.ts';

export const AUTHORITY_TYPES = ['entra', 'ciam', 'b2c', 'adfs', 'oidc'] as const;
export type AuthorityType = (typeof AUTHORITY_TYPES)[number];

export interface Authority {
  type: AuthorityType;
  /** The authority URL without a trailing slash (B2C: with its user flow; CIAM: with its tenant). */
  url: string;
  /** MSAL's `environment`: the authority's host (with port when not default). */
  environment: string;
  /**
   * The tenant segment: Entra and CIAM `<guid>`, a domain, or `common`/`organizations`/`consumers`;
   * B2C the tenant (`contoso.onmicrosoft.com`); AD FS `adfs`; '' for plain OIDC, as MSAL's OIDC mode.
   */
  tenant: string;
  /** The issuer the discovery document must announce; a pattern for the kinds where `{tenantid}` varies. */
  issuer: string;
  /** True for `common`/`organizations`/`consumers`: no app tokens, issuer is a template. */
  multiTenant: boolean;
  /** http is accepted only for loopback hosts (local development and tests). */
  allowInsecure: boolean;
  /** B2C: the user flow (policy) as configured, e.g. `B2C_1_signupsignin`. */
  policy?: string;
}

const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);
const GUID_SOURCE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const GUID = new RegExp(`^${GUID_SOURCE}$`, 'i');
const DOMAIN = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$/i;
const TENANT_SEGMENT = new RegExp(`^(?:${GUID_SOURCE}|common|organizations|consumers|[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.[a-z]{2,})$`, 'i');
const POLICY = /^[A-Za-z0-9_.-]{1,128}$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Microsoft's sign-in hosts per cloud (public, US Government, China), as MSAL ships them. */
export const MICROSOFT_CLOUD_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoft.com',
  'login.windows.net',
  'sts.windows.net',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login.partner.microsoftonline.cn',
  'login.chinacloudapi.cn',
]);
const CIAM_SUFFIX = '.ciamlogin.com';
const B2C_SUFFIXES = ['.b2clogin.com', '.b2clogin.cn', '.b2clogin.us', '.b2clogin.de'];

export interface AuthorityOptions {
  /** AUTHORITY_TYPE: required for a host that is not Microsoft's (or listed, or loopback). */
  type?: AuthorityType;
  /** KNOWN_AUTHORITY_HOSTS: further hosts trusted to serve an Entra-family authority (custom domains). */
  knownHosts?: readonly string[];
  setting?: string;
}

/**
 * @throws ClientConfigurationError for a URL that is not an absolute https (or loopback http) URL, a URL
 *   that does not have its kind's form, an Entra-family kind on a host that is not trusted for it, or a
 *   host whose kind cannot be told (AUTHORITY_TYPE then says it).
 */
export function parseAuthority(input: string, options: AuthorityOptions = {}): Authority {
  const setting = options.setting ?? 'AUTHORITY';
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
  const host = url.hostname.toLowerCase();
  const segments = url.pathname.split('/').filter(Boolean);
  const known = MICROSOFT_CLOUD_HOSTS.has(host) || host.endsWith(CIAM_SUFFIX) || B2C_SUFFIXES.some((s) => host.endsWith(s));
  const listed = (options.knownHosts ?? []).some((h) => h.toLowerCase() === url.host.toLowerCase() || h.toLowerCase() === host);
  const type = options.type ?? inferType(host, segments, { listed, loopback: allowInsecure, setting });
  if (type !== 'oidc' && type !== 'adfs' && !known && !listed && !allowInsecure) {
    throw new ClientConfigurationError(
      setting,
      `is on ${url.host}, which is not a Microsoft sign-in host: list it in KNOWN_AUTHORITY_HOSTS to use it as ${type}, or set AUTHORITY_TYPE=oidc`,
    );
  }
  const common = { environment: url.host, allowInsecure };
  switch (type) {
    case 'entra':
    case 'ciam': {
      // CIAM without a path is its default tenant, `<subdomain>.onmicrosoft.com`, as MSAL completes it.
      if (type === 'ciam' && segments.length === 0 && host.endsWith(CIAM_SUFFIX)) segments.push(`${host.slice(0, -CIAM_SUFFIX.length)}.onmicrosoft.com`);
      if (segments.length !== 1 || !TENANT_SEGMENT.test(segments[0]!)) {
        throw new ClientConfigurationError(setting, `must be https://<host>/<tenant> for an ${type === 'ciam' ? 'External ID (ciam)' : 'Entra'} authority`);
      }
      const tenant = segments[0]!.toLowerCase();
      const multiTenant = type === 'entra' && MULTI_TENANT.has(tenant);
      if (type === 'ciam' && MULTI_TENANT.has(tenant)) throw new ClientConfigurationError(setting, 'names no External ID tenant');
      const base = `${url.origin}/${tenant}`;
      return { ...common, type, url: base, tenant, multiTenant, issuer: multiTenant ? `${url.origin}/{tenantid}/v2.0` : GUID.test(tenant) ? `${base}/v2.0` : `${url.origin}/{tenantid}/v2.0` };
    }
    case 'b2c': {
      // `…/tfp/<tenant>/<policy>` is B2C's older form of the same authority.
      const parts = segments[0]?.toLowerCase() === 'tfp' ? segments.slice(1) : segments;
      if (parts.length !== 2 || !(GUID.test(parts[0]!) || DOMAIN.test(parts[0]!)) || !POLICY.test(parts[1]!)) {
        throw new ClientConfigurationError(setting, 'must be https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<user flow> for a B2C authority');
      }
      const tenant = parts[0]!.toLowerCase();
      return { ...common, type, url: `${url.origin}/${tenant}/${parts[1]}`, tenant, policy: parts[1]!, multiTenant: false, issuer: `${url.origin}/{tenantid}/v2.0/` };
    }
    case 'adfs': {
      if (segments.length !== 1 || segments[0]!.toLowerCase() !== 'adfs') throw new ClientConfigurationError(setting, 'must be https://<host>/adfs for an AD FS authority');
      const base = `${url.origin}/adfs`;
      return { ...common, type, url: base, tenant: 'adfs', multiTenant: false, issuer: base };
    }
    case 'oidc': {
      const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
      return { ...common, type, url: base, tenant: '', multiTenant: false, issuer: base };
    }
  }
}

/**
 * The kind a URL's host and path tell: Microsoft's hosts are Entra, `*.ciamlogin.com` External ID,
 * `*.b2clogin.*` B2C. A listed or loopback host is B2C with two path segments, Entra with one that looks
 * like a tenant, and (loopback only) a plain OpenID provider otherwise. Any other host must be declared.
 */
function inferType(host: string, segments: string[], context: { listed: boolean; loopback: boolean; setting: string }): AuthorityType {
  if (MICROSOFT_CLOUD_HOSTS.has(host)) return segments.length === 2 || segments[0]?.toLowerCase() === 'tfp' ? 'b2c' : 'entra';
  if (host.endsWith(CIAM_SUFFIX)) return 'ciam';
  if (B2C_SUFFIXES.some((s) => host.endsWith(s))) return 'b2c';
  if (context.listed || context.loopback) {
    if (segments.length === 1 && segments[0]!.toLowerCase() === 'adfs') return 'adfs';
    if (segments.length === 1 && TENANT_SEGMENT.test(segments[0]!)) return 'entra';
    if (segments.length === 2 && (GUID.test(segments[0]!) || DOMAIN.test(segments[0]!)) && POLICY.test(segments[1]!) && /^b2c_/i.test(segments[1]!)) return 'b2c';
    if (context.loopback) return 'oidc';
  }
  throw new ClientConfigurationError(
    'AUTHORITY_TYPE',
    `is required for the authority host ${host}: oidc (any OpenID provider), adfs, or entra / ciam / b2c with the host in KNOWN_AUTHORITY_HOSTS`,
  );
}

/**
 * The same Entra authority for one tenant: a multi-tenant app mints app tokens in its customers'
 * tenants, one per request (MSAL's per-request `authority`). A single-tenant authority serves only its own.
 * @throws CallerError `invalid_request` for a tenant that is not a tenant id or domain name, or another
 *   tenant than a single-tenant authority's; for an authority that is not Entra's.
 */
export function authorityForTenant(authority: Authority, tenant: string): Authority {
  const wanted = tenant.toLowerCase();
  if (authority.type !== 'entra') throw new CallerError('invalid_request', `tenant cannot be chosen per request with a ${authority.type} authority`);
  if (!(GUID.test(wanted) || (DOMAIN.test(wanted) && wanted.length <= 253)) || MULTI_TENANT.has(wanted)) {
    throw new CallerError('invalid_request', 'tenant must be a tenant id (GUID) or a verified domain name');
  }
  if (!authority.multiTenant) {
    if (wanted === authority.tenant) return authority;
    throw new CallerError('invalid_request', 'tenant names another tenant than this single-tenant authority');
  }
  const origin = new URL(authority.url).origin;
  const url = `${origin}/${wanted}`;
  return { ...authority, url, tenant: wanted, multiTenant: false, issuer: GUID.test(wanted) ? `${url}/v2.0` : `${origin}/{tenantid}/v2.0` };
}

/**
 * Another user flow of the same B2C tenant (password reset, profile edit): the same authority with
 * that flow in place of the configured one.
 * @throws ClientConfigurationError naming `setting` for a flow name B2C would not accept, or an authority that is not B2C.
 */
export function authorityForUserFlow(authority: Authority, policy: string, setting: string): Authority {
  if (authority.type !== 'b2c') throw new ClientConfigurationError(setting, 'is only for a B2C authority (AUTHORITY_TYPE=b2c)');
  if (!POLICY.test(policy)) throw new ClientConfigurationError(setting, 'is not a user flow name such as B2C_1_passwordreset');
  return { ...authority, url: `${new URL(authority.url).origin}/${authority.tenant}/${policy}`, policy };
}

export function discoveryUrl(authority: Authority): string {
  // Microsoft's v2.0 endpoints publish their metadata under /v2.0; AD FS and plain OIDC at the issuer.
  const issuerBase = authority.type === 'adfs' || authority.type === 'oidc' ? authority.url : `${authority.url}/v2.0`;
  return `${issuerBase}/.well-known/openid-configuration`;
}

/**
 * Whether `issuer` is the one this authority's discovery document may announce:
 * - Entra by GUID, AD FS: exactly the authority's; plain OIDC: the authority's, with or without a trailing slash;
 * - Entra multi-tenant: Entra's `{tenantid}` template, literally (the real tenant is checked against `tid`);
 * - Entra by domain name: `<origin>/<guid>/v2.0`, whose GUID becomes the tenant;
 * - External ID: `https://<guid>.ciamlogin.com/<guid>/v2.0` (or at the authority's own origin), the GUID
 *   the tenant's when the authority names one;
 * - B2C: `<origin>/<guid>/v2.0/`, trailing slash included.
 */
export function issuerMatches(authority: Authority, issuer: unknown): boolean {
  if (typeof issuer !== 'string') return false;
  const origin = new URL(authority.url).origin;
  switch (authority.type) {
    case 'oidc':
      return issuer === authority.url || issuer === `${authority.url}/`;
    case 'adfs':
      return issuer === authority.url;
    case 'b2c':
      return new RegExp(`^${escapeRegExp(origin)}/${GUID_SOURCE}/v2\\.0/$`, 'i').test(issuer);
    case 'entra':
      if (authority.multiTenant) return issuer === authority.issuer;
      return GUID.test(authority.tenant) ? issuer === authority.issuer : new RegExp(`^${escapeRegExp(origin)}/${GUID_SOURCE}/v2\\.0$`, 'i').test(issuer);
    case 'ciam': {
      const match = new RegExp(`^https://(${GUID_SOURCE})\\.ciamlogin\\.com/(${GUID_SOURCE})/v2\\.0$`, 'i').exec(issuer);
      const guid = match && match[1]!.toLowerCase() === match[2]!.toLowerCase() ? match[1]!.toLowerCase() : tenantInIssuer(origin, issuer);
      return guid !== undefined && (!GUID.test(authority.tenant) || guid === authority.tenant);
    }
  }
}

/**
 * The tenant id of a single-tenant Entra-family authority once its metadata is known: the GUID it was
 * configured with, else the one in the issuer its discovery announced. Undefined for multi-tenant
 * authorities, AD FS and plain OIDC, which have none to check.
 */
export function tenantIdOf(authority: Authority, as: Pick<oauth.AuthorizationServer, 'issuer'>): string | undefined {
  if (authority.multiTenant || authority.type === 'adfs' || authority.type === 'oidc') return undefined;
  if (authority.type !== 'b2c' && GUID.test(authority.tenant)) return authority.tenant;
  return /\/([0-9a-f-]{36})\/v2\.0\/?$/i.exec(as.issuer)?.[1]?.toLowerCase();
}

function tenantInIssuer(origin: string, issuer: string): string | undefined {
  return new RegExp(`^${escapeRegExp(origin)}/(${GUID_SOURCE})/v2\\.0$`, 'i').exec(issuer)?.[1]?.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface DiscoveryOptions {
  fetch: typeof fetch;
  timeoutMs: number;
}

/**
 * The provider's metadata, checked against the authority: the issuer it announces must be one its kind
 * allows (issuerMatches), and it must name a token endpoint.
 * @throws NetworkError / ServerError when discovery fails or announces another issuer.
 */
export async function fetchDiscovery(authority: Authority, options: DiscoveryOptions): Promise<oauth.AuthorizationServer> {
  // Headers and body share the deadline, so a slow-dripping document ends as a timeout too.
  const response = await withDeadline(options.timeoutMs, (signal) => fetchDiscoveryDocument(authority, options, signal));
  try {
    // oauth4webapi compares the issuer with one expected URL; here it may be a pattern (a tenant id to
    // learn, Entra's `{tenantid}` template), so the document is read here and checked by the kind's rule.
    let metadata: oauth.AuthorizationServer;
    try {
      metadata = (await response.json()) as oauth.AuthorizationServer;
    } catch {
      throw new Error('it is not JSON');
    }
    if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) throw new Error('it is not a JSON object');
    if (!issuerMatches(authority, metadata.issuer)) throw new Error(`issuer ${String(metadata.issuer)} is not the ${authority.type} issuer of ${authority.url}`);
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
