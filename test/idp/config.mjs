// Static directory data for the local Entra-like IdP: tenants, users, app
// registrations, resources (APIs) and app-role assignments.
//
// Everything here is deterministic so tests can hard-code ids if they want to;
// only secrets that protect nothing (they are test fixtures) live here.

/**
 * Two fixed tenant ids. `common`/`organizations` serve users of both: each
 * user signs in at their home tenant's provider (see tenant-routing.mjs).
 */
export const TENANTS = Object.freeze({
  primary: '8d3f2b1e-5c4a-4e7b-9a61-0f2d3c4b5a69',
  secondary: '2f7c9e40-1b3d-4a5e-8c6f-7d9e0a1b2c3d',
});

/** Tenant path segments that Entra treats as multi-tenant aliases. */
export const TENANT_ALIASES = Object.freeze(['common', 'organizations']);

/** Each tenant's initial domain (Entra's `<name>.onmicrosoft.com`), also a tenant path segment. */
export const TENANT_INITIAL_DOMAINS = Object.freeze({
  'contoso.onmicrosoft.test': TENANTS.primary,
  'fabrikam.onmicrosoft.test': TENANTS.secondary,
});

/**
 * Domains per tenant (the verified ones and the initial one): `/{domain}/…` is that tenant (its discovery
 * names the tenant's GUID issuer and endpoints), and `domain_hint`, or the domain of an unknown
 * `login_hint`, picks the tenant at `/common`.
 */
export const TENANT_DOMAINS = Object.freeze({
  'contoso.test': TENANTS.primary,
  'fabrikam.test': TENANTS.secondary,
  ...TENANT_INITIAL_DOMAINS,
});

/**
 * Users. `homeTenant` is the tenant a multi-tenant authority (`/common`,
 * `/organizations`) signs them into (their `tid`/`iss`); `tenants` lists the
 * directories they may sign in to by tenant path. Alice and Bob are members of
 * both tenants with the same object id (keeps tests simple), Carol only of the
 * secondary one: at `/{primary}` she is refused (AADSTS50034).
 */
export const USERS = Object.freeze([
  Object.freeze({
    username: 'alice@contoso.test',
    password: 'alice-password',
    oid: '4b1c6a52-7e3f-4d28-9f0a-1c2d3e4f5a61',
    name: 'Alice',
    homeTenant: TENANTS.primary,
    tenants: Object.freeze([TENANTS.primary, TENANTS.secondary]),
  }),
  Object.freeze({
    username: 'bob@contoso.test',
    password: 'bob-password',
    oid: '9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4',
    name: 'Bob',
    homeTenant: TENANTS.primary,
    tenants: Object.freeze([TENANTS.primary, TENANTS.secondary]),
  }),
  Object.freeze({
    username: 'carol@fabrikam.test',
    password: 'carol-password',
    oid: 'c3a7e1d5-2b4f-4a69-8e0d-6f1a2b3c4d5e',
    name: 'Carol',
    homeTenant: TENANTS.secondary,
    tenants: Object.freeze([TENANTS.secondary]),
  }),
]);

/** The claims a user's tokens carry in `tenantId`, as Entra v2 puts them (sub = oid keeps tests simple). */
export const userClaims = (user, tenantId) => ({
  sub: user.oid,
  oid: user.oid,
  tid: tenantId,
  ver: '2.0',
  name: user.name,
  preferred_username: user.username,
  email: user.username,
});

export const findUserByOid = (oid) => USERS.find((u) => u.oid === oid);
export const findUserByUsername = (username) =>
  USERS.find((u) => u.username.toLowerCase() === String(username ?? '').trim().toLowerCase());

/**
 * Resources (Entra "API" app registrations). Delegated scopes are the names
 * after the resource prefix; app roles are what client-credentials tokens carry.
 */
export const RESOURCES = Object.freeze({
  'api://downstream': { scopes: ['read', 'write'], appRoles: ['Data.Read.All'] },
  'api://middle-tier': { scopes: ['access_as_user'], appRoles: [] },
  // The Worker's own API (client `web-app`): the SPA's token for it is the assertion of an OBO exchange.
  'api://web-app': { scopes: ['access_as_user'], appRoles: [] },
  'api://other': { scopes: ['read'], appRoles: ['Other.Read.All'] },
});

/**
 * App-role assignments (client id → resource → roles), i.e. admin-consented
 * application permissions. A client without an assignment still gets an app
 * token for a known resource, just without a `roles` claim (as in Entra).
 */
export const APP_ROLE_ASSIGNMENTS = Object.freeze({
  'web-app': { 'api://downstream': ['Data.Read.All'], 'api://other': ['Other.Read.All'] },
  'web-app-cert': { 'api://downstream': ['Data.Read.All'] },
  'middle-tier': { 'api://downstream': ['Data.Read.All'] },
});

/**
 * Per-client service-principal object ids: app tokens carry these as
 * `oid`/`sub`, like Entra does for the enterprise-application object.
 */
