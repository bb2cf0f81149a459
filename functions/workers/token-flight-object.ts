/**
 * TokenFlightObject: one SQLite-backed Durable Object per token cache key (app-only and on-behalf-of
 * tokens), the fleet's single flight. Isolates that miss (memory and KV) ask it; it makes at most one
 * provider request at a time for its key, with its own client (object-client.ts: the deployment's
 * settings, never a caller's), hands the result to every waiter, and its client writes it to KV. It
 * renews a key in use on its alarm at the token's renewal point, lets an unused key expire, and answers
 * every caller with the provider's Retry-After until it passes. The decisions are the runtime-free
 * core's (../token-flight-core.ts); this object keeps the state, the flight and the alarm.
 */
import { DurableObject } from 'cloudflare:workers';
import { AuthError, serializeAuthError, type AuthenticationResult, type ConfidentialClientApplication, type FleetTokenRequest } from '../../lib/mod.ts';
import {
  ANSWER_WITHIN_MS,
  afterFailedRenewal,
  afterFetch,
  decideAlarm,
  decideCall,
  settingsFingerprint,
  throttleFor,
  throttledAnswer,
  withUse,
  type TokenFlightAnswer,
  type TokenFlightCall,
  type TokenFlightResult,
  type TokenFlightState,
  type Throttle,
} from '../token-flight-core.ts';
import { ObjectClient, type ObjectBindings } from './object-client.ts';

const STATE_KEY = 'state';
const THROTTLE_KEY = 'throttle';

export class TokenFlightObject extends DurableObject<ObjectBindings> {
  private readonly client = new ObjectClient(this.env);
  private fingerprint: Promise<string> | undefined;
  /** The one provider request (or cache read by its client) running for this key. */
  private flight: Promise<TokenFlightResult> | undefined;

  /**
   * An isolate missed, or wants the token renewed. Answered within ANSWER_WITHIN_MS. While a provider's
   * Retry-After runs, a valid token is still handed out; only a caller that would need the provider gets
   * the throttling error.
   */
  async acquire(call: TokenFlightCall): Promise<TokenFlightAnswer> {
    if (call.fingerprint !== (await this.ownFingerprint())) return { status: 'not_this_client' };
    const now = Date.now();
    const [state, stored] = await Promise.all([this.ctx.storage.get<TokenFlightState>(STATE_KEY), this.ctx.storage.get<Throttle>(THROTTLE_KEY)]);
    const throttle = stored && stored.until > now ? stored : undefined;
    const decision = decideCall(state, call.request.renewal === true, now);
    if (decision === 'fetch') {
      if (throttle) return { status: 'done', result: { ok: false, error: throttledAnswer(throttle, now) } };
      return this.answerWithin(this.run(call.request, false));
    }
    const used = withUse(state!, now);
    if (used) await this.ctx.storage.put(STATE_KEY, used);
    const served: TokenFlightResult = { ok: true, value: { ...state!.token, correlationId: call.request.correlationId } };
    if (decision === 'answer' || throttle) return { status: 'done', result: served };
    if (decision === 'answer-and-renew') {
      this.ctx.waitUntil(this.run(call.request, true).catch(() => undefined));
      return { status: 'done', result: served };
    }
    // An isolate's background renewal waits for the new token; should the renewal fail, it keeps the current one.
    return this.answerWithin(this.run(call.request, true).then((outcome) => (outcome.ok ? outcome : served)));
  }

  /** At the token's renewal point (or when a Retry-After ends): renew a key in use, forget an unused one. */
  async alarm(): Promise<void> {
    // A running flight decides the state: judge the key after it.
    await this.flight?.catch(() => undefined);
    const [state, throttle] = await Promise.all([this.ctx.storage.get<TokenFlightState>(STATE_KEY), this.ctx.storage.get<Throttle>(THROTTLE_KEY)]);
    let decision = decideAlarm(state, throttle, Date.now());
    if (decision.action === 'renew') {
      const outcome = await this.run({ ...state!.request, correlationId: crypto.randomUUID() } as FleetTokenRequest, true);
      // Success and throttling have set the next alarm; anything else is tried again while the token lasts.
      if (outcome.ok || throttleFor(outcome.error, Date.now())) return;
      decision = afterFailedRenewal(state!, Date.now());
    }
    if (decision.action === 'later') await this.ctx.storage.setAlarm(decision.at);
    if (decision.action === 'stop') await this.forget();
  }

  /** The key's provider request (or its client's cache read), shared by every caller until it ends. */
  private run(request: FleetTokenRequest, force: boolean): Promise<TokenFlightResult> {
    if (!this.flight) {
      const flight = this.flyOnce(request, force);
      this.flight = flight;
      void flight.finally(() => {
        if (this.flight === flight) this.flight = undefined;
      }).catch(() => undefined);
    }
    return this.flight;
  }

  private async flyOnce(request: FleetTokenRequest, force: boolean): Promise<TokenFlightResult> {
    const client = await this.client.get();
    const fetchedAt = Date.now();
    try {
      const result = await acquireFor(client, request, force);
      const assertionExpiresAt = request.grant === 'on_behalf_of' ? await assertionExpiry(client, request.userAssertion) : undefined;
      const state = afterFetch(await this.ctx.storage.get<TokenFlightState>(STATE_KEY), request, result, fetchedAt, assertionExpiresAt);
      await this.ctx.storage.put(STATE_KEY, state);
      await this.ctx.storage.delete(THROTTLE_KEY);
      await this.ctx.storage.setAlarm(state.renewAt);
      return { ok: true, value: result };
    } catch (error) {
      // Anything but an AuthError is a bug: it stays thrown, and the callers fall back to the provider.
      if (!(error instanceof AuthError)) throw error;
      const serialized = serializeAuthError(error);
      const throttle = throttleFor(serialized, Date.now());
      if (throttle) {
        await this.ctx.storage.put(THROTTLE_KEY, throttle);
        await this.ctx.storage.setAlarm(throttle.until);
      }
      return { ok: false, error: serialized };
    }
  }

  /** The flight's result if it ends within ANSWER_WITHIN_MS, else "pending" (the caller asks again and joins it). */
  private async answerWithin(flight: Promise<TokenFlightResult>): Promise<TokenFlightAnswer> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pending = new Promise<TokenFlightAnswer>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'pending' }), ANSWER_WITHIN_MS);
    });
    try {
      return await Promise.race([flight.then((result): TokenFlightAnswer => ({ status: 'done', result })), pending]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** An unused key: its token is left to expire in KV; the object keeps nothing (no assertion, no alarm). */
  private async forget(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  private ownFingerprint(): Promise<string> {
    this.fingerprint ??= settingsFingerprint(this.env);
    return this.fingerprint;
  }
}

function acquireFor(client: ConfidentialClientApplication, request: FleetTokenRequest, forceRefresh: boolean): Promise<AuthenticationResult> {
  const { correlationId, scopes } = request;
  if (request.grant === 'client_credentials') {
    return client.acquireTokenForClient({ scopes, correlationId, forceRefresh, ...(request.tenant !== undefined ? { tenant: request.tenant } : {}) });
  }
  return client.acquireTokenOnBehalfOf({ userAssertion: request.userAssertion, scopes, correlationId, forceRefresh });
}

/** The assertion's `exp` (epoch ms), as this object's client validated it. */
async function assertionExpiry(client: ConfidentialClientApplication, assertion: string): Promise<number | undefined> {
  const { claims } = await client.validateCallerAssertion(assertion);
  return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
}
