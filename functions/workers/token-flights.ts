/**
 * FleetFlights over the TOKEN_FLIGHTS Durable Object namespace: one object per token cache key
 * (`idFromName(storage key)`, token-flight-object.ts). The isolates' side of the fleet's single flight:
 * a miss asks the key's object and waits at most REACH_TIMEOUT_MS for each answer (a "pending" answer
 * is asked again, up to MAX_WAIT_MS in all). An object that does not answer in time, or fails, is passed
 * by: the isolate asks the provider itself (availability first), and the fallback is counted and logged.
 */
import { env as workerEnv } from 'cloudflare:workers';
import type { AuthenticationResult, FleetFlights, FleetTokenRequest, Settings } from '../../lib/mod.ts';
import { sameSettings, settingsFingerprint, type TokenFlightAnswer, type TokenFlightCall } from '../token-flight-core.ts';
import { fromRpcResult, type RpcResult } from './rpc-result.ts';
import type { TokenFlightObject } from './token-flight-object.ts';

/** How long an isolate waits for the object's answer (the object answers within ANSWER_WITHIN_MS). */
export const REACH_TIMEOUT_MS = 2_000;
/** How long it keeps asking while the object's provider request runs (the provider's own timeout is shorter). */
export const MAX_WAIT_MS = 60_000;

/** Per isolate: misses answered by an object, misses the isolate took to the provider itself, and why. */
export interface TokenFlightStats {
  viaObject: number;
  fallbacks: number;
  /** The isolate ran with other settings than the deployment's (the object refused it): not a fallback. */
  notThisClient: number;
}

/** This isolate's counts (what the simulation reads; a metrics sink could too). */
export const tokenFlightStats: TokenFlightStats = { viaObject: 0, fallbacks: 0, notThisClient: 0 };

export interface TokenFlightsOptions {
  reachTimeoutMs?: number;
  maxWaitMs?: number;
  stats?: TokenFlightStats;
}

/** The part of an object stub this adapter calls. */
interface FlightStub {
  acquire(call: TokenFlightCall): Promise<TokenFlightAnswer>;
}

export class DurableObjectTokenFlights implements FleetFlights<AuthenticationResult> {
  private readonly namespace: DurableObjectNamespace<TokenFlightObject>;
  private readonly fingerprint: Promise<string>;
  private readonly reachTimeoutMs: number;
  private readonly maxWaitMs: number;
  readonly stats: TokenFlightStats;

  /** @param settings the settings of the client this serves: the object refuses any but the deployment's own. */
  constructor(namespace: DurableObjectNamespace<TokenFlightObject>, settings: Settings, options: TokenFlightsOptions = {}) {
    this.namespace = namespace;
    this.fingerprint = settingsFingerprint(settings);
    this.reachTimeoutMs = options.reachTimeoutMs ?? REACH_TIMEOUT_MS;
    this.maxWaitMs = options.maxWaitMs ?? MAX_WAIT_MS;
    this.stats = options.stats ?? tokenFlightStats;
  }

  async acquire(key: string, request: FleetTokenRequest, local: () => Promise<AuthenticationResult>): Promise<AuthenticationResult> {
    const call: TokenFlightCall = { fingerprint: await this.fingerprint, request };
    const deadline = Date.now() + this.maxWaitMs;
    let stub: FlightStub;
    try {
      stub = this.namespace.get(this.namespace.idFromName(key)) as unknown as FlightStub;
    } catch (error) {
      return this.fallback(local, error);
    }
    for (;;) {
      let answer: TokenFlightAnswer;
      try {
        answer = await withinBound(stub.acquire(call), this.reachTimeoutMs);
      } catch (error) {
        return this.fallback(local, error);
      }
      if (answer.status === 'done') {
        this.stats.viaObject++;
        return fromRpcResult(answer.result as RpcResult<AuthenticationResult>);
      }
      if (answer.status === 'not_this_client') {
        this.stats.notThisClient++;
        return local();
      }
      if (Date.now() >= deadline) return this.fallback(local, new Error('still pending'));
    }
  }

  private fallback(local: () => Promise<AuthenticationResult>, cause: unknown): Promise<AuthenticationResult> {
    this.stats.fallbacks++;
    // The error's name only: what reached us from the runtime is not ours to copy into logs.
    const reason = cause instanceof BoundExceeded ? 'timeout' : cause instanceof Error ? cause.name : 'unknown';
    console.warn(JSON.stringify({ message: 'token flight object not reached: asking the provider from this isolate', reason }));
    return local();
  }
}

class BoundExceeded extends Error {
  override name = 'BoundExceeded';
}

/** `work`, or a BoundExceeded rejection after `ms` (the work goes on; its outcome is ignored). */
function withinBound<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BoundExceeded(`no answer within ${ms} ms`)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, bound]).finally(() => clearTimeout(timer));
}

const adapters = new WeakMap<object, DurableObjectTokenFlights>();
/** Per env object (the runtime hands an isolate the same one for every request): decided once. */
const decided = new WeakMap<object, DurableObjectTokenFlights | null>();

/**
 * The fleet's flights for a request served with the deployment's own settings (the Worker's bindings,
 * which are also the objects'); undefined without a TOKEN_FLIGHTS binding, or for an env that carries
 * other settings (tests that pass their own): the object would refuse it anyway.
 */
export function tokenFlightsFor(requestEnv: Settings & { TOKEN_FLIGHTS?: DurableObjectNamespace<TokenFlightObject> }): DurableObjectTokenFlights | undefined {
  const known = decided.get(requestEnv);
  if (known !== undefined) return known ?? undefined;
  const namespace = requestEnv.TOKEN_FLIGHTS;
  let adapter: DurableObjectTokenFlights | null = null;
  if (namespace && sameSettings(requestEnv, workerEnv as unknown as Settings)) {
    adapter = adapters.get(namespace) ?? new DurableObjectTokenFlights(namespace, requestEnv);
    adapters.set(namespace, adapter);
  }
  decided.set(requestEnv, adapter);
  return adapter ?? undefined;
}
