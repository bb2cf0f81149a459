/**
 * DeviceFlowObject: one SQLite-backed Durable Object per device code flow. It keeps the device code (which
 * never leaves the server) and polls the provider itself, on its alarm, at the flow's interval (5 s more
 * after each `slow_down`), until the user signs in, declines, or the flow expires. Devices poll the object,
 * never the provider: however many of them, the provider sees at most one poll per interval, and a device
 * that polls faster than the interval is told to slow down. The sign-in is handed out once.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  AuthError,
  CallerError,
  NetworkError,
  SLOW_DOWN_SECONDS,
  ServerError,
  ThrottlingError,
  serializeAuthError,
  type AccountRecord,
  type DeviceCodeFlow,
  type SerializedAuthError,
  type SignInResult,
} from '../../lib/mod.ts';
import type { DeviceFlowPoll } from '../device-flows.ts';
import { ObjectClient, type ObjectBindings } from './object-client.ts';
import type { RpcResult } from './rpc-result.ts';

type State =
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

const FLOW_KEY = 'flow';
const STATE_KEY = 'state';
/** How long an ended flow still answers its device (with its outcome) before it is forgotten. */
const RETENTION_MS = 10 * 60 * 1000;
/**
 * Network jitter: a device that polls every `interval` from when it sent its last request may arrive a
 * little early. A tenth of the interval (at most a second) early still counts as on time.
 */
function earlyPollTolerance(intervalMs: number): number {
  return Math.min(intervalMs / 10, 1000);
}

export class DeviceFlowObject extends DurableObject<ObjectBindings> {
  private readonly client = new ObjectClient(this.env);

  async start(flow: DeviceCodeFlow): Promise<void> {
    if (await this.ctx.storage.get(FLOW_KEY)) throw new Error('device flow already started');
    const state: State = { status: 'pending', interval: flow.interval };
    await this.ctx.storage.put({ [FLOW_KEY]: flow, [STATE_KEY]: state });
    await this.ctx.storage.setAlarm(this.nextPoll(flow, flow.interval));
  }

  /** A device asks. @returns null for a flow this object does not hold (never started, or forgotten). */
  async poll(): Promise<RpcResult<DeviceFlowPoll> | null> {
    const [flow, state] = await Promise.all([this.ctx.storage.get<DeviceCodeFlow>(FLOW_KEY), this.ctx.storage.get<State>(STATE_KEY)]);
    if (!flow || !state) return null;
    const now = Date.now();
    switch (state.status) {
      case 'done':
        // Handed out once: what the device receives is no longer kept here.
        await this.ctx.storage.put(STATE_KEY, { status: 'redeemed' } satisfies State);
        return { ok: true, value: { status: 'done', result: state.result, record: state.record } };
      case 'redeemed':
        return failure(new CallerError('invalid_grant', 'This device flow has already been redeemed'));
      case 'failed':
        return { ok: false, error: state.error };
      case 'pending': {
        if (now >= flow.expiresAt) return failure(expired());
        const intervalMs = state.interval * 1000;
        if (state.lastDevicePoll !== undefined && now - state.lastDevicePoll < intervalMs - earlyPollTolerance(intervalMs)) {
          return { ok: true, value: { status: 'slow_down', retryAfterSeconds: state.interval } };
        }
        await this.ctx.storage.put(STATE_KEY, { ...state, lastDevicePoll: now } satisfies State);
        return { ok: true, value: { status: 'pending', retryAfterSeconds: state.interval } };
      }
    }
  }

  /** One poll of the provider, then the next one scheduled; or, once the flow has ended, forgetting it. */
  async alarm(): Promise<void> {
    const [flow, state] = await Promise.all([this.ctx.storage.get<DeviceCodeFlow>(FLOW_KEY), this.ctx.storage.get<State>(STATE_KEY)]);
    if (!flow || !state || state.status !== 'pending') {
      await this.ctx.storage.deleteAll();
      return;
    }
    let interval = state.interval;
    let wait = interval;
    try {
      const poll = await (await this.client.get()).pollDeviceFlow(flow);
      if (poll.status === 'done') return await this.end(flow, { status: 'done', result: poll.result, record: poll.record });
      if (poll.status === 'slow_down') wait = interval += SLOW_DOWN_SECONDS;
    } catch (error) {
      if (!isTransient(error)) return await this.end(flow, { status: 'failed', error: serializeAuthError(asAuthError(error)) });
      // A throttled provider says when; anything else transient is tried again at the next interval.
      if (error instanceof ServerError && error.retryAfter !== undefined) wait = Math.max(interval, error.retryAfter);
    }
    // The state may have changed while the provider answered (a device's poll): keep what it wrote.
    const current = await this.ctx.storage.get<State>(STATE_KEY);
    await this.ctx.storage.put(STATE_KEY, { ...(current?.status === 'pending' ? current : state), interval } satisfies State);
    await this.ctx.storage.setAlarm(this.nextPoll(flow, wait));
  }

  private async end(flow: DeviceCodeFlow, state: State): Promise<void> {
    await this.ctx.storage.put(STATE_KEY, state);
    await this.ctx.storage.setAlarm(Math.max(flow.expiresAt, Date.now()) + RETENTION_MS);
  }

  /** The next poll, or the flow's expiry if that comes first (the poll at expiry reports it without a request). */
  private nextPoll(flow: DeviceCodeFlow, seconds: number): number {
    return Math.min(Date.now() + seconds * 1000, flow.expiresAt);
  }
}

function failure(error: AuthError): RpcResult<never> {
  return { ok: false, error: serializeAuthError(error) };
}

function expired(): ServerError {
  return new ServerError({ error: 'expired_token', error_description: 'The device code expired before the user completed the sign-in' }, 400);
}

/** The provider or the network failing for now (the next interval may succeed), as opposed to the flow ending. */
function isTransient(error: unknown): boolean {
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
