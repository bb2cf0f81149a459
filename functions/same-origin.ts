/**
 * CSRF defence for state-changing browser calls (/auth/token, /auth/logout): the Origin must be one we
 * serve, and XHR-only endpoints also need a header that a cross-site form cannot send.
 */
import type { Context } from 'hono';
import { CallerError } from '../lib/mod.ts';
import type { AppEnv } from './app-env.ts';
import type { WebSettings } from './web-settings.ts';

/** @throws CallerError `forbidden` */
export function assertSameSiteRequest(c: Context<AppEnv>, web: WebSettings, requireXhrHeader: boolean): void {
  const origin = c.req.header('origin');
  if (!origin || !web.allowedOrigins.has(origin)) throw new CallerError('forbidden', 'This request must come from an allowed origin');
  if (requireXhrHeader && !c.req.header('x-requested-with')) {
    throw new CallerError('forbidden', 'This request needs the X-Requested-With header');
  }
}
