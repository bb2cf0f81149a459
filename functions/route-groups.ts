/**
 * The route groups as factories, each a Hono sub-app that carries everything its routes need (request
 * context, body limit, dependencies, stores, the error mapping and `Cache-Control: no-store`), so that a
 * user mounts any of them in their own Hono app at the path of their choosing:
 *
 *   app.route('/token', tokenEndpoints(runtime));
 *   app.route('/auth', signIn(runtime));
 *
 * `runtime` says where dependencies and stores come from on this runtime (workers/runtime.ts: bindings;
 * deno/main.ts: Deno KV). The project's own app (app.ts) is built from the same factories.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AuthError, CallerError, type ConfidentialClientApplication } from '../lib/mod.ts';
import type { AppEnv, SignInStores, WaitUntil } from './app-env.ts';
import type { Deps } from './deps.ts';
import { errorResponse, unexpectedErrorResponse } from './errors.ts';
import type { RateLimits } from './rate-limits.ts';
import { accountImportRoutes, importBodyLimit } from './routes/account-import.ts';
import { demoRoutes } from './routes/demo.ts';
import { deviceDemoRoutes } from './routes/device-demo.ts';
import { deviceRoutes } from './routes/device.ts';
import { onBehalfOfRoutes } from './routes/on-behalf-of.ts';
import { passwordRoutes } from './routes/password.ts';
import { profileRoutes } from './routes/profile.ts';
import { sessionRoutes } from './routes/session.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { clientTokenRoutes } from './routes/token-client.ts';
import { userTokenRoutes } from './routes/user-token.ts';

/** Where a runtime's dependencies come from, per request. */
export interface Runtime {
  getDeps: (c: Context<AppEnv>) => Promise<Deps>;
  /** Keeps background work alive after the response (Workers: ctx.waitUntil). */
  waitUntil: (c: Context<AppEnv>) => WaitUntil | undefined;
  /** Flow and account stores of the sign-in routes; absent where those are not served. */
  signInStores?: (c: Context<AppEnv>) => SignInStores;
  /** Abuse limits (Workers: rate limiting bindings); absent where the runtime has none. */
  rateLimits?: (c: Context<AppEnv>) => RateLimits;
  /** Middleware run first in every group (the request log). */
  observe?: MiddlewareHandler<AppEnv>;
}

/** Token requests are a few scopes; 16 KiB leaves room for a claims challenge and nothing more. */
export const MAX_BODY_BYTES = 16 * 1024;

const streamedBodyLimit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new CallerError('request_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes`);
  },
});

/**
 * Hono's bodyLimit, with its Content-Length case decided from the headers alone: Hono first asks for
 * `request.body`, which makes Deno build a stream that every later read goes through (a sixth of a
 * cache hit there). A declared length cannot be exceeded (the server frames the body by it); a body
 * without one (chunked) is counted as it is read, by Hono's own middleware.
 */
export const limitBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const headers = c.req.raw.headers;
  const declared = headers.get('content-length');
  if (declared === null || headers.has('transfer-encoding')) return streamedBodyLimit(c, next);
  // As Hono: a request without a body passes whatever it declares.
  if (parseInt(declared, 10) > MAX_BODY_BYTES && c.req.raw.body) throw new CallerError('request_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes`);
  await next();
};

/**
 * The request's context, set once even where groups are nested. The request log (runtime.observe, run
 * first) may have given the request its correlation id already.
 */
function requestContext(runtime: Runtime): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get('rateLimits') === undefined) {
      if (c.get('correlationId') === undefined) c.set('correlationId', crypto.randomUUID());
      c.set('waitUntil', runtime.waitUntil(c));
      c.set('rateLimits', runtime.rateLimits?.(c) ?? {});
    }
    await next();
  };
}

/**
 * Every HTML page and JSON answer is personal (a session, a token, an error about this request): no
 * browser or intermediary may keep it. Anything else is kept only where its route said so.
 */
export const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const headers = c.res.headers;
  // Already so (every token answer): nothing to set.
  if (headers.get('cache-control') === 'no-store') return;
  const type = headers.get('content-type') ?? '';
  if (/^(?:text\/html|application\/json)\b/i.test(type) || !headers.has('cache-control')) headers.set('cache-control', 'no-store');
};

