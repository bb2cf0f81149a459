/**
 * The runtime-free core of a token flight: the coordinator of one token cache key for the whole fleet
 * (workers/token-flight-object.ts keeps its state and alarm; workers/token-flights.ts is the isolates'
 * side). What crosses between them, what the coordinator keeps, how it answers a call, when its alarm
 * renews the token, and how long it keeps an on-behalf-of assertion. Pure: times are passed in.
 */
import { EXPIRY_SKEW_SECONDS, base64url, fleetRenewalAt, sha256, utf8, type AuthenticationResult, type FleetTokenRequest, type SerializedAuthError, type Settings } from '../lib/mod.ts';
import { SETTING_NAMES } from './deps.ts';

/** An isolate's call: its client's settings (as a digest), and the token it asks for. */
export interface TokenFlightCall {
  fingerprint: string;
  request: FleetTokenRequest;
}

/**
 * The coordinator's answer, always within ANSWER_WITHIN_MS: the token or the provider's error; "pending"
 * (its provider request is still running: call again); or "not this client" (the isolate runs with other
 * settings than the coordinator, whose client is built from the deployment's own: ask the provider yourself).
 */
export type TokenFlightAnswer = { status: 'done'; result: TokenFlightResult } | { status: 'pending' } | { status: 'not_this_client' };

/** The token, or the provider's error as data (classes do not cross RPC; workers/rpc-result.ts rebuilds it). */
export type TokenFlightResult = { ok: true; value: AuthenticationResult } | { ok: false; error: SerializedAuthError };

/** A call is answered within this; a caller waits at most REACH_TIMEOUT_MS (token-flights.ts) for each. */
export const ANSWER_WITHIN_MS = 1_000;

/** The request as the coordinator keeps it: no correlation id, and an assertion only while kept. */
export type KeptRequest =
  | { grant: 'client_credentials'; scopes: string[]; tenant?: string }
  | { grant: 'on_behalf_of'; scopes: string[]; userAssertion?: string };

/**
 * What the coordinator keeps between calls and alarms. Plain data: it is stored (an evicted object goes on
 * where it was, without asking its client or the provider). Times are epoch ms.
 */
export interface TokenFlightState {
  request: KeptRequest;
  /** The current token, as handed to callers. */
  token: AuthenticationResult;
  /** When the current token was asked for. */
  fetchedAt: number;
  /** When it is renewed (fleetRenewalAt), and when it stops being served (MSAL's 5-minute window). */
  renewAt: number;
  usableUntil: number;
  /** The last call that found a token to give (an isolate's miss after the token arrived, or its renewal). */
  lastUse?: number;
  /** On-behalf-of: the kept assertion's `exp`. */
  assertionExpiresAt?: number;
}

/** A provider's Retry-After, honoured for every caller of the key until `until`. */
export interface Throttle {
  until: number;
  error: SerializedAuthError;
}

/**
 * A key is in use when a call found a token to give since a minute before its current token was asked
 * for. Hits never reach the coordinator, so the evidence of use it gets is each isolate's one renewal per
 * token (and the misses of isolates that start, or lost the token from memory); a fixed window of a few
 * minutes would see none of them while the token is fresh. The cold burst that made it fetch the token
 * does not count: a key asked for once is left to expire.
 */
export const IN_USE_SLACK_MS = 60_000;

export function inUse(state: TokenFlightState): boolean {
  return state.lastUse !== undefined && state.lastUse >= state.fetchedAt - IN_USE_SLACK_MS;
}

/**
 * A renewal asked for by an isolate whose clock is a little ahead is honoured this much before the
 * coordinator's own renewal point.
 */
export const RENEWAL_TOLERANCE_MS = 10_000;

/** When an alarm's renewal fails (not throttled), it tries again after this, while the token is still usable. */
export const ALARM_RETRY_MS = 30_000;

/**
 * How a call is answered: with the current token; with it while it is renewed behind the answer; after
 * its renewal (an isolate's background renewal may wait); or after the provider request every waiter shares.
 */
export type CallDecision = 'answer' | 'answer-and-renew' | 'renew-and-wait' | 'fetch';

export function decideCall(current: TokenFlightState | undefined, renewal: boolean, now: number): CallDecision {
  if (!current || now >= current.usableUntil) return 'fetch';
  if (now < current.renewAt - (renewal ? RENEWAL_TOLERANCE_MS : 0)) return 'answer';
  return renewal ? 'renew-and-wait' : 'answer-and-renew';
}

export type AlarmDecision = { action: 'later'; at: number } | { action: 'stop' } | { action: 'renew' };

/**
 * The alarm: renew the token of a key in use at its renewal point; let an unused key's token expire and
 * forget the key (no further alarm); wait out a Retry-After; never renew on-behalf-of without a kept,
 * unexpired assertion.
 */
