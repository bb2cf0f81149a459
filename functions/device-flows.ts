/**
 * Device code flows at the edge: the device holds an opaque handle (`flow_id`), never the device code;
 * the flow's state and its pacing live in one place per flow (a Durable Object on Workers), which polls
 * the provider itself, so however many devices poll, the provider sees at most one poll per interval.
 */
import { base64url, open, seal, type AccountRecord, type DeviceCodeFlow, type SignInResult } from '../lib/mod.ts';
import type { WebSettings } from './web-settings.ts';

/** What one poll by the device finds. Errors that end the flow are thrown (see DeviceFlows.poll). */
export type DeviceFlowPoll =
  /** The user has not finished; ask again in `retryAfterSeconds`. */
  | { status: 'pending'; retryAfterSeconds: number }
  /** Asked sooner than the interval allows (RFC 8628 §3.5); nothing was sent to the provider. */
  | { status: 'slow_down'; retryAfterSeconds: number }
  /** Signed in: handed out once, then the flow is spent. */
  | { status: 'done'; result: SignInResult; record: AccountRecord };

/** One implementation per runtime (Workers: a Durable Object per flow, polling on its alarm). */
export interface DeviceFlows {
  /** Keeps the flow under `flowId` and starts polling the provider at the flow's interval. */
  start(flowId: string, flow: DeviceCodeFlow): Promise<void>;
  /**
   * @throws CallerError `invalid_grant` (an unknown flow, or one already redeemed), `expired_token`;
   *   ServerError `expired_token` / `access_denied` / `bad_verification_code`; InteractionRequiredError;
   *   CallerError `access_denied` (a tenant that may not sign in) — each kept until the flow is collected.
   */
  poll(flowId: string): Promise<DeviceFlowPoll>;
}

/** The handle's sealing purpose: a handle is never mistaken for a session key or a cookie. */
const HANDLE_PURPOSE = 'device-flow/v1';
const MAX_HANDLE_LENGTH = 512;

interface Handle {
  /** The flow's id: 128 random bits, base64url. */
  f: string;
  /** The flow's expiry, epoch ms. */
  x: number;
}

/**
 * A new flow id and the handle the device gets for it: sealed, so that a forged or altered handle is
 * refused without touching storage, and carrying the expiry, so that an expired one is too.
 */
export async function newFlowHandle(web: WebSettings, expiresAt: number): Promise<{ flowId: string; handle: string }> {
  const flowId = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const handle: Handle = { f: flowId, x: expiresAt };
  return { flowId, handle: await seal(web.sessionKey, HANDLE_PURPOSE, JSON.stringify(handle)) };
}

/** @returns the flow id and expiry, or null for anything that is not a handle of ours. */
export async function openFlowHandle(web: WebSettings, handle: unknown): Promise<{ flowId: string; expiresAt: number } | null> {
  if (typeof handle !== 'string' || handle.length > MAX_HANDLE_LENGTH) return null;
  const text = await open(web.sessionKey, HANDLE_PURPOSE, handle);
  if (text === null) return null;
  try {
    const { f, x } = JSON.parse(text) as Partial<Handle>;
    return typeof f === 'string' && typeof x === 'number' ? { flowId: f, expiresAt: x } : null;
  } catch {
    return null;
  }
}
