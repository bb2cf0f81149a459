/**
 * The runtime-free core of a device code flow's store (see device-flows.ts): what a flow keeps between
 * polls, how a device's poll is answered, and one poll of the provider with what follows from it. The
 * runtime adapters only keep the state and decide when the provider is polled: a Durable Object on its
 * alarm (workers/device-flow-object.ts), Deno KV when devices poll (deno/kv-device-flows.ts).
 */
import {
  AuthError,
  CallerError,
  NetworkError,
  SLOW_DOWN_SECONDS,
  ServerError,
  ThrottlingError,
  serializeAuthError,
  type AccountRecord,
  type ConfidentialClientApplication,
  type DeviceCodeFlow,
  type SerializedAuthError,
  type SignInResult,
} from '../lib/mod.ts';
import type { DeviceFlowPoll } from './device-flows.ts';

/** What a flow keeps besides the flow itself. Plain data: it is stored. */
export type DeviceFlowState =
  | {
      status: 'pending';
      /** Seconds between polls, widened by every `slow_down`. */
      interval: number;
      /** Epoch ms of the last poll by a device that was answered (not told to slow down). */
      lastDevicePoll?: number;
    }
  | { status: 'done'; result: SignInResult; record: AccountRecord }
  | { status: 'failed'; error: SerializedAuthError }
  | { status: 'redeemed' };

export type PendingDeviceFlowState = Extract<DeviceFlowState, { status: 'pending' }>;
export type EndedDeviceFlowState = Extract<DeviceFlowState, { status: 'done' | 'failed' }>;

/** How long an ended flow still answers its device (with its outcome) before it is forgotten. */
export const DEVICE_FLOW_RETENTION_MS = 10 * 60 * 1000;

export function initialDeviceFlowState(flow: DeviceCodeFlow): DeviceFlowState {
  return { status: 'pending', interval: flow.interval };
}

/**
 * Network jitter: a device that polls every `interval` from when it sent its last request may arrive a
 * little early. A tenth of the interval (at most a second) early still counts as on time.
 */
export function earlyPollTolerance(intervalMs: number): number {
  return Math.min(intervalMs / 10, 1000);
}

/** A device's answer: errors as data, since they are kept in the state and may cross RPC. */
export type DevicePollAnswer = { ok: true; value: DeviceFlowPoll } | { ok: false; error: SerializedAuthError };

export interface DevicePollDecision {
  answer: DevicePollAnswer;
  /** The state to store before answering; absent when it is unchanged. */
  state?: DeviceFlowState;
}

/**
 * A device polls at `now`. Where the answer changes the state (the sign-in handed out, an answered
 * poll remembered for pacing), the store must write that state before answering — and, where several
 * writers may race, only if the state it decided on is still the current one.
 */
export function answerDevicePoll(flow: DeviceCodeFlow, state: DeviceFlowState, now: number): DevicePollDecision {
  switch (state.status) {
    case 'done':
      // Handed out once: what the device receives is no longer kept.
      return { answer: { ok: true, value: { status: 'done', result: state.result, record: state.record } }, state: { status: 'redeemed' } };
    case 'redeemed':
      return { answer: failure(new CallerError('invalid_grant', 'This device flow has already been redeemed')) };
    case 'failed':
      return { answer: { ok: false, error: state.error } };
    case 'pending': {
      if (now >= flow.expiresAt) return { answer: failure(deviceFlowExpired()) };
      const intervalMs = state.interval * 1000;
      if (state.lastDevicePoll !== undefined && now - state.lastDevicePoll < intervalMs - earlyPollTolerance(intervalMs)) {
        return { answer: { ok: true, value: { status: 'slow_down', retryAfterSeconds: state.interval } } };
      }
      return { answer: { ok: true, value: { status: 'pending', retryAfterSeconds: state.interval } }, state: { ...state, lastDevicePoll: now } };
    }
  }
}

