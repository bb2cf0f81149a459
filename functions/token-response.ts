/** The JSON answer of every token-minting endpoint: one shape for the app-token and SPA routes. */
import type { AuthenticationResult } from '../lib/mod.ts';

export function tokenResponse(result: AuthenticationResult): Response {
  const now = Math.floor(Date.now() / 1000);
  return new Response(
    JSON.stringify({
      access_token: result.accessToken,
      token_type: result.tokenType,
      expires_in: Math.max(0, result.expiresOn - now),
      expires_on: result.expiresOn,
      ext_expires_in: Math.max(0, result.extExpiresOn - now),
      scope: result.scopes.join(' '),
      token_source: result.tokenSource,
      correlation_id: result.correlationId,
    }),
    { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } },
  );
}
