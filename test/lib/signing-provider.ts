/** A provider's signing key in memory: ID tokens it signs, and the checks that verify them (IdTokenContext). */
import * as jose from 'jose';
import type { AuthorizationServer } from 'oauth4webapi';
import type { Authority } from '../../lib/oauth/authority.ts';
import type { IdTokenContext } from '../../lib/oauth/id-token.ts';

export async function signingProvider(provider: { as: AuthorizationServer; authority: Authority; clientId: string; tenant: string }) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
  const keys = jose.createLocalJWKSet({ keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
  const checks: IdTokenContext = { as: provider.as, authority: provider.authority, clientId: provider.clientId, now: Date.now(), keys: () => keys };
  /** An ID token of alice (sub-1, oid-1) for `audience`, with `claims` on top. */
  const idToken = (claims: Record<string, unknown> = {}, audience = provider.clientId) =>
    new jose.SignJWT({ tid: provider.tenant, oid: 'oid-1', preferred_username: 'alice@contoso.test', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(provider.as.issuer)
      .setSubject('sub-1')
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  return { checks, idToken };
}
