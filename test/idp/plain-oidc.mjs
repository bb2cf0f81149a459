// A plain OpenID provider at `/oidc`: oidc-provider as it comes (its own routes `/auth`, `/token`, `/jwks`,
// `/me`, `/session/end`, …; RFC 9068 `at+jwt` access tokens with `scope` and `client_id`; ID-token claims
// conformed to the userinfo endpoint; `{error, error_description}` errors), with the project's clients,
// Alice and Bob, and the APIs of config.mjs as resources named by scope prefix. No Microsoft fields:
// no `client_info`, `tid`, `oid`, `ext_expires_in`.

import { PLAIN_OIDC, RESOURCES } from './config.mjs';
import { createSurfaceProvider, loginName, surfaceClients, surfaceEndpoints } from './surface-provider.mjs';

// oidc-provider's own paths for the counted routes (its defaults: the provider is not given these).
const ENDPOINTS = surfaceEndpoints({
  authorization: '/auth',
  token: '/token',
  end_session: '/session/end',
  jwks: '/jwks',
  userinfo: '/me',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
});

/** A plain OAuth error body (for faults; the provider's own errors already are). */
export const plainErrorBody = ({ error, description }) => ({ error, ...(description ? { error_description: description } : {}) });

export function createPlainOidcSurface(shared) {
  const issuer = `${shared.origin}/oidc`;

  const provider = createSurfaceProvider(shared, {
    name: 'oidc',
    issuer,
    clients: surfaceClients({ redirectUris: shared.redirectUris }),
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
      const user = PLAIN_OIDC.users.find((u) => u.username === loginName(login));
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
