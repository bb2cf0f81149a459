/**
 * Browser navigations (sign-in, callback, sign-out): the user sees the answer, so an AuthError becomes
 * the error page rather than the JSON every other route answers (app.ts's onError). Anything else is
 * still our bug and goes to onError.
 */
import type { Context } from 'hono';
import { AuthError } from '../lib/mod.ts';
import type { AppEnv } from './app-env.ts';
import { errorPage } from './error-page.ts';

export function navigation(handler: (c: Context<AppEnv>) => Promise<Response>): (c: Context<AppEnv>) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (error instanceof AuthError) return errorPage(c, error);
      throw error;
    }
  };
}
