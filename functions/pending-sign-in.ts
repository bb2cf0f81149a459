/** A started sign-in: the auth code flow and where to send the browser afterwards, kept single-use until the callback. */
import type { AuthCodeFlow } from '../lib/mod.ts';
import type { UserFlow } from './deps.ts';

export interface PendingSignIn {
  flow: AuthCodeFlow;
  returnTo: string;
  /** A B2C user flow other than sign-in (password reset, profile edit); absent for a sign-in. */
  userFlow?: UserFlow;
}

/** Flows expire after 10 minutes (the flow store's TTL and the transaction cookie's Max-Age). */
export const FLOW_TTL_SECONDS = 600;
