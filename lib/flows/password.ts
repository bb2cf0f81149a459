/**
 * Sign-in with a username and password (MSAL's acquireTokenByUsernamePassword, the ROPC grant): one
 * password request, never retried; the answer ends like every sign-in (sign-in-result.ts): ID token
 * validated, tenant allow-list checked, Account built, access token cached, the account record (with
 * the refresh token) returned for the account store.
 *
 * Discouraged (no MFA, no Conditional Access prompts, fails for federated and personal accounts), kept
 * for the legacy cases MSAL keeps it for. The password lives only in the request form: it is not
 * logged, cached, stored, put into the throttling key, or echoed in any error.
 *
 * Errors: the provider's plain `invalid_grant` (wrong password AADSTS50126, unknown user AADSTS50034,
 * …) is a credential error, a ServerError `invalid_grant` (400) — not an InteractionRequiredError as
 * `redeem` classifies user grants: signing in interactively is not what the caller needs to do, the
 * credentials are wrong. An `invalid_grant` with a `suberror` or `claims` (MFA, Conditional Access,
 * consent) stays interaction required: only an interactive sign-in can answer it.
 */
import type { AccountRecord } from '../account.ts';
import { CallerError, InteractionRequiredError, NetworkError, ServerError, type AuthError, type NetworkErrorCode } from '../errors.ts';
import { passwordRequest, processPasswordResponse } from '../oauth/password.ts';
import { resourceScopes, scopesToTarget } from '../scopes.ts';
import type { ClientContext } from './context.ts';
import { redeemSignIn, type SignInResult } from './sign-in-result.ts';

export interface UsernamePasswordRequest {
  username: string;
  password: string;
  scopes: readonly string[];
  /** A claims challenge (JSON). */
  claims?: string;
  correlationId?: string;
}

const MAX_USERNAME_LENGTH = 256;
const MAX_PASSWORD_LENGTH = 256;

/**
 * @throws CallerError `invalid_request` (username, password or scopes missing or malformed; the values
 *   are never echoed), `access_denied` (a tenant not allowed: nothing stored); ServerError `invalid_grant`
 *   for wrong credentials; InteractionRequiredError when the provider wants an interactive sign-in;
 *   ThrottlingError, NetworkError; ClientConfigurationError ALLOWED_TENANTS.
 */
export async function acquireTokenByUsernamePassword(
  ctx: ClientContext,
  request: UsernamePasswordRequest,
): Promise<{ result: SignInResult; record: AccountRecord }> {
  const { username, password } = request;
  if (typeof username !== 'string' || username.trim() === '' || username.length > MAX_USERNAME_LENGTH || /[\x00-\x1f\x7f]/.test(username)) {
    throw new CallerError('invalid_request', 'username is required: a non-empty string of at most 256 characters without control characters');
  }
  if (typeof password !== 'string' || password === '' || password.length > MAX_PASSWORD_LENGTH) {
    throw new CallerError('invalid_request', 'password is required: a non-empty string of at most 256 characters');
  }
  const scopes = resourceScopes(request.scopes);
  if (scopes.length === 0) throw new CallerError('invalid_request', 'scopes must name at least one resource scope');
  const correlationId = request.correlationId ?? crypto.randomUUID();
  const grant = { username, password, scopes, ...(request.claims ? { claims: request.claims } : {}) };
  try {
    return await redeemSignIn(
      ctx,
      {
        grant: 'password',
        // The user and the scopes, never the password: a throttled user waits out Retry-After.
        identity: [username.toLowerCase(), scopesToTarget(scopes), request.claims ?? ''],
        scopes,
        send: (endpoint, init) => passwordRequest(endpoint, grant, init),
        process: (response, checks, id) => processPasswordResponse(checks, response, id),
      },
      correlationId,
    );
  } catch (error) {
    throw withoutSecret(error, password);
  }
}

/** Defence in depth: no error leaves with the password in it, whatever a provider wrote back. */
function withoutSecret(error: unknown, secret: string): unknown {
  if (!(error instanceof Error) || !error.message.includes(secret)) return error;
  const redact = (text: string | undefined) => text?.split(secret).join('[redacted]');
  if (error instanceof InteractionRequiredError) {
    return new InteractionRequiredError({ ...error.fields, error_description: redact(error.fields.error_description) }, error.providerStatus, error.retryAfter);
  }
  if (error instanceof ServerError) {
    return new ServerError({ ...error.fields, error_description: redact(error.fields.error_description) }, error.providerStatus, error.retryAfter);
  }
  if (error instanceof NetworkError) return new NetworkError(error.errorCode as NetworkErrorCode, redact(error.errorMessage)!, error.correlationId);
  // Caller and configuration errors carry only our own words.
  if ((error as Partial<AuthError>).kind !== undefined) return error;
  return new Error(redact(error.message));
}
