/**
 * One JSON log line per request — route, status, duration, correlation id, token source, the provider
 * calls made for it, the error — and the same facts as a metrics data point where the runtime has a
 * sink. While a request runs, its facts gather under its correlation id in this isolate: provider calls
 * from the client's observer (`providerCallLog`), the token source and the error from where the answer
 * is built (`noteTokenSource`, `noteError`, `noteUnexpected`). Runtime-free. Nothing the request carried
 * is written: no URL query (codes, state), header, cookie, body, token, key, password or user name.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { AuthError, ServerError, type ProviderCall, type ProviderObserver } from '../lib/mod.ts';
import type { Metrics, RequestFacts } from './metrics.ts';

/**
 * What the middleware needs of the app's environment: the correlation id variable (app-env.ts's AppEnv
 * has it; not imported, since deps.ts, which AppEnv names, imports this module).
 */
export interface RequestLogEnv {
  Variables: { correlationId: string };
}

export interface RequestLogOptions<E extends RequestLogEnv> {
  /** Where the request's data point goes (Workers: the METRICS Analytics Engine binding); none: nowhere. */
  metrics?: (c: Context<E>) => Metrics | undefined;
}

/** What a running request has gathered so far. */
interface Gathered {
  calls: ProviderCall[];
  tokenSource?: 'cache' | 'identity_provider';
  /** The error the answer reports: an AuthError, or `server_error` for our own bug. */
  error?: AuthError | 'server_error';
  /** The name of the first unexpected error (our bug) met while answering. */
  exception?: string;
}

/** The requests running in this isolate, by correlation id. */
const running = new Map<string, Gathered>();

/** More calls than this for one request are counted, not listed. */
const MAX_LISTED_CALLS = 10;

/** The token flow each route serves, for metrics by flow (README "Flow map"). */
const FLOWS: Record<string, string> = {
  '/token/client': 'client_credentials',
  '/token/obo': 'on_behalf_of',
  '/api/profile': 'on_behalf_of',
  '/auth/token': 'silent',
  '/auth/login': 'authorization_code',
  '/auth/callback': 'authorization_code',
  '/device/start': 'device_code',
  '/device/poll': 'device_code',
  '/token/password': 'password',
  '/accounts/import': 'refresh_token',
};

/**
 * The client's observer (functions/deps.ts gives it to the clients that serve requests): a call made
 * for a running request joins that request's line; any other — a background renewal that outlives its
 * answer, a key set refetch that belongs to no request — gets a line of its own.
 */
export const providerCallLog: ProviderObserver = {
  providerCall(call) {
    const gathered = call.correlationId === undefined ? undefined : running.get(call.correlationId);
    if (gathered) gathered.calls.push(call);
    else console.log(JSON.stringify({ message: `provider call ${call.endpoint} ${call.status}`, ...(call.correlationId ? { correlation_id: call.correlationId } : {}), ...callFields(call) }));
  },
};

/** The answer carries a token (token-response.ts, headless-sign-in.ts). */
export function noteTokenSource(correlationId: string, tokenSource: 'cache' | 'identity_provider'): void {
  const gathered = running.get(correlationId);
  if (gathered) gathered.tokenSource = tokenSource;
}

/** The answer is this error (errors.ts, error-page.ts). */
export function noteError(correlationId: string, error: AuthError | 'server_error'): void {
  const gathered = running.get(correlationId);
  if (gathered) gathered.error = error;
}

/**
 * An unexpected error (our bug) met while answering, by name only: messages may quote provider bodies.
 * Outside a logged request it gets a line of its own, so that no bug goes unseen.
 */
export function noteUnexpected(correlationId: string, error: unknown): void {
  const gathered = running.get(correlationId);
  if (gathered) gathered.exception ??= errorName(error);
  else console.error(JSON.stringify({ message: `unexpected error ${errorName(error)}`, correlation_id: correlationId, exception: errorName(error) }));
}

/**
 * The request log middleware: mount it before any other, so that its duration is the request's and
 * every answer, error answers included, passes through it. It gives the request its correlation id
 * (`c.var.correlationId`) unless one is set already. Mounted again on the way (route groups nested in
 * an app that has it too), it lets the request through: the first one writes the line.
 */
export function requestLog<E extends RequestLogEnv = RequestLogEnv>(options: RequestLogOptions<E> = {}): MiddlewareHandler<E> {
  return async (c, next) => {
    const started = performance.now();
    let correlationId = c.get('correlationId');
    if (correlationId !== undefined && running.has(correlationId)) return next();
    if (!correlationId) c.set('correlationId', (correlationId = crypto.randomUUID()));
    const gathered: Gathered = { calls: [] };
    running.set(correlationId, gathered);
    let failed = false;
    try {
      await next();
    } catch (error) {
      // Hono answers every Error through onError; only a thrown non-Error reaches here.
      failed = true;
      gathered.exception ??= errorName(error);
      throw error;
    } finally {
      running.delete(correlationId);
      const facts = requestFacts(c, gathered, failed ? 500 : c.res.status, performance.now() - started);
      const exception = gathered.exception ?? (c.error && !(c.error instanceof AuthError) ? errorName(c.error) : undefined);
      writeLine(facts, { request: correlationId, answered: answeredCorrelationId(c, gathered) ?? correlationId }, gathered.calls, exception);
      try {
        options.metrics?.(c)?.write(facts);
      } catch {
        // Metrics never fail a request.
      }
    }
  };
}

