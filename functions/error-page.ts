/** Errors on browser navigations (sign-in, callback, sign-out) are pages, not JSON; statuses from errors.ts. */
import type { Context } from 'hono';
import { AuthError, ServerError } from '../lib/mod.ts';
import type { AppEnv } from './app-env.ts';
import { retryAfterOf, statusFor } from './errors.ts';
import { noteError } from './request-log.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/**
 * Renders through the context, so headers the handler set before it failed stay on the page: the
 * callback's cleared transaction cookie must reach the browser whether or not the sign-in completed.
 */
export function errorPage(c: Context<AppEnv>, error: AuthError): Response {
  noteError(c.var.correlationId, error);
  const details = error instanceof ServerError && error.errorCodes ? ` (codes ${error.errorCodes.join(', ')})` : '';
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head>
<body><h1>Sign-in failed</h1><p><strong>${escapeHtml(error.errorCode)}</strong>: ${escapeHtml(error.errorMessage)}${escapeHtml(details)}</p>
<p>Correlation id: <code>${escapeHtml(error.correlationId ?? c.var.correlationId)}</code></p><p><a href="/">Back to the start page</a></p></body></html>`;
  const retryAfter = retryAfterOf(error);
  return c.body(body, statusFor(error, 'navigation'), {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'",
    ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
  });
}
