/**
 * Fleet-wide single flight: the port through which a client sends its misses for app-only and
 * on-behalf-of tokens to one coordinator per cache key for the whole deployment (on Workers a Durable
 * Object per key: functions/workers/token-flights.ts), and the renewal rule that coordinator and every
 * isolate share. Types and pure functions only: no I/O, times are passed in.
 */
import { EXPIRY_SKEW_SECONDS } from '../cache/freshness.ts';

/**
 * The token a miss asks for, described so that the coordinator's own client can ask the provider for it
 * (and ask again ahead of expiry). Claims challenges and forced refreshes never travel: they stay with
 * the isolate that got them.
 */
export type FleetTokenRequest = (
  | { grant: 'client_credentials'; scopes: string[]; tenant?: string }
  /** The user's token for this API: it authorises the exchange, and stays on the server side. */
  | { grant: 'on_behalf_of'; scopes: string[]; userAssertion: string }
) & {
  correlationId: string;
  /**
   * Set when the isolate still serves a valid token and asks only because its renewal point has passed
   * (a background renewal): the coordinator may then make it wait for the new token.
   */
  renewal?: boolean;
};

/**
 * One provider request at a time per cache key across every isolate of a deployment.
 * `R` is the flows' AuthenticationResult (a type parameter only to keep this module free of imports).
 */
export interface FleetFlights<R> {
  /**
   * The token for `key` (the token cache's storage key), from the coordinator: its current token, or the
   * one provider request it makes for every waiter. `local` is the isolate's own provider request, for
   * when the coordinator cannot be reached (availability first) or is not this client's.
   * @throws the provider's error as the coordinator saw it (ThrottlingError while its Retry-After runs).
   */
  acquire(key: string, request: FleetTokenRequest, local: () => Promise<R>): Promise<R>;
}

/**
 * How long before a token enters MSAL's 5-minute window its renewal is due, when the provider sent no
 * `refresh_in`: two Workers KV propagation delays (up to 60 s each), so that the renewed token is
 * readable in every location before any isolate stops serving the old one.
 */
export const FLEET_RENEWAL_LEAD_SECONDS = 120;

/** A token's times, epoch seconds. */
export interface TokenTimes {
  cachedAt: number;
  expiresOn: number;
  refreshOn?: number | undefined;
}

/**
 * When a token in fleet-wide use is renewed (epoch seconds): the provider's `refresh_on` when it sent
 * one, else FLEET_RENEWAL_LEAD_SECONDS before the 5-minute window — but never before half of the
 * token's usable life, so that a short-lived token is not renewed as soon as it arrives.
 */
export function fleetRenewalAt({ cachedAt, expiresOn, refreshOn }: TokenTimes): number {
  const usableUntil = expiresOn - EXPIRY_SKEW_SECONDS;
  const ahead = Math.max(usableUntil - FLEET_RENEWAL_LEAD_SECONDS, cachedAt + (usableUntil - cachedAt) / 2);
  return refreshOn === undefined ? ahead : Math.min(refreshOn, ahead);
}
