// A plain OpenID provider at `/oidc`: oidc-provider as it comes (its own routes `/auth`, `/token`, `/jwks`,
// `/me`, `/session/end`, …; RFC 9068 `at+jwt` access tokens with `scope` and `client_id`; ID-token claims
// conformed to the userinfo endpoint; `{error, error_description}` errors), with the project's clients,
// Alice and Bob, and the APIs of config.mjs as resources named by scope prefix. No Microsoft fields:
// no `client_info`, `tid`, `oid`, `ext_expires_in`.

import { generateKeyPairSync, randomUUID } from 'node:crypto';

import { PLAIN_OIDC, RESOURCES } from './config.mjs';
import { createSurfaceProvider, surfaceClients } from './surface-provider.mjs';

const ENDPOINTS = new Map([
  ['/.well-known/openid-configuration', ['discovery']],
  ['/jwks', ['keys']],
  ['/auth', ['authorize']],
  ['/token', ['token']],
  ['/session/end', ['logout']],
  ['/me', ['userinfo']],
  ['/token/introspection', ['introspect']],
  ['/token/revocation', ['revoke']],
]);

/** A plain OAuth error body (for faults; the provider's own errors already are). */
export const plainErrorBody = ({ error, description }) => ({ error, ...(description ? { error_description: description } : {}) });

export function createPlainOidcSurface({ origin, controls, redirectUris, cookieKeys }) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: `oidc-${randomUUID().slice(0, 8)}`, use: 'sig', alg: 'RS256' };
  const issuer = `${origin}/oidc`;

  const provider = createSurfaceProvider({
    origin,
    issuer,
    signingJwk,
    cookieKeys,
    controls,
    clients: surfaceClients({ redirectUris }),
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    resources: RESOURCES,
    features: {
      userinfo: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    async findAccount(ctx, sub) {
      const user = PLAIN_OIDC.users.find((u) => u.sub === sub);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        claims: () => ({ sub: user.sub, name: user.name, preferred_username: user.username, email: user.username, email_verified: true }),
      };
    },
  });

  return {
    name: 'oidc',
    endpoints: ENDPOINTS,
    callback: provider.callback(),
    errorBody: plainErrorBody,

    match(pathname) {
      const m = /^\/oidc(\/.*)?$/.exec(pathname);
      return m ? { mount: '/oidc', rest: m[1] ?? '/' } : undefined;
    },

    findUser(login) {
      const user = PLAIN_OIDC.users.find((u) => u.username === String(login ?? '').trim().toLowerCase());
      return user && { accountId: user.sub, password: user.password };
    },

    info() {
      return {
        authority: issuer,
        issuer,
        users: PLAIN_OIDC.users.map((u) => ({ username: u.username, password: u.password, sub: u.sub, name: u.name })),
      };
    },
  };
}
