/**
 * Typed errors, named and shaped as MSAL's (`errorCode` → `error`, `errorMessage` → `error_description`).
 * lib decides *what* went wrong; `functions/errors.ts` alone decides the HTTP status.
 */

export interface ProviderErrorFields {
  error: string;
  error_description?: string;
  error_codes?: number[];
  suberror?: string;
  claims?: string;
  correlation_id?: string;
  trace_id?: string;
  timestamp?: string;
}

export abstract class AuthError extends Error {
  abstract readonly kind: 'configuration' | 'caller' | 'server' | 'network';
  readonly errorCode: string;
  readonly errorMessage: string;
  correlationId: string | undefined;

  constructor(errorCode: string, errorMessage: string, correlationId?: string) {
    super(`${errorCode}: ${errorMessage}`);
    this.name = new.target.name;
    this.errorCode = errorCode;
    this.errorMessage = errorMessage;
    this.correlationId = correlationId;
  }
}

/** Our own deployment is wrong (missing/invalid setting). Names the setting, never its value. */
export class ClientConfigurationError extends AuthError {
  readonly kind = 'configuration' as const;
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super('server_misconfigured', `${setting} ${problem}`);
    this.setting = setting;
  }
}

export type CallerErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_scope'
  | 'request_too_large'
  | 'method_not_allowed'
  | 'not_found'
  | 'state_mismatch'
  | 'no_session'
  | 'forbidden'
  | 'rate_limited'
  | 'access_denied'
  | 'invalid_token'
  // A device flow's answers to its device (RFC 8628 §3.5): still waiting, polled too fast, over.
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'invalid_grant';

/** The caller of our endpoint made a mistake (or must wait); nothing was sent to the provider. */
export class CallerError extends AuthError {
  readonly kind = 'caller' as const;
  /** Seconds the caller should wait before asking again, when we know. */
  readonly retryAfter: number | undefined;
  constructor(errorCode: CallerErrorCode, errorMessage: string, retryAfter?: number) {
    super(errorCode, errorMessage);
    this.retryAfter = retryAfter;
  }
}

/** The identity provider answered with an OAuth error (MSAL's ServerError). */
export class ServerError extends AuthError {
  readonly kind = 'server' as const;
  readonly errorCodes: number[] | undefined;
  readonly subError: string | undefined;
  readonly claims: string | undefined;
  readonly traceId: string | undefined;
  /** Everything the provider sent, for replaying the error (throttling). */
  readonly fields: ProviderErrorFields;

  /** HTTP status the provider answered with. */
  readonly providerStatus: number;
  /** Seconds until the provider accepts this request again (429/503 `Retry-After`). */
  readonly retryAfter: number | undefined;

  constructor(fields: ProviderErrorFields, providerStatus: number, retryAfter?: number) {
    super(fields.error, fields.error_description ?? fields.error, fields.correlation_id);
    this.providerStatus = providerStatus;
    this.retryAfter = retryAfter;
    this.errorCodes = fields.error_codes;
    this.subError = fields.suberror;
    this.claims = fields.claims;
    this.traceId = fields.trace_id;
    this.fields = fields;
  }
}

/**
 * A request blocked locally because the provider throttled an identical one (MSAL's throttling cache):
 * it replays the provider's error without calling it again.
 */
export class ThrottlingError extends ServerError {
  constructor(original: ProviderErrorFields, providerStatus: number, retryAfter: number) {
    super(
      {
        ...original,
        error_description: `Request throttled by the identity provider; retry after ${retryAfter} s. ${original.error_description ?? ''}`.trim(),
      },
      providerStatus,
      retryAfter,
    );
  }
}

/** The user must sign in again (MSAL's InteractionRequiredAuthError). */
export class InteractionRequiredError extends ServerError {}

export type NetworkErrorCode = 'network_error' | 'request_timeout' | 'invalid_provider_response' | 'invalid_id_token';

/** The provider could not be reached, timed out, or answered something that is not a valid token response. */
export class NetworkError extends AuthError {
  readonly kind = 'network' as const;
  constructor(errorCode: NetworkErrorCode, errorMessage: string, correlationId?: string) {
    super(errorCode, errorMessage, correlationId);
  }
}

/** An AuthError as plain data, to cross a boundary that loses classes (Durable Object RPC). */
export type SerializedAuthError =
  | { kind: 'configuration'; setting: string; message: string }
  | { kind: 'caller'; errorCode: CallerErrorCode; message: string; retryAfter?: number }
  | { kind: 'server'; interaction: boolean; throttled: boolean; fields: ProviderErrorFields; status: number; retryAfter?: number }
  | { kind: 'network'; errorCode: NetworkErrorCode; message: string; correlationId?: string };

export function serializeAuthError(error: AuthError): SerializedAuthError {
  if (error instanceof ClientConfigurationError) return { kind: 'configuration', setting: error.setting, message: error.errorMessage };
  if (error instanceof CallerError) {
    return { kind: 'caller', errorCode: error.errorCode as CallerErrorCode, message: error.errorMessage, ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}) };
  }
  if (error instanceof ServerError) {
    return {
      kind: 'server',
      interaction: error instanceof InteractionRequiredError,
      throttled: error instanceof ThrottlingError,
      fields: error.fields,
      status: error.providerStatus,
      ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}),
    };
  }
  const network = error as NetworkError;
  return { kind: 'network', errorCode: network.errorCode as NetworkErrorCode, message: network.errorMessage, ...(network.correlationId ? { correlationId: network.correlationId } : {}) };
}

export function deserializeAuthError(data: SerializedAuthError): AuthError {
  switch (data.kind) {
    case 'configuration': {
      const error = new ClientConfigurationError(data.setting, '');
      Object.defineProperty(error, 'errorMessage', { value: data.message });
      return error;
    }
    case 'caller':
      return new CallerError(data.errorCode, data.message, data.retryAfter);
    case 'server':
      if (data.interaction) return new InteractionRequiredError(data.fields, data.status, data.retryAfter);
      return new ServerError(data.fields, data.status, data.retryAfter);
    case 'network':
      return new NetworkError(data.errorCode, data.message, data.correlationId);
  }
}
