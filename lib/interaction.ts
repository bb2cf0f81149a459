/**
 * Which provider errors mean "the user must sign in again" (MSAL's InteractionRequiredAuthError), as
 * msal-common classifies them, plus `invalid_grant`, which MSAL Python/Java tell apps to treat so.
 */
import { InteractionRequiredError, ServerError } from './errors.ts';

const INTERACTION_ERRORS = new Set(['interaction_required', 'consent_required', 'login_required', 'bad_token', 'invalid_grant', 'no_tokens_found']);
const INTERACTION_SUBERRORS = new Set(['message_only', 'additional_action', 'basic_action', 'user_password_expired', 'consent_required', 'bad_token']);

export function isInteractionRequired(error: ServerError): boolean {
  return INTERACTION_ERRORS.has(error.errorCode) || (error.subError !== undefined && INTERACTION_SUBERRORS.has(error.subError));
}

/** The same error as an InteractionRequiredError when it is one, unchanged otherwise. */
export function classifyServerError(error: unknown): unknown {
  if (!(error instanceof ServerError) || error instanceof InteractionRequiredError || !isInteractionRequired(error)) return error;
  return new InteractionRequiredError(error.fields, error.providerStatus, error.retryAfter);
}

/**
 * For a grant that presents the user's credentials (username/password): a plain `invalid_grant` means the
 * credentials are wrong, which no interactive sign-in fixes; one that carries a `suberror` or `claims`
 * (MFA, Conditional Access, consent) still needs the user.
 */
export function classifyCredentialError(error: unknown): unknown {
  if (error instanceof ServerError && error.errorCode === 'invalid_grant' && error.subError === undefined && error.claims === undefined) return error;
  return classifyServerError(error);
}

export function noTokensFound(message: string): InteractionRequiredError {
  return new InteractionRequiredError({ error: 'no_tokens_found', error_description: message }, 400);
}

/**
 * A refresh answered with another account's ID token: treated as a revoked grant, so that the caller
 * ends the sign-in (`endsSignIn`) and the user signs in again.
 */
export function accountMismatch(claim: string): InteractionRequiredError {
  return new InteractionRequiredError(
    { error: 'invalid_grant', error_description: `The refreshed ID token is not the signed-in account's (${claim} changed); sign in again`, suberror: 'account_mismatch' },
    400,
  );
}

/**
 * The sign-in is over, not just this request: the provider revoked the grant (`invalid_grant`: the
 * refresh token is dead) or answered for another account. Sessions end and the refresh token goes;
 * other interaction-required answers (consent, MFA, Conditional Access) keep the account.
 */
export function endsSignIn(error: unknown): boolean {
  return error instanceof InteractionRequiredError && error.errorCode === 'invalid_grant';
}