/** The one mapping of errors to answers, for a group or a whole app. */
export function answerErrors(app: Hono<AppEnv>): void {
  app.onError((error, c) => {
    const correlationId = c.get('correlationId') ?? crypto.randomUUID();
    return error instanceof AuthError ? errorResponse(error, correlationId) : unexpectedErrorResponse(error, correlationId);
  });
}

/** A sub-app with the request context, no-store and the error mapping. */
function group(runtime: Runtime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  if (runtime.observe) app.use('*', runtime.observe);
  app.use('*', requestContext(runtime), noStore);
  answerErrors(app);
  return app;
}

function withDeps(runtime: Runtime): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('deps', await runtime.getDeps(c));
    await next();
  };
}

/** @throws ClientConfigurationError where the runtime has no sign-in stores. */
function withSignInStores(runtime: Runtime): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!runtime.signInStores) throw new CallerError('not_found', 'No such endpoint');
    c.set('signIn', runtime.signInStores(c));
    await next();
  };
}

/**
 * `/client` (app tokens), `/obo` (on behalf of a user), and with sign-in stores `/password` (behind
 * ENABLE_PASSWORD_GRANT). Only POST builds dependencies: any other method is a 405 even on a deployment
 * without settings.
 */
export function tokenEndpoints(runtime: Runtime): Hono<AppEnv> {
  const app = group(runtime);
  const deps = withDeps(runtime);
  app.post('/client', limitBody, deps);
  app.route('/client', clientTokenRoutes);
  app.post('/obo', limitBody, deps);
  app.route('/obo', onBehalfOfRoutes);
  if (runtime.signInStores) {
    // A headless sign-in by a caller: it stores an account, like the sign-in routes.
    app.use('/password/*', limitBody, deps, withSignInStores(runtime));
    app.route('/password', passwordRoutes);
  }
  return app;
}

/** The browser sign-in and its session: `/login`, `/callback`, `/me`, `/token`, `/logout`. */
export function signIn(runtime: Runtime): Hono<AppEnv> {
  const app = group(runtime);
  app.use('*', limitBody, withDeps(runtime), withSignInStores(runtime));
  app.route('/', signInRoutes);
  app.route('/', sessionRoutes);
  app.route('/', userTokenRoutes);
  return app;
}

/** The device code flow: `/start`, `/poll`. */
export function deviceEndpoints(runtime: Runtime): Hono<AppEnv> {
  const app = group(runtime);
  app.use('*', limitBody, withDeps(runtime), withSignInStores(runtime));
  app.route('/', deviceRoutes);
  return app;
}

/** Migration from another MSAL deployment: `/import`. */
export function accountImport(runtime: Runtime): Hono<AppEnv> {
  const app = group(runtime);
  app.use('*', importBodyLimit, withDeps(runtime), withSignInStores(runtime));
  app.route('/', accountImportRoutes);
  return app;
}

/**
 * The demo SPA (`/`, `/demo.js`, `/device`, `/device.js`) and its APIs (`/api/demo`, `/api/profile`).
 * `fetchSelf` sends a request through the whole app: the middle tier calls the demo API as any client would.
 */
export function demo(runtime: Runtime, fetchSelf: (c: Context<AppEnv>, request: Request) => Promise<Response>): Hono<AppEnv> {
  const app = group(runtime);
  // Mounted at the root: dependencies for its own paths only, so that an unknown path stays a plain 404.
  for (const path of ['/', '/demo.js', '/device', '/device.js', '/api/*']) app.use(path, withDeps(runtime));
  app.route('/', demoRoutes);
  app.route('/', deviceDemoRoutes);
  app.route('/', profileRoutes(fetchSelf));
  return app;
}

/**
 * For a user's own handlers: `c.var.identity` is the configured client (acquireTokenForClient,
 * acquireTokenOnBehalfOf, validateAccessToken, …), built once per isolate.
 */
export function identity(runtime: Pick<Runtime, 'getDeps'>): MiddlewareHandler<{ Variables: { identity: ConfidentialClientApplication } }> {
  return async (c, next) => {
    c.set('identity', (await runtime.getDeps(c as unknown as Context<AppEnv>)).client);
    await next();
  };
}