/** The error the answer reports: what its builder noted; else what Hono's onError answered. */
function answeredError<E extends RequestLogEnv>(c: Context<E>, gathered: Gathered): AuthError | 'server_error' | undefined {
  return gathered.error ?? (c.error instanceof AuthError ? c.error : c.error ? 'server_error' : undefined);
}

/**
 * A provider's error answer reports the provider's correlation id, which may differ from the one we
 * sent. Only a GUID is taken: a sign-in callback's error parameters are whatever the browser brought.
 */
function answeredCorrelationId<E extends RequestLogEnv>(c: Context<E>, gathered: Gathered): string | undefined {
  const error = answeredError(c, gathered);
  const id = error instanceof AuthError ? error.correlationId : undefined;
  return id !== undefined && GUID.test(id) ? id : undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/**
 * An error code as logged and counted: OAuth's and ours are short snake_case words; anything else (a
 * callback's `error` parameter is the browser's to choose) is `other`, so that no request can write its
 * own text into the log or grow the metrics' cardinality.
 */
function loggedCode(code: string): string {
  return /^[a-z_]{1,32}$/.test(code) ? code : 'other';
}

function requestFacts<E extends RequestLogEnv>(c: Context<E>, gathered: Gathered, status: number, elapsed: number): RequestFacts {
  // The pattern of the last handler that ran: the one that answered (or, for an unknown path, the last
  // middleware it passed). Patterns matched after it, never run, are not the route.
  const route = routePath(c) || '*';
  const flow = FLOWS[route];
  const error = answeredError(c, gathered);
  let providerMs = 0;
  let refreshes = 0;
  for (const call of gathered.calls) {
    providerMs += call.ms;
    if (call.grant === 'refresh_token') refreshes++;
  }
  return {
    method: METHODS.has(c.req.method) ? c.req.method : 'OTHER',
    route,
    ...(flow ? { flow } : {}),
    status,
    durationMs: round(elapsed),
    ...(gathered.tokenSource ? { tokenSource: gathered.tokenSource } : {}),
    providerCalls: gathered.calls.length,
    providerMs: round(providerMs),
    refreshes,
    ...(error ? { error: error === 'server_error' ? error : loggedCode(error.errorCode) } : {}),
    throttled: error instanceof ServerError && error.retryAfter !== undefined,
  };
}

/**
 * The line: flat JSON fields, for Workers Logs and Deno Deploy to filter on; error level for a 5xx. Its
 * correlation id is the one the answer carries; when that is the provider's own, `client_request_id` is
 * the one we sent it (and the provider calls were made under).
 */
function writeLine(facts: RequestFacts, ids: { request: string; answered: string }, calls: readonly ProviderCall[], exception: string | undefined): void {
  const line = {
    message: `${facts.method} ${facts.route} ${facts.status}`,
    method: facts.method,
    route: facts.route,
    ...(facts.flow ? { flow: facts.flow } : {}),
    status: facts.status,
    duration_ms: facts.durationMs,
    correlation_id: ids.answered,
    ...(ids.answered !== ids.request ? { client_request_id: ids.request } : {}),
    ...(facts.tokenSource ? { token_source: facts.tokenSource } : {}),
    provider_calls: facts.providerCalls,
    provider_ms: facts.providerMs,
    ...(calls.length ? { provider: calls.slice(0, MAX_LISTED_CALLS).map(callFields) } : {}),
    ...(facts.error ? { error: facts.error } : {}),
    ...(facts.throttled ? { throttled: true } : {}),
    ...(exception ? { exception } : {}),
  };
  const text = JSON.stringify(line);
  // A 5xx, or a bug met on the way to another answer (an account import reports it per account).
  if (facts.status >= 500 || exception) console.error(text);
  else console.log(text);
}

function callFields(call: ProviderCall): Record<string, unknown> {
  return {
    endpoint: call.endpoint,
    ...(call.grant ? { grant: call.grant } : {}),
    status: call.status,
    ms: call.ms,
    ...(call.retried ? { retried: true } : {}),
    ...(call.throttled ? { throttled: true } : {}),
  };
}

/** An error's class name (`TypeError`); a name that is not a plain identifier is just `Error`. */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  return /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(error.name) ? error.name : 'Error';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
