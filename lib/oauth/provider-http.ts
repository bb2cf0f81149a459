/**
 * Talking to the provider's token endpoint: bounded timeout, one retry for idempotent grants, the
 * throttling cache (MSAL's ThrottlingUtils), correlation ids, and Entra-shaped error parsing.
 * I/O only through the `fetch` it is given; the clock comes from `now`.
 */
import { NetworkError, ServerError, ThrottlingError, type ProviderErrorFields } from '../errors.ts';

export interface ProviderHttpOptions {
  timeoutMs: number;
  /** Back-off before the single retry (MSAL.NET waits 1 s). */
  retryDelayMs: number;
  now: () => number;
}

/** Retry-After defaults and cap, as msal-common's ThrottlingConstants. */
export const DEFAULT_THROTTLE_SECONDS = 60;
export const MAX_THROTTLE_SECONDS = 3600;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

interface Throttle {
  until: number;
  status: number;
  fields: ProviderErrorFields;
}

/**
 * Requests the provider throttled, by request thumbprint (authority, client, grant, scopes). Per isolate,
 * like MSAL's; bounded so that a flood of distinct thumbprints cannot grow it without limit.
 */
export class ThrottlingCache {
  private readonly entries = new Map<string, Throttle>();
  private readonly maxEntries: number;
  constructor(maxEntries = 1000) {
    this.maxEntries = maxEntries;
  }

  check(thumbprint: string, now: number): void {
    const entry = this.entries.get(thumbprint);
    if (!entry) return;
    if (entry.until <= now) {
      this.entries.delete(thumbprint);
      return;
    }
    throw new ThrottlingError(entry.fields, entry.status, Math.ceil((entry.until - now) / 1000));
  }

  record(thumbprint: string, error: ServerError, now: number): void {
    if (error.retryAfter === undefined) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(thumbprint, {
      until: now + error.retryAfter * 1000,
      status: error.providerStatus,
      fields: error.fields,
    });
  }
}

export interface TokenRequestPolicy {
  /** Retry once after a 5xx or a network failure. Never for an authorization-code redemption. */
  retry: boolean;
  thumbprint: string;
  throttling: ThrottlingCache;
  correlationId: string;
}

/**
 * Sends `send` (a token-endpoint request built by oauth4webapi) under the policy, and returns the
 * provider's successful Response for the caller to process.
 * @throws ThrottlingError before any I/O while a Retry-After for the same request is running
 * @throws ServerError for an error answer; NetworkError for timeouts and unreachable providers
 */
export async function sendTokenRequest(
  send: (init: { signal: AbortSignal; headers: Headers }) => Promise<Response>,
  policy: TokenRequestPolicy,
  options: ProviderHttpOptions,
): Promise<Response> {
  policy.throttling.check(policy.thumbprint, options.now());
  for (let attempt = 0; ; attempt++) {
    const mayRetry = policy.retry && attempt === 0;
    let response: Response;
    try {
      response = await send({ signal: AbortSignal.timeout(options.timeoutMs), headers: requestHeaders(policy.correlationId) });
    } catch (cause) {
      // A timed-out request already cost the whole budget; only fast failures are worth retrying.
      if (isTimeout(cause)) {
        throw new NetworkError('request_timeout', `The identity provider did not answer within ${options.timeoutMs} ms`, policy.correlationId);
      }
      if (mayRetry) {
        await sleep(options.retryDelayMs);
        continue;
      }
      throw new NetworkError('network_error', 'The identity provider could not be reached', policy.correlationId);
    }
    if (response.ok) return response;
    const error = await readProviderError(response, 'server_error', policy.correlationId, options.now());
    if (error.retryAfter !== undefined) {
      policy.throttling.record(policy.thumbprint, error, options.now());
      throw error;
    }
    if (response.status >= 500 && mayRetry) {
      await sleep(options.retryDelayMs);
      continue;
    }
    throw error;
  }
}

function requestHeaders(correlationId: string): Headers {
  return new Headers({
    'client-request-id': correlationId,
    'return-client-request-id': 'true',
    // Tells Entra we honour Retry-After, as MSAL does.
    'x-ms-lib-capability': 'retry-after, h429',
    'x-client-sku': 'edge-token-functions',
  });
}

/**
 * Turns a non-2xx answer into a ServerError with Entra's fields; a body that is not JSON still yields
 * an error naming the HTTP status. `Retry-After` is kept for 429, and for any status that sends it.
 */
export async function readProviderError(response: Response, fallbackError: string, correlationId?: string, now = Date.now()): Promise<ServerError> {
  const fields = await readErrorBody(response);
  const retryAfter = parseRetryAfter(response, now);
  const error: ProviderErrorFields = {
    error: typeof fields.error === 'string' && fields.error ? fields.error : fallbackError,
    error_description:
      typeof fields.error_description === 'string' ? fields.error_description : `The identity provider answered HTTP ${response.status}`,
    correlation_id:
      (typeof fields.correlation_id === 'string' ? fields.correlation_id : undefined) ??
      response.headers.get('client-request-id') ??
      correlationId,
  };
  if (Array.isArray(fields.error_codes) && fields.error_codes.every((c) => typeof c === 'number')) error.error_codes = fields.error_codes;
  for (const name of ['suberror', 'claims', 'trace_id', 'timestamp'] as const) {
    if (typeof fields[name] === 'string') error[name] = fields[name];
  }
  return new ServerError(error, response.status, retryAfter);
}

async function readErrorBody(response: Response): Promise<Record<string, unknown>> {
  try {
    const text = await readBounded(response, MAX_ERROR_BODY_BYTES);
    const json: unknown = JSON.parse(text);
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

async function readBounded(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error('error body too large');
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

function parseRetryAfter(response: Response, now: number): number | undefined {
  const header = response.headers.get('retry-after');
  if (header === null) return response.status === 429 ? DEFAULT_THROTTLE_SECONDS : undefined;
  let seconds = Number(header);
  if (!Number.isFinite(seconds)) {
    const date = Date.parse(header);
    seconds = Number.isNaN(date) ? DEFAULT_THROTTLE_SECONDS : Math.ceil((date - now) / 1000);
  }
  return Math.min(Math.max(Math.ceil(seconds), 1), MAX_THROTTLE_SECONDS);
}

/** An abort from our own timeout signal: fetch reports it as TimeoutError, some runtimes as AbortError. */
export function isTimeout(cause: unknown): boolean {
  return cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
