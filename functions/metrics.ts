/**
 * Metrics: the facts of each request's log line (request-log.ts) as one data point, where the runtime
 * has somewhere to write them. The port is runtime-free; its one adapter writes Workers Analytics Engine
 * data points through the dataset binding's `writeDataPoint` (typed here by its shape, so nothing below
 * names a Workers type). Without a binding there is no Metrics and nothing is written.
 */

/** One request, as its log line describes it: no path, query, header, body, token or user. */
export interface RequestFacts {
  method: string;
  /** The matched route pattern (`/token/client`, `/auth/*` for an unknown path under /auth). */
  route: string;
  /** The token flow the route serves, when it serves one (`client_credentials`, `silent`, …). */
  flow?: string;
  status: number;
  durationMs: number;
  /** For an answer with a token: from the cache, or from the provider. */
  tokenSource?: 'cache' | 'identity_provider';
  /** Calls to the provider made for this request, and their summed time. */
  providerCalls: number;
  providerMs: number;
  /** Of those, refresh token redemptions. */
  refreshes: number;
  /** The error's code, when the answer is an error. */
  error?: string;
  /** The answer passes on the provider's throttling (its Retry-After, or our throttling state for it). */
  throttled: boolean;
}

export interface Metrics {
  /** Records one request; never throws, never waits. */
  write(request: RequestFacts): void;
}

/** The one method of a Workers Analytics Engine dataset binding that metrics need. */
export interface DataPointWriter {
  writeDataPoint(point: { indexes?: (string | null)[]; blobs?: (string | null)[]; doubles?: number[] }): void;
}

/**
 * Analytics Engine's layout of a request (the README's "Logs and metrics" has the SQL):
 *
 *   index1  route (the sampling key)
 *   blob1   route            blob2  flow ('' if none)      blob3  method
 *   blob4   token_source ('' | 'cache' | 'identity_provider')   blob5  error code ('' if none)
 *   double1 status           double2 duration ms           double3 provider calls
 *   double4 provider ms      double5 cache hit (1 | 0)     double6 throttled (1 | 0)
 *   double7 refreshes
 *
 * Append new fields at the end: queries name blobs and doubles by position.
 */
export function analyticsEngineMetrics(dataset: DataPointWriter): Metrics {
  return {
    write(request) {
      dataset.writeDataPoint({
        indexes: [request.route],
        blobs: [request.route, request.flow ?? '', request.method, request.tokenSource ?? '', request.error ?? ''],
        doubles: [
          request.status,
          request.durationMs,
          request.providerCalls,
          request.providerMs,
          request.tokenSource === 'cache' ? 1 : 0,
          request.throttled ? 1 : 0,
          request.refreshes,
        ],
      });
    },
  };
}
