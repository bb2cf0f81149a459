/** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the provider's end-session URL. */
import type * as oauth from 'oauth4webapi';

export function endSessionUrl(
  as: oauth.AuthorizationServer,
  request: { clientId: string; postLogoutRedirectUri?: string; idTokenHint?: string; state?: string },
): string | null {
  if (!as.end_session_endpoint) return null;
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('client_id', request.clientId);
  if (request.postLogoutRedirectUri) url.searchParams.set('post_logout_redirect_uri', request.postLogoutRedirectUri);
  if (request.idTokenHint) url.searchParams.set('id_token_hint', request.idTokenHint);
  if (request.state) url.searchParams.set('state', request.state);
  return url.href;
}
