/**
 * The HTTP surface, runtime-free: mounts the route modules, input limits and the error mapping. Runtime
 * entries pass a `getDeps` that builds dependencies from their bindings.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AuthError, CallerError } from '../lib/mod.ts';
import type { AppEnv, SignInStores, WaitUntil } from './app-env.ts';
import type { Deps } from './deps.ts';
import type { RateLimits } from './rate-limits.ts';
import { errorResponse, unexpectedErrorResponse } from './errors.ts';
import { accountImportRoutes, importBodyLimit } from './routes/account-import.ts';
import { demoRoutes } from './routes/demo.ts';
import { deviceRoutes } from './routes/device.ts';
import { deviceDemoRoutes } from './routes/device-demo.ts';
import { onBehalfOfRoutes } from './routes/on-behalf-of.ts';
import { passwordRoutes } from './routes/password.ts';
import { profileRoutes } from './routes/profile.ts';
import { sessionRoutes } from './routes/session.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { clientTokenRoutes } from './routes/token-client.ts';
import { userTokenRoutes } from './routes/user-token.ts';

export interface AppOptions {
  getDeps: (c: Context<AppEnv>) => Promise<Deps>;
  /** Keeps background work alive after the response (Workers: ctx.waitUntil). */
  waitUntil: (c: Context<AppEnv>) => WaitUntil | undefined;
  /** Flow and account stores for the browser sign-in routes; absent where those are not served. */
  signInStores?: (c: Context<AppEnv>) => SignInStores;
  /** Abuse limits (Workers: rate limiting bindings); absent where the runtime has none. */
  rateLimits?: (c: Context<AppEnv>) => RateLimits;
}

/** Token requests are a few scopes; 16 KiB leaves room for a claims challenge and nothing more. */
export const MAX_BODY_BYTES = 16 * 1024;

export function createApp(options: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    c.set('correlationId', crypto.randomUUID());
    c.set('waitUntil', options.waitUntil(c));
    c.set('rateLimits', options.rateLimits?.(c) ?? {});
    await next();
  });

  // Every HTML page and JSON answer is personal (a session, a token, an error about this request):
  // no browser or intermediary may keep it. Anything else is kept only where its route said so.
  app.use('*', async (c, next) => {
    await next();
    const type = c.res.headers.get('content-type') ?? '';
    if (/^(?:text\/html|application\/json)\b/i.test(type) || !c.res.headers.has('cache-control')) {
      c.res.headers.set('cache-control', 'no-store');
    }
  });

  app.onError((error, c) =>
    error instanceof AuthError ? errorResponse(error, c.var.correlationId) : unexpectedErrorResponse(error, c.var.correlationId),
  );
  app.notFound(() => {
    throw new CallerError('not_found', 'No such endpoint');
  });

  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new CallerError('request_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes`);
    },
  });

  const withDeps = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    c.set('deps', await options.getDeps(c));
    await next();
  };

  // Only POST builds deps: any other method is a 405 even on a deployment without settings.
  app.post('/token/client', limitBody, withDeps);
  app.route('/token/client', clientTokenRoutes);
  app.post('/token/obo', limitBody, withDeps);
  app.route('/token/obo', onBehalfOfRoutes);

  const { signInStores } = options;
  if (signInStores) {
    const withSignInStores = async (c: Context<AppEnv>, next: () => Promise<void>) => {
      c.set('signIn', signInStores(c));
      await next();
    };
    app.use('/auth/*', limitBody, withDeps, withSignInStores);
    app.use('/device/*', limitBody, withDeps, withSignInStores);
    app.route('/device', deviceRoutes);
    // Headless sign-ins by callers: they store an account, like the sign-in routes.
    app.use('/token/password/*', limitBody, withDeps, withSignInStores);
    app.route('/token/password', passwordRoutes);
    app.use('/accounts/*', importBodyLimit, withDeps, withSignInStores);
    app.route('/accounts', accountImportRoutes);
    app.route('/auth', signInRoutes);
    app.route('/auth', sessionRoutes);
    app.route('/auth', userTokenRoutes);
    app.use('/', withDeps);
    app.use('/demo.js', withDeps);
    app.use('/api/*', withDeps);
    app.route('/', demoRoutes);
    app.route('/', deviceDemoRoutes);
    // The demo middle tier calls the demo API as any client would: a new request through this app.
    app.route('/', profileRoutes((c, request) => Promise.resolve(app.fetch(request, c.env))));
  }

  return app;
}
