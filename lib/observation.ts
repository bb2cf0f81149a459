/**
 * What the client tells an observer about its calls to the provider, for logs and metrics kept outside
 * lib: one event per HTTP request (each attempt of a retried one), carrying the endpoint's kind, the
 * grant, the status and the time, and nothing else — no URL, header, body, token or credential.
 * No I/O of its own: it wraps the `fetch` the client was given; time comes from `performance.now()`.
 */

/** Which provider endpoint a call went to. */
export type ProviderEndpoint = 'token' | 'device_authorization' | 'discovery' | 'keys';

export interface ProviderCall {
  /**
   * The request this call was made for (the `client-request-id` it carried, or the correlation id the
   * flow was given); absent for calls no single request owns (a key set shared by every request).
   */
  correlationId?: string;
  endpoint: ProviderEndpoint;
  /** Token endpoint only: the grant (`client_credentials`, `refresh_token`, `jwt-bearer`, …). */
  grant?: string;
  /** The answer's HTTP status; 0 when none came (timeout, unreachable). */
  status: number;
  /** Milliseconds until the answer's headers arrived, or the call failed. */
  ms: number;
  /** A later attempt of the same request (the one retry after a 5xx or a network failure). */
  retried?: true;
  /** The provider asked us to back off: a 429, or any answer with `Retry-After`. */
  throttled?: true;
}

/** Receives the client's provider calls (ClientOptions.observer). */
export interface ProviderObserver {
  /** Called once per call, when its answer's headers arrive or it fails; whatever it throws is ignored. */
  providerCall(call: ProviderCall): void;
}

/** What the wrapper knows of the calls it makes, before they are made. */
export interface CallDescription {
  endpoint: ProviderEndpoint;
  grant?: string;
  correlationId?: string;
  /** A device authorization request goes through the token endpoint's plumbing: told apart by its URL. */
  deviceAuthorizationEndpoint?: string;
}

/**
 * `fetchImpl` reporting each call to `observer`. A call's correlation id is the `client-request-id` it
 * sends when it sends one (token-endpoint requests always do), else the description's. A token-endpoint
 * wrapper serves one request (flows/context.ts `tokenEndpoint`), so its second call is a retry; a key
 * set keeps its wrapper for good, and its refetches are not.
 */
export function observedFetch(fetchImpl: typeof fetch, observer: ProviderObserver, description: CallDescription): typeof fetch {
  let attempts = 0;
  const retries = description.endpoint === 'token';
  return async (input, init) => {
    const started = performance.now();
    const request = typeof input === 'string' || input instanceof URL ? undefined : input;
    const url = request ? request.url : String(input);
    const correlationId = new Headers(init?.headers ?? request?.headers).get('client-request-id') ?? description.correlationId;
    const call: ProviderCall = {
      ...(correlationId ? { correlationId } : {}),
      endpoint: url === description.deviceAuthorizationEndpoint ? 'device_authorization' : description.endpoint,
      ...(description.grant && url !== description.deviceAuthorizationEndpoint ? { grant: description.grant } : {}),
      status: 0,
      ms: 0,
      ...(retries && attempts++ > 0 ? { retried: true as const } : {}),
    };
    try {
      const response = await fetchImpl(input, init);
      call.status = response.status;
      if (response.status === 429 || response.headers.has('retry-after')) call.throttled = true;
      return response;
    } finally {
      call.ms = Math.round((performance.now() - started) * 10) / 10;
      try {
        observer.providerCall(call);
      } catch {
        // An observer's failure is never the request's.
      }
    }
  };
}
