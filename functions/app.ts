/**
 * The project's own app, runtime-free: every route group (route-groups.ts) at its path. Runtime entries
 * pass a Runtime that builds dependencies and stores from their bindings.
 */
import { Hono } from 'hono';
import { CallerError } from '../lib/mod.ts';
import type { AppEnv } from './app-env.ts';
import { accountImport, answerErrors, demo, deviceEndpoints, signIn, tokenEndpoints, type Runtime } from './route-groups.ts';

export { MAX_BODY_BYTES } from './route-groups.ts';

export function createApp(runtime: Runtime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // One log line for every request, unknown paths included (the groups' own observe lets it through).
  if (runtime.observe) app.use('*', runtime.observe);
  answerErrors(app);
  app.notFound(() => {
    throw new CallerError('not_found', 'No such endpoint');
  });
  app.route('/token', tokenEndpoints(runtime));
  if (runtime.signInStores) {
    app.route('/auth', signIn(runtime));
    app.route('/device', deviceEndpoints(runtime));
    app.route('/accounts', accountImport(runtime));
    app.route('/', demo(runtime, (c, request) => Promise.resolve(app.fetch(request, c.env))));
  }
  return app;
}
