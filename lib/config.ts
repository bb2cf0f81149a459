/**
 * Turns the deployment's settings (env vars / secrets, all strings) into a typed client configuration,
 * once. Each problem names the setting and never echoes its value.
 */
import { ClientConfigurationError } from './errors.ts';
import { deriveSealingKey } from './cache/seal.ts';
import { AUTHORITY_TYPES, parseAuthority, type Authority, type AuthorityType } from './oauth/authority.ts';
import { parseAllowedTenants, type TenantAllowList } from './tenants.ts';
import { importCertificateKey, parseThumbprint, type AssertionAlgorithm, type ClientCredential } from './oauth/client-auth.ts';

export type Settings = Record<string, unknown>;

/** Who this client is and how it talks to its provider. */
export interface ConfidentialClientConfig {
  authority: Authority;
  clientId: string;
  credential: ClientCredential;
  /** Bound on every provider request (Workers' fetch has no timeout of its own). */
  timeoutMs: number;
  /** Back-off before the single retry of an idempotent grant. */
  retryDelayMs: number;
  /** Tenants whose users may sign in; required with a multi-tenant authority (tenants.ts). */
  allowedTenants?: TenantAllowList;
  /** This app as an API (on-behalf-of): the audiences its callers' tokens carry, and the scope they need. */
  api: { audiences: readonly string[]; scope: string | undefined };
}

export interface ParsedClientSettings {
  client: ConfidentialClientConfig;
  sealingKey: CryptoKey;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;

export function requireSetting(settings: Settings, name: string): string {
  const value = settings[name];
  if (typeof value !== 'string' || value.trim() === '') throw new ClientConfigurationError(name, 'is missing');
  return value.trim();
}

export function optionalSetting(settings: Settings, name: string): string | undefined {
  const value = settings[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ClientConfigurationError(name, 'must be a string');
  return value.trim() === '' ? undefined : value.trim();
}

export function integerSetting(settings: Settings, name: string, fallback: number, min: number, max: number): number {
  const raw = optionalSetting(settings, name);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ClientConfigurationError(name, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * @throws ClientConfigurationError for the first missing or invalid setting.
 */
export async function parseClientSettings(settings: Settings): Promise<ParsedClientSettings> {
  const typeSetting = optionalSetting(settings, 'AUTHORITY_TYPE')?.toLowerCase();
  if (typeSetting !== undefined && !(AUTHORITY_TYPES as readonly string[]).includes(typeSetting)) {
    throw new ClientConfigurationError('AUTHORITY_TYPE', `must be one of ${AUTHORITY_TYPES.join(', ')}`);
  }
  const knownHosts = (optionalSetting(settings, 'KNOWN_AUTHORITY_HOSTS') ?? '').split(/[\s,]+/).filter(Boolean);
  const authority = parseAuthority(requireSetting(settings, 'AUTHORITY'), { ...(typeSetting ? { type: typeSetting as AuthorityType } : {}), knownHosts });
  const clientId = requireSetting(settings, 'CLIENT_ID');
  const credential = await parseCredential(settings);
  const sealingKey = await deriveSealingKey(requireSetting(settings, 'TOKEN_CACHE_KEY'));
  const allowedTenants = parseAllowedTenants(optionalSetting(settings, 'ALLOWED_TENANTS'));
  return {
    client: {
      authority,
      clientId,
      credential,
      timeoutMs: integerSetting(settings, 'PROVIDER_TIMEOUT_MS', DEFAULT_TIMEOUT_MS, 100, 60_000),
      retryDelayMs: integerSetting(settings, 'PROVIDER_RETRY_DELAY_MS', DEFAULT_RETRY_DELAY_MS, 0, 10_000),
      ...(allowedTenants ? { allowedTenants } : {}),
      api: {
        // Entra puts either form in `aud`, depending on the token version the API accepts.
        audiences: (optionalSetting(settings, 'API_AUDIENCES') ?? `api://${clientId},${clientId}`).split(/[\s,]+/).filter(Boolean),
        scope: optionalSetting(settings, 'API_SCOPE'),
      },
    },
    sealingKey,
  };
}

async function parseCredential(settings: Settings): Promise<ClientCredential> {
  const secret = optionalSetting(settings, 'CLIENT_SECRET');
  const certificate = optionalSetting(settings, 'CLIENT_CERTIFICATE');
  if (secret && certificate) {
    throw new ClientConfigurationError('CLIENT_SECRET', 'and CLIENT_CERTIFICATE are both set; set exactly one');
  }
  if (certificate) {
    const algorithm = optionalSetting(settings, 'CLIENT_CERTIFICATE_ALGORITHM') ?? 'PS256';
    if (algorithm !== 'PS256' && algorithm !== 'RS256') {
      throw new ClientConfigurationError('CLIENT_CERTIFICATE_ALGORITHM', 'must be PS256 or RS256');
    }
    return {
      kind: 'certificate',
      privateKey: await importCertificateKey(certificate, algorithm as AssertionAlgorithm),
      thumbprint: parseThumbprint(requireSetting(settings, 'CLIENT_CERTIFICATE_THUMBPRINT')),
    };
  }
  if (secret) {
    const method = optionalSetting(settings, 'CLIENT_SECRET_METHOD') ?? 'basic';
    if (method !== 'basic' && method !== 'post') throw new ClientConfigurationError('CLIENT_SECRET_METHOD', 'must be basic or post');
    return { kind: 'secret', secret, method };
  }
  throw new ClientConfigurationError('CLIENT_SECRET', 'is missing (set CLIENT_SECRET, or CLIENT_CERTIFICATE and CLIENT_CERTIFICATE_THUMBPRINT)');
}