export const SERVICE_PRINCIPAL_OIDS = Object.freeze({
  'web-app': 'a1a1a1a1-0000-4000-8000-000000000001',
  'web-app-cert': 'a1a1a1a1-0000-4000-8000-000000000002',
  'middle-tier': 'a1a1a1a1-0000-4000-8000-000000000003',
  'public-client': 'a1a1a1a1-0000-4000-8000-000000000004',
});

export const CLIENT_IDS = Object.freeze({
  webApp: 'web-app',
  webAppCert: 'web-app-cert',
  middleTier: 'middle-tier',
  publicClient: 'public-client',
});

export const CLIENT_SECRETS = Object.freeze({
  webApp: 'web-app-secret-~Q8r.Zk2',
  middleTier: 'middle-tier-secret-~T5v.Xb7',
});

export const DEFAULT_REDIRECT_URIS = Object.freeze([
  'http://localhost:8787/auth/callback',
  'http://127.0.0.1:8787/auth/callback',
]);

export const DEFAULT_POST_LOGOUT_REDIRECT_URIS = Object.freeze([
  'http://localhost:8787/',
  'http://127.0.0.1:8787/',
]);

/** Defaults that `reset()` restores. */
export const DEFAULTS = Object.freeze({
  accessTokenTtl: 3600,
  deviceCodeInterval: 5,
  slowDelayMs: 15000,
});

/**
 * Split an MSAL-style scope (`api://downstream/read`) into resource and
 * scope name. Returns undefined for bare scopes (`openid`, `User.Read`).
 */
export function splitScope(scope) {
  const i = scope.lastIndexOf('/');
  // Require a scheme so `foo/bar` is not treated as a resource-qualified scope.
  if (i <= 0 || !/^[a-z][a-z0-9+.-]*:\/\//i.test(scope)) return undefined;
  const resource = scope.slice(0, i);
  if (resource.endsWith(':/')) return undefined; // e.g. "api://" alone
  return { resource, name: scope.slice(i + 1) };
}

// ---- The other real-world authorities on the same origin (b2c.mjs, adfs.mjs, plain-oidc.mjs) ----

const userOf = (username) => USERS.find((u) => u.username === username);

/**
 * The Azure AD B2C tenant (`/contosob2c.onmicrosoft.com/{policy}/…`). Its directory is its own: Alice and
 * Bob (same passwords as in Entra) with B2C object ids of their own. Policy names keep their configured
 * case here (the `tfp` claim); paths match them case-insensitively.
 */
export const B2C = Object.freeze({
  tenantId: '5e1b2c3d-9a8f-4e7d-b6c5-0a1b2c3d4e5f',
  tenantName: 'contosob2c',
  domain: 'contosob2c.onmicrosoft.com',
  policies: Object.freeze({
    signUpSignIn: 'B2C_1_signupsignin',
    passwordReset: 'B2C_1_passwordreset',
    profileEdit: 'B2C_1_profileedit',
  }),
  /** The API registered in the B2C tenant: scopes `https://contosob2c.onmicrosoft.com/api/read`, access-token `aud` = its app id. */
  api: Object.freeze({ resource: 'https://contosob2c.onmicrosoft.com/api', appId: 'b2c0a9f1-3c4d-4e5f-8a6b-7c8d9e0f1a2b', scopes: Object.freeze(['read', 'write']) }),
  users: Object.freeze([
    Object.freeze({ ...userOf('alice@contoso.test'), oid: 'b2c1a11c-6d2e-4f3a-9b4c-5d6e7f8a9b0c', emails: Object.freeze(['alice@contoso.test']) }),
    Object.freeze({ ...userOf('bob@contoso.test'), oid: 'b2c1b0b0-7e3f-4a4b-8c5d-6e7f8a9b0c1d', emails: Object.freeze(['bob@contoso.test']) }),
  ].map(({ tenants: _t, homeTenant: _h, ...u }) => u)),
});

/** AD FS (`/adfs`), Contoso's on-premises federation server: Alice and Bob with their Windows identities. */
export const ADFS = Object.freeze({
  netbiosDomain: 'CONTOSO',
  users: Object.freeze([
    Object.freeze({ username: 'alice@contoso.test', password: userOf('alice@contoso.test').password, name: 'Alice', sid: 'S-1-5-21-1004336348-1177238915-682003330-1104' }),
    Object.freeze({ username: 'bob@contoso.test', password: userOf('bob@contoso.test').password, name: 'Bob', sid: 'S-1-5-21-1004336348-1177238915-682003330-1105' }),
  ]),
});

/** A plain OpenID provider (`/oidc`): Alice and Bob with subjects of its own. */
export const PLAIN_OIDC = Object.freeze({
  users: Object.freeze([
    Object.freeze({ username: 'alice@contoso.test', password: userOf('alice@contoso.test').password, name: 'Alice', sub: '6a1f3c2e-8b4d-4e59-a7c6-1d2e3f4a5b6c' }),
    Object.freeze({ username: 'bob@contoso.test', password: userOf('bob@contoso.test').password, name: 'Bob', sub: '7b2e4d3f-9c5e-4f6a-b8d7-2e3f4a5b6c7d' }),
  ]),
});
