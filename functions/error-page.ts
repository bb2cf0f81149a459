/** Errors on browser navigations (sign-in, callback, sign-out) are pages, not JSON; same status rules. */
import { AuthError, ServerError } from '../lib/mod.ts';
import { statusFor } from './errors.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

export function errorPage(error: AuthError, correlationId: string, status = statusFor(error)): Response {
  const details = error instanceof ServerError && error.errorCodes ? ` (codes ${error.errorCodes.join(', ')})` : '';
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head>
<body><h1>Sign-in failed</h1><p><strong>${escapeHtml(error.errorCode)}</strong>: ${escapeHtml(error.errorMessage)}${escapeHtml(details)}</p>
<p>Correlation id: <code>${escapeHtml(error.correlationId ?? correlationId)}</code></p><p><a href="/">Back to the start page</a></p></body></html>`;
  return new Response(body, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'" },
  });
}
