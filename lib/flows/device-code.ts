/**
 * Sign-in with the device code flow (MSAL's initiate_device_flow / acquire_token_by_device_flow): the
 * flow object from the device authorization endpoint, one non-blocking poll step for callers that drive
 * their own loop (a Durable Object alarm), and the blocking loop MSAL users expect. A successful poll
 * ends like every sign-in: ID token validated, Account built as MSAL builds it, access token cached, and
 * the account record returned for the account store. Polls are never retried: the next poll is the retry.
 */
import type { AccountRecord } from '../account.ts';
import { base64url, sha256 } from '../encoding.ts';
import { ServerError, type ProviderErrorFields } from '../errors.ts';
import {
  deviceAuthorizationRequest,
  deviceCodeRequest,
  processDeviceAuthorizationResponse,
  processDeviceCodeResponse,
} from '../oauth/device-code.ts';
import { sendTokenRequest } from '../oauth/provider-http.ts';
import { resourceScopes, scopesToTarget } from '../scopes.ts';
import { signInTenants } from '../tenants.ts';
import { authorizationServer, tokenEndpoint, type ClientContext } from './context.ts';
import { redeemSignIn, type SignInOutcome, type SignInResult } from './sign-in-result.ts';

/** What a device and its poller keep between the steps (MSAL's device flow dict). Plain data: it may be stored. */
export interface DeviceCodeFlow {
  /** Secret: only the poller needs it; never shown to the user. */
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** What to show the user (the provider's text, else one in MSAL's words). */
  message: string;
  /** Seconds between polls, as the provider asked at the start. */
  interval: number;
  /** Epoch ms: after this the device code is dead. */
  expiresAt: number;
  /** Resource scopes the flow was started for (without the OIDC scopes). */
  scopes: string[];
  claims?: string;
}

export interface DeviceFlowRequest {
  scopes: readonly string[];
  claims?: string;
}

/** Seconds RFC 8628 §3.5 adds to the interval on every `slow_down`. */
export const SLOW_DOWN_SECONDS = 5;

/** The errors that end a device flow, by their RFC 8628 names (Entra's `authorization_declined` is `access_denied`). */
export const DEVICE_FLOW_TERMINAL_ERRORS = ['expired_token', 'access_denied', 'bad_verification_code'] as const;

export type DeviceCodeResult = SignInResult;

export type DevicePoll =
  | { status: 'pending' }
  /** Poll SLOW_DOWN_SECONDS slower than before, from now on (RFC 8628 §3.5). */
  | { status: 'slow_down' }
  | { status: 'done'; result: DeviceCodeResult; record: AccountRecord };

/**
 * @throws CallerError `invalid_request` for malformed scopes; ClientConfigurationError ALLOWED_TENANTS;
 *   ServerError for the provider's refusal (e.g. `invalid_scope`); NetworkError.
 */
export async function initiateDeviceFlow(
  ctx: ClientContext,
  request: DeviceFlowRequest,
  correlationId: string = crypto.randomUUID(),
): Promise<DeviceCodeFlow> {
  const scopes = resourceScopes(request.scopes);
  const { authority, clientId, timeoutMs, retryDelayMs } = ctx.config;
  signInTenants(authority, ctx.config.allowedTenants);
  const as = await authorizationServer(ctx);
  const endpoint = tokenEndpoint(ctx, as);
  const requestedAt = ctx.deps.now();
  const response = await sendTokenRequest(
    (init) => deviceAuthorizationRequest(endpoint, { scopes, ...(request.claims ? { claims: request.claims } : {}) }, init),
    // A lost answer costs nothing but another device code: one retry, as for client credentials.
    { retry: true, thumbprint: [authority.url, clientId, 'device_authorization', scopesToTarget(scopes)].join('|'), throttling: ctx.deps.throttling, correlationId },
    { timeoutMs, retryDelayMs, now: ctx.deps.now },
  );
  const answer = await processDeviceAuthorizationResponse(endpoint, response, correlationId);
  const flow: DeviceCodeFlow = {
    deviceCode: answer.device_code,
    userCode: answer.user_code,
    verificationUri: answer.verification_uri,
    message: answer.message ?? `To sign in, use a web browser to open the page ${answer.verification_uri} and enter the code ${answer.user_code} to authenticate.`,
    interval: answer.interval,
    // Counted from when the request was sent, like token expiry.
    expiresAt: requestedAt + answer.expires_in * 1000,
    scopes,
  };
  if (answer.verification_uri_complete) flow.verificationUriComplete = answer.verification_uri_complete;
  if (request.claims) flow.claims = request.claims;
  return flow;
}