/** What one poll of the provider found, to apply to the flow's state as it is when the answer comes. */
export type ProviderPollOutcome =
  /** The flow is over: signed in, declined, expired, or failed for good. */
  | { status: 'ended'; state: EndedDeviceFlowState }
  /**
   * Still pending: the user has not finished, the provider asked to slow down (the interval widens by
   * SLOW_DOWN_SECONDS), or it failed for now (tried again at the next interval, or its Retry-After).
   */
  | { status: 'pending'; slowDown: boolean; retryAfter?: number };

/** What polls the provider: the deployment's client. */
export type DevicePollingClient = Pick<ConfidentialClientApplication, 'pollDeviceFlow'>;

/**
 * One poll of the provider for `flow`, with the client `client` resolves to (a client that cannot be
 * built, e.g. a missing setting, ends the flow). Never throws: an error is an outcome.
 */
export async function pollProvider(client: () => Promise<DevicePollingClient>, flow: DeviceCodeFlow): Promise<ProviderPollOutcome> {
  try {
    const poll = await (await client()).pollDeviceFlow(flow);
    if (poll.status === 'done') return { status: 'ended', state: { status: 'done', result: poll.result, record: poll.record } };
    return { status: 'pending', slowDown: poll.status === 'slow_down' };
  } catch (error) {
    if (!isTransient(error)) return { status: 'ended', state: { status: 'failed', error: serializeAuthError(asAuthError(error)) } };
    // A throttled provider says when; anything else transient is tried again at the next interval.
    return { status: 'pending', slowDown: false, ...(error instanceof ServerError && error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}) };
  }
}

export interface AfterProviderPoll {
  state: DeviceFlowState;
  /**
   * Epoch ms: for a flow still pending, the next poll of the provider (its expiry if that comes first:
   * the poll then reports it without a request); for one that has ended, when to forget it.
   */
  next: number;
}

/**
 * The state after a poll of the provider, applied to `current`: the state as it is now, which devices
 * may have changed while the provider answered (their `lastDevicePoll` is kept). A flow that is no
 * longer pending (another poll ended it) stays as it is.
 */
export function afterProviderPoll(flow: DeviceCodeFlow, current: DeviceFlowState, outcome: ProviderPollOutcome, now: number): AfterProviderPoll {
  if (current.status !== 'pending') return { state: current, next: forgetAt(flow, now) };
  if (outcome.status === 'ended') return { state: outcome.state, next: forgetAt(flow, now) };
  const interval = current.interval + (outcome.slowDown ? SLOW_DOWN_SECONDS : 0);
  const wait = outcome.retryAfter !== undefined ? Math.max(interval, outcome.retryAfter) : interval;
  return { state: { ...current, interval }, next: Math.min(now + wait * 1000, flow.expiresAt) };
}

/** When an ended flow is forgotten: RETENTION after its expiry (or after now, if it ended later). */
export function forgetAt(flow: DeviceCodeFlow, now: number): number {
  return Math.max(flow.expiresAt, now) + DEVICE_FLOW_RETENTION_MS;
}

export function deviceFlowExpired(): ServerError {
  return new ServerError({ error: 'expired_token', error_description: 'The device code expired before the user completed the sign-in' }, 400);
}

/** The provider or the network failing for now (the next interval may succeed), as opposed to the flow ending. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ThrottlingError) return true;
  if (error instanceof ServerError) return error.providerStatus >= 500 || error.retryAfter !== undefined;
  if (error instanceof NetworkError) return error.errorCode === 'network_error' || error.errorCode === 'request_timeout';
  // Not an AuthError: our bug. Logged without details (they may quote the provider), and the flow ends.
  return false;
}

function asAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  console.error(`device flow poll failed unexpectedly: ${error instanceof Error ? error.name : typeof error}`);
  return new NetworkError('network_error', 'The device flow could not be completed');
}

function failure(error: AuthError): DevicePollAnswer {
  return { ok: false, error: serializeAuthError(error) };
}
