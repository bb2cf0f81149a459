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
/** Byte limits on what the provider may send us: a token response is a few KiB, metadata tens of KiB. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
export const MAX_DISCOVERY_BYTES = 256 * 1024;
export const MAX_KEY_SET_BYTES = 256 * 1024;

/** A provider answer whose body is larger than its limit (the rest is never read). */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  readonly limit: number;
  constructor(limit: number) {
    super(`the answer is larger than ${limit / 1024} KiB`);
    this.limit = limit;
  }
}

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
    // One deadline for the headers and the body: a provider that answers at once but trickles its body
    // must not hold us longer than the timeout either.
    const outcome = await withDeadline(options.timeoutMs, (signal) => sendOnce(send, policy, options, signal, mayRetry));
    if (outcome !== RETRY) return outcome;
    await sleep(options.retryDelayMs);
  }
}

const RETRY = Symbol('retry');

async function sendOnce(
  send: (init: { signal: AbortSignal; headers: Headers }) => Promise<Response>,
  policy: TokenRequestPolicy,
  options: ProviderHttpOptions,
  signal: AbortSignal,
  mayRetry: boolean,
): Promise<Response | typeof RETRY> {
  let response: Response;
  try {
    response = await send({ signal, headers: requestHeaders(policy.correlationId) });
  } catch (cause) {
    // A timed-out request already cost the whole budget; only fast failures are worth retrying.
    if (isTimeout(cause)) {
      throw new NetworkError('request_timeout', `The identity provider did not answer within ${options.timeoutMs} ms`, policy.correlationId);
    }
    if (mayRetry) return RETRY;
    throw new NetworkError('network_error', 'The identity provider could not be reached', policy.correlationId);
  }
  if (response.ok) return await bufferTokenResponse(response, signal, policy.correlationId, options.timeoutMs);
  const error = await readProviderError(response, 'server_error', policy.correlationId, options.now(), signal);
  if (error.retryAfter !== undefined) {
    policy.throttling.record(policy.thumbprint, error, options.now());
    throw error;
  }
  if (response.status >= 500 && mayRetry) return RETRY;
  throw error;
}

/**
 * Runs `work` under a time budget: its signal aborts (as a TimeoutError) when the budget is spent.
 * Unlike AbortSignal.timeout, the timer is cancelled as soon as the work is done: a pending timer keeps
 * a Durable Object, and its isolate, alive for the whole budget after every provider call.
 */
export async function withDeadline<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The successful answer with its body read into memory, at most MAX_TOKEN_RESPONSE_BYTES and under the
 * request's timeout, as a new Response for oauth4webapi (which would otherwise read it unbounded).
 * @throws NetworkError `invalid_provider_response` (too large), `request_timeout`, `network_error`
 */
async function bufferTokenResponse(response: Response, signal: AbortSignal, correlationId: string, timeoutMs: number): Promise<Response> {
  try {
    return await bufferedResponse(response, MAX_TOKEN_RESPONSE_BYTES, signal);
  } catch (cause) {
    throw bodyReadError(cause, 'The token response', timeoutMs, correlationId);
  }
}

/** A failed bounded read as the NetworkError a caller sees (502 or 504), naming no content. */
export function bodyReadError(cause: unknown, what: string, timeoutMs: number, correlationId?: string): NetworkError {
  if (cause instanceof ResponseTooLargeError) return new NetworkError('invalid_provider_response', `${what} is larger than ${cause.limit / 1024} KiB`, correlationId);
  if (isTimeout(cause)) return new NetworkError('request_timeout', `${what} was not received within ${timeoutMs} ms`, correlationId);
  return new NetworkError('network_error', `${what} could not be read`, correlationId);
}

/** `response` with its body already read (bounded): status and headers kept, so parsers see the same answer. */
export async function bufferedResponse(response: Response, limit: number, signal?: AbortSignal): Promise<Response> {
  const body = await readBodyBounded(response, limit, signal);
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * Reads a body into memory, refusing more than `limit` bytes (an announced Content-Length over it is
 * refused before reading) and giving up when `signal` aborts, which a slow-dripping body otherwise
 * never triggers (a fake or a runtime may not tie the body stream to the request's signal).
 * @throws ResponseTooLargeError; the signal's reason (TimeoutError) when it aborts; stream errors.
 */
export async function readBodyBounded(response: Response, limit: number, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const announced = Number(response.headers.get('content-length'));
  if (Number.isFinite(announced) && announced > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(limit);
  }
  if (!response.body) return new Uint8Array(0);
  signal?.throwIfAborted();
  const reader = response.body.getReader();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw new ResponseTooLargeError(limit);
      chunks.push(value);
    }
  } catch (cause) {
    reader.cancel().catch(() => undefined);
    throw cause;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
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
export async function readProviderError(
  response: Response,
  fallbackError: string,
  correlationId?: string,
  now = Date.now(),
  signal?: AbortSignal,
): Promise<ServerError> {
  const fields = await readErrorBody(response, signal);
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

async function readErrorBody(response: Response, signal?: AbortSignal): Promise<Record<string, unknown>> {
  try {
    const text = new TextDecoder().decode(await readBodyBounded(response, MAX_ERROR_BODY_BYTES, signal));
    const json: unknown = JSON.parse(text);
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  } catch {
    return {};
  }
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
