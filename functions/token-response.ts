/** The JSON answer of every token-minting endpoint: one shape for the app-token, user and device routes. */
import type { AuthenticationResult } from '../lib/mod.ts';
import { noteTokenSource } from './request-log.ts';

export function tokenFields(result: AuthenticationResult): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    access_token: result.accessToken,
    token_type: result.tokenType,
    expires_in: Math.max(0, result.expiresOn - now),
    expires_on: result.expiresOn,
    ext_expires_in: Math.max(0, result.extExpiresOn - now),
    scope: result.scopes.join(' '),
    token_source: result.tokenSource,
    correlation_id: result.correlationId,
  };
}

export function tokenResponse(result: AuthenticationResult): Response {
  // The result's correlation id is the request's (a provider echoes the client-request-id it was sent).
  noteTokenSource(result.correlationId, result.tokenSource);
  return new Response(JSON.stringify(tokenFields(result)), { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}