/**
 * One poll, without waiting: `pending` and `slow_down` are answers, not errors (never interaction
 * required, never throttled: only a Retry-After is). A flow past its `expiresAt` is not sent.
 * @throws ServerError `expired_token` / `access_denied` / `bad_verification_code` (the flow is over);
 *   InteractionRequiredError (e.g. `invalid_grant`: a device code already redeemed); CallerError
 *   `access_denied` for a user of a tenant not allowed (nothing stored); ThrottlingError; NetworkError.
 */
export async function pollDeviceFlow(ctx: ClientContext, flow: DeviceCodeFlow, correlationId: string = crypto.randomUUID()): Promise<DevicePoll> {
  if (ctx.deps.now() >= flow.expiresAt) {
    throw new ServerError({ error: 'expired_token', error_description: 'The device code expired before the user completed the sign-in', correlation_id: correlationId }, 400);
  }
  let outcome: SignInOutcome;
  try {
    outcome = await redeemSignIn(
      ctx,
      {
        grant: 'device_code',
        // One device code is one request (another flow's Retry-After never blocks this one); by its hash,
        // since the device code is a credential.
        identity: [base64url(await sha256(flow.deviceCode))],
        scopes: flow.scopes,
        send: (endpoint, init) => deviceCodeRequest(endpoint, { deviceCode: flow.deviceCode, scopes: flow.scopes }, init),
        process: (response, checks, id) => processDeviceCodeResponse(checks, response, id),
      },
      correlationId,
    );
  } catch (error) {
    if (error instanceof ServerError) {
      if (error.errorCode === 'authorization_pending') return { status: 'pending' };
      if (error.errorCode === 'slow_down') return { status: 'slow_down' };
      if (error.errorCode === 'authorization_declined') throw new ServerError(declined(error.fields), error.providerStatus, error.retryAfter);
    }
    throw error;
  }
  return { status: 'done', ...outcome };
}

export interface DeviceFlowOptions {
  /** Stops the loop (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  correlationId?: string;
  /** How to wait between polls (tests inject one that moves a fake clock). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * MSAL's acquire_token_by_device_flow: waits `interval` before each poll (5 s more after every
 * `slow_down`), keeps going while the sign-in is pending, and stops on success, on an error that ends
 * the flow, when the flow expires (`expired_token`, without another poll) or when `signal` aborts.
 * @throws as pollDeviceFlow; the signal's reason when it aborts.
 */
export async function acquireTokenByDeviceFlow(
  ctx: ClientContext,
  flow: DeviceCodeFlow,
  options: DeviceFlowOptions = {},
): Promise<{ result: DeviceCodeResult; record: AccountRecord }> {
  const { signal, sleep = abortableSleep } = options;
  const correlationId = options.correlationId ?? crypto.randomUUID();
  let interval = flow.interval;
  for (;;) {
    signal?.throwIfAborted();
    const left = flow.expiresAt - ctx.deps.now();
    // No poll after the flow has expired: waking at its end is enough to report it.
    await sleep(Math.max(0, Math.min(interval * 1000, left)), signal);
    signal?.throwIfAborted();
    const poll = await pollDeviceFlow(ctx, flow, correlationId);
    if (poll.status === 'done') return { result: poll.result, record: poll.record };
    if (poll.status === 'slow_down') interval += SLOW_DOWN_SECONDS;
  }
}

/** Entra's `authorization_declined` under RFC 8628's name, everything else the provider said kept. */
function declined(fields: ProviderErrorFields): ProviderErrorFields {
  return { ...fields, error: 'access_denied', error_description: fields.error_description ?? 'The user declined the sign-in' };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
