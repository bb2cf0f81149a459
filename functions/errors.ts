/**
 * The one place where errors become HTTP responses: MSAL's field names (`error`, `error_description`,
 * `correlation_id`, plus `error_codes`/`suberror`/`claims` when the provider sent them).
 */
import { AuthError, CallerError, DEVICE_FLOW_TERMINAL_ERRORS, InteractionRequiredError, NetworkError, ServerError, type CallerErrorCode } from '../lib/mod.ts';
import { RATE_LIMIT_PERIOD_SECONDS } from './rate-limits.ts';
import { noteError, noteUnexpected } from './request-log.ts';

type Status = 202 | 400 | 401 | 403 | 404 | 405 | 413 | 429 | 500 | 502 | 503 | 504;

const CALLER_STATUS: Record<CallerErrorCode, Status> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_scope: 403,
  request_too_large: 413,
  method_not_allowed: 405,
  not_found: 404,
  state_mismatch: 400,
  no_session: 401,
  forbidden: 403,
  rate_limited: 429,
  access_denied: 403,
  invalid_token: 401,
  // The device flow's own answers to its device (POST /device/poll).
  authorization_pending: 202,
  slow_down: 400,
  expired_token: 400,
  invalid_grant: 400,
};

/**
 * Provider errors that the caller caused by what it asked for, or that end the caller's device flow
 * (expired, declined, an unknown code); all others are our upstream's problem. `invalid_grant` reaches
 * here as a plain ServerError only from the password grant, where it means wrong credentials (AADSTS50126,
 * an unknown user: lib/interaction.ts classifyCredentialError): the other user grants make it an
 * InteractionRequiredError (401), and Entra refuses our own client credentials as `invalid_client`.
 */
const CALLER_CAUSED_PROVIDER_ERRORS = new Set<string>(['invalid_scope', 'invalid_request', 'invalid_resource', 'invalid_grant', ...DEVICE_FLOW_TERMINAL_ERRORS]);

/**
 * Who reads the answer: a program calling an API (JSON), or a browser navigation (sign-in, callback,
 * sign-out) that gets a page.
 */
export type Audience = 'api' | 'navigation';

export function statusFor(error: AuthError, audience: Audience = 'api'): Status {
  // On a navigation, a provider's error answer (a refused or replayed code, a declined consent) is about
  // this browser's sign-in, not our upstream failing; throttling and provider faults keep their status.
  if (audience === 'navigation' && error instanceof ServerError && error.providerStatus < 500 && !error.retryAfter) return 400;
  if (error instanceof CallerError) return CALLER_STATUS[error.errorCode as CallerErrorCode];
  if (error instanceof InteractionRequiredError) return 401;
  if (error instanceof ServerError) {
    if (error.providerStatus === 429 || error.providerStatus === 503) return error.providerStatus;
    if (error.retryAfter !== undefined) return 503;
    if (error.providerStatus === 400 && CALLER_CAUSED_PROVIDER_ERRORS.has(error.errorCode)) return 400;
    return 502;
  }
  if (error instanceof NetworkError) return error.errorCode === 'request_timeout' ? 504 : 502;
  return 500;
}

/** Seconds the client should wait before asking again: the provider's Retry-After, or our own rate limit's window. */
export function retryAfterOf(error: AuthError): number | undefined {
  if (error instanceof ServerError) return error.retryAfter;
  if (error instanceof CallerError) return error.retryAfter ?? (error.errorCode === 'rate_limited' ? RATE_LIMIT_PERIOD_SECONDS : undefined);
  return undefined;
}

/**
 * An error's JSON fields: the body of an error response, and one entry of an answer that reports errors
 * per item (an account import).
 */
export function errorBody(error: AuthError, correlationId: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    error: error.errorCode,
    error_description: error.errorMessage,
    correlation_id: error.correlationId ?? correlationId,
  };
  // The SPA needs one signal for "send the user to sign in again"; the provider's own error stays in the text.
  if (error instanceof InteractionRequiredError && error.errorCode !== 'interaction_required') {
    body.error = 'interaction_required';
    body.error_description = `${error.errorCode}: ${error.errorMessage}`;
  }
  if (error instanceof ServerError) {
    if (error.errorCodes) body.error_codes = error.errorCodes;
    if (error.subError) body.suberror = error.subError;
    if (error.claims) body.claims = error.claims;
    if (error.traceId) body.trace_id = error.traceId;
  }
  return body;
}

export function errorResponse(error: AuthError, correlationId: string): Response {
  noteError(correlationId, error);
  const body = errorBody(error, correlationId);
  const headers = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) headers.set('retry-after', String(retryAfter));
  const challenge = bearerChallenge(error);
  if (challenge) headers.set('www-authenticate', challenge);
  return new Response(JSON.stringify(body), { status: statusFor(error), headers });
}

/** 405 for a POST-only endpoint, with `Allow: POST`. */
export function postOnly(correlationId: string): Response {
  const response = errorResponse(new CallerError('method_not_allowed', 'Use POST'), correlationId);
  response.headers.set('allow', 'POST');
  return response;
}

/**
 * The `WWW-Authenticate` of a 401 (RFC 6750 §3): which credential failed, and for a Conditional Access
 * step-up the claims the caller must come back with (base64, as Microsoft documents for claims challenges).
 */
function bearerChallenge(error: AuthError): string | undefined {
  if (error instanceof CallerError && error.errorCode === 'invalid_client') return 'Bearer realm="edge-token-functions", error="invalid_client"';
  if (error instanceof CallerError && error.errorCode === 'invalid_token') return 'Bearer realm="edge-token-functions", error="invalid_token"';
  if (error instanceof InteractionRequiredError && error.claims) {
    return `Bearer realm="edge-token-functions", error="insufficient_claims", claims="${btoa(String.fromCharCode(...new TextEncoder().encode(error.claims)))}"`;
  }
  return undefined;
}

/**
 * Anything that is not an AuthError is our bug: logged by name only (messages may quote provider
 * bodies), on the request's log line, and answered without details.
 */
export function unexpectedErrorBody(error: unknown, correlationId: string): Record<string, unknown> {
  noteUnexpected(correlationId, error);
  return { error: 'server_error', error_description: 'An unexpected error occurred', correlation_id: correlationId };
}

/** Anything that is not an AuthError is our bug: a 500 that says so without leaking details. */
export function unexpectedErrorResponse(error: unknown, correlationId: string): Response {
  noteError(correlationId, 'server_error');
  return new Response(JSON.stringify(unexpectedErrorBody(error, correlationId)), {
    status: 500,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}
