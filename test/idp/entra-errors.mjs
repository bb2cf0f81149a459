// Entra-shaped error bodies. Every JSON error the IdP emits (oidc-provider's
// own, injected faults, unknown tenant) goes through `entraErrorBody` so the
// code under test sees exactly one error shape, the one Entra sends.

import { randomUUID } from 'node:crypto';

/** Default AADSTS code and message per OAuth error code. */
const BY_ERROR = {
  invalid_request: [900144, 'The request body must contain a valid parameter set.'],
  invalid_client: [7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.'],
  unauthorized_client: [700016, 'Application was not found in the directory or is not authorized for this grant.'],
  invalid_grant: [70000, 'The provided value for the input parameter is not valid.'],
  invalid_scope: [70011, 'The provided request must include a valid \'scope\' input parameter.'],
  invalid_resource: [500011, 'The resource principal was not found in the tenant.'],
  unsupported_grant_type: [70003, 'The app requested an unsupported grant type.'],
  authorization_pending: [70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.'],
  slow_down: [70016, 'OAuth 2.0 device flow error. Polling too fast; slow down.'],
  expired_token: [70019, 'Verification code expired.'],
  authorization_declined: [70020, 'The user declined the authorization request.'],
  bad_verification_code: [70021, 'The device code was not recognised.'],
  invalid_tenant: [90002, 'Tenant not found. Check to make sure you have the correct tenant ID.'],
  temporarily_unavailable: [90033, 'A transient error has occurred. Please try again.'],
  server_error: [50000, 'There was an error issuing a token or an issue with our sign-in service.'],
  interaction_required: [50076, 'Interaction is required.'],
  consent_required: [65001, 'The user or administrator has not consented to use the application.'],
};

/**
 * More specific codes keyed by (error, oidc-provider's internal error detail),
 * so tests can tell e.g. a replayed assertion from a wrong secret, as Entra's
 * codes do. [error, detail pattern, renamed error (or null), AADSTS code, message]
 */
const BY_DETAIL = [
  ['invalid_client', /client not found/i, 'unauthorized_client', 700016, 'Application was not found in the directory.'],
  // Entra itself does not reject replayed assertions; oidc-provider does (kept on purpose).
  ['invalid_client', /must only be used once/i, null, 700024, 'Client assertion has already been used (jti replay).'],
  ['invalid_client', /audience \(aud\)/i, null, 700021, 'Client assertion audience claim does not match the token endpoint.'],
  ['invalid_client', /"exp"|"nbf"|expired|timestamp/i, null, 700024, 'Client assertion is not within its valid time range.'],
  ['invalid_client', /signature|no matching key|JWKS|alg mismatch/i, null, 700027, 'Client assertion failed signature validation.'],
  ['invalid_client', /authentication mechanism does not match/i, null, 7000218, 'The request body must contain the following parameter: \'client_assertion\' or \'client_secret\'.'],
  ['invalid_grant', /code_verifier/i, null, 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.'],
  ['invalid_grant', /refresh token already used/i, null, 70000, 'The refresh token has already been used (rotation reuse detected; the grant is revoked).'],
  ['invalid_grant', /.*/, null, 70000, 'The provided authorization code or refresh token is invalid or expired.'],
];

/** oidc-provider error names that Entra spells differently. */
const RENAME = {
  invalid_target: 'invalid_resource',
  access_denied: 'authorization_declined',
};

/** Entra's timestamp format: "2024-05-01 12:34:56Z". */
function entraTimestamp(date = new Date()) {
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/**
 * @param {object} o
 * @param {string} o.origin        IdP origin, for error_uri
 * @param {string} o.error         OAuth error code
 * @param {number} [o.code]        AADSTS code (default from error/detail)
 * @param {string} [o.message]     human text (default from error/detail)
 * @param {string} [o.detail]      oidc-provider error_detail, used to refine code/message
 * @param {string} [o.traceId]
 * @param {string} [o.correlationId]
 */
export function entraErrorBody({ origin, error, code, message, detail, traceId, correlationId }) {
  let err = RENAME[error] ?? error;
  let fallback = BY_ERROR[err] ?? [90000, 'An error occurred.'];
  if (detail && code === undefined) {
    const hit = BY_DETAIL.find(([e, re]) => e === err && re.test(detail));
    if (hit) {
      if (hit[2]) err = hit[2];
      fallback = [hit[3], hit[4]];
    }
  }
  const aadsts = code ?? fallback[0];
  let text = message ?? fallback[1];
  // Keep oidc-provider's detail visible: it is the only clue when a test fails.
  if (detail && !message) text += ` (${detail})`;
  const trace = traceId ?? randomUUID();
  const correlation = correlationId ?? randomUUID();
  const timestamp = entraTimestamp();
  return {
    error: err,
    error_description: `AADSTS${aadsts}: ${text}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
    error_codes: [aadsts],
    timestamp,
    trace_id: trace,
    correlation_id: correlation,
    error_uri: `${origin}/error?code=${aadsts}`,
  };
}

/** An oidc-provider-compatible error carrying a specific Entra error/code. */
export class EntraError extends Error {
  /**
   * @param {string} error OAuth error code
   * @param {number} aadsts
   * @param {string} message
   * @param {number} [status]
   */
  constructor(error, aadsts, message, status = 400) {
    super(error);
    this.error = error;
    this.error_description = message;
    this.aadsts = aadsts;
    this.status = status;
    this.statusCode = status;
    this.expose = true; // oidc-provider: render as a client error, not server_error
  }
}