export function decideAlarm(state: TokenFlightState | undefined, throttle: Throttle | undefined, now: number): AlarmDecision {
  if (throttle && throttle.until > now) return { action: 'later', at: throttle.until };
  if (!state) return { action: 'stop' };
  if (now < state.renewAt - 1_000) return { action: 'later', at: state.renewAt };
  if (state.request.grant === 'on_behalf_of' && !(state.request.userAssertion && (state.assertionExpiresAt ?? 0) > now)) return { action: 'stop' };
  return inUse(state) ? { action: 'renew' } : { action: 'stop' };
}

/** After an alarm's renewal failed (not throttled): try again shortly while the token is usable, else stop. */
export function afterFailedRenewal(state: TokenFlightState, now: number): AlarmDecision {
  return state.usableUntil > now + ALARM_RETRY_MS ? { action: 'later', at: now + ALARM_RETRY_MS } : { action: 'stop' };
}

/**
 * The state after a token arrived (asked for at `fetchedAt`, or read from the cache). The use seen so far is kept (`inUse`
 * judges it against the new token). An on-behalf-of assertion is kept only if it is still valid at the
 * token's renewal point (`assertionExpiresAt`, the assertion's `exp`): it is then needed to renew ahead,
 * and the alarm that renews or forgets the key comes before it expires. Otherwise it is dropped now.
 */
export function afterFetch(
  previous: TokenFlightState | undefined,
  request: FleetTokenRequest,
  result: AuthenticationResult,
  fetchedAt: number,
  assertionExpiresAt?: number,
): TokenFlightState {
  const usableUntil = (result.expiresOn - EXPIRY_SKEW_SECONDS) * 1000;
  // The same token read back from the cache (an evicted object): still the one fetched then.
  if (previous && result.tokenSource === 'cache' && previous.usableUntil === usableUntil) fetchedAt = previous.fetchedAt;
  const renewAt = fleetRenewalAt({ cachedAt: fetchedAt / 1000, expiresOn: result.expiresOn, refreshOn: result.refreshOn }) * 1000;
  const token = { ...result, tokenSource: 'cache' as const };
  const state: TokenFlightState = { request: keptRequest(request, renewAt, assertionExpiresAt), token, fetchedAt, renewAt, usableUntil };
  if (previous?.lastUse !== undefined) state.lastUse = previous.lastUse;
  if (state.request.grant === 'on_behalf_of' && state.request.userAssertion !== undefined) state.assertionExpiresAt = assertionExpiresAt!;
  return state;
}

function keptRequest(request: FleetTokenRequest, renewAt: number, assertionExpiresAt: number | undefined): KeptRequest {
  if (request.grant === 'client_credentials') return { grant: request.grant, scopes: request.scopes, ...(request.tenant !== undefined ? { tenant: request.tenant } : {}) };
  const kept = assertionExpiresAt !== undefined && assertionExpiresAt > renewAt;
  return { grant: request.grant, scopes: request.scopes, ...(kept ? { userAssertion: request.userAssertion } : {}) };
}

/** The state with this use recorded, or null when it adds nothing (the key already counts as in use). */
export function withUse(state: TokenFlightState, now: number): TokenFlightState | null {
  return inUse(state) ? null : { ...state, lastUse: now };
}

/** The Retry-After to honour after a provider error, if it sent one. */
export function throttleFor(error: SerializedAuthError, now: number): Throttle | undefined {
  if (error.kind !== 'server' || error.retryAfter === undefined) return undefined;
  return { until: now + error.retryAfter * 1000, error };
}

/** The throttled answer for a caller at `now`: the provider's error, with the Retry-After that is left. */
export function throttledAnswer(throttle: Throttle, now: number): SerializedAuthError {
  const left = Math.max(1, Math.ceil((throttle.until - now) / 1000));
  return throttle.error.kind === 'server' ? { ...throttle.error, throttled: true, retryAfter: left } : throttle.error;
}

/**
 * A digest of the settings a client is built from (deps.ts's SETTING_NAMES), so that a coordinator never
 * serves an isolate running with other settings (another client, credential or sealing key). Secrets
 * enter it only through SHA-256.
 */
export async function settingsFingerprint(settings: Settings): Promise<string> {
  const text = SETTING_NAMES.map((name) => `${name}=${typeof settings[name] === 'string' ? settings[name] : ''}`).join('\u0000');
  return base64url(await sha256(utf8(text)));
}

/** True when both carry the same settings (string comparison, no hashing: it runs per request). */
export function sameSettings(a: Settings, b: Settings): boolean {
  return SETTING_NAMES.every((name) => (typeof a[name] === 'string' ? a[name] : undefined) === (typeof b[name] === 'string' ? b[name] : undefined));
}
