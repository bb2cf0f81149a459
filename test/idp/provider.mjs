// One oidc-provider instance per tenant, configured to look like Entra v2:
// Entra endpoint paths, Entra claims in tokens, Entra-only response fields
// and Entra error bodies. HTTP-level concerns (tenant routing, faults,
// counting, body rewrites) live in server.mjs; this file is "the tenant".

import { Provider } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

import {
  APP_ROLE_ASSIGNMENTS, CLIENT_IDS, CLIENT_SECRETS, DEFAULT_POST_LOGOUT_REDIRECT_URIS,
  RESOURCES, SERVICE_PRINCIPAL_OIDS, findUserByOid, splitScope, userClaims,
} from './config.mjs';
import { EntraError, entraErrorBody } from './entra-errors.mjs';
import { createIdTokenCrafter } from './id-token-craft.mjs';
import { JWT_BEARER, registerOboGrant } from './obo-grant.mjs';
import { PASSWORD_GRANT, registerPasswordGrant } from './password-grant.mjs';

/** oidc-provider route names → Entra v2 paths (relative to `/{tenant}`). */
export const ENTRA_ROUTES = Object.freeze({
  authorization: '/oauth2/v2.0/authorize',
  token: '/oauth2/v2.0/token',
  // MSAL derives the device endpoint as token_endpoint.replace('/token', '/devicecode').
  device_authorization: '/oauth2/v2.0/devicecode',
  end_session: '/oauth2/v2.0/logout',
  jwks: '/discovery/v2.0/keys',
  introspection: '/oauth2/v2.0/introspect',
  revocation: '/oauth2/v2.0/revoke',
  userinfo: '/oidc/userinfo',
  code_verification: '/devicelogin',
  backchannel_authentication: '/oauth2/v2.0/bc-authorize',
  pushed_authorization_request: '/oauth2/v2.0/par',
  registration: '/oauth2/v2.0/register',
  challenge: '/oauth2/v2.0/challenge',
  credential: '/oauth2/v2.0/credential',
});

const STATIC_SCOPES = ['openid', 'offline_access', 'profile', 'email'];

// Routes whose errors are JSON for machine clients and so get Entra's shape.
const JSON_ROUTES = new Set(['token', 'device_authorization', 'introspection', 'revocation', 'discovery', 'jwks', 'userinfo']);

// oidc-provider reports errors through events only; we stash the error on the
// Koa context so the response middleware can put its detail into AADSTS text.
const ERROR_EVENTS = [
  'grant.error', 'device_authorization.error', 'introspection.error', 'revocation.error',
  'discovery.error', 'jwks.error', 'userinfo.error', 'server_error',
];

/** Map-backed store with per-entry expiry (oidc-provider's default LRU caps at 1000 entries). */
export class ExpiringStore {
  #entries = new Map();

  get(key) {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key, value, options) {
    const expiresAt = options?.maxAge !== undefined ? Date.now() + options.maxAge : undefined;
    this.#entries.set(key, { value, expiresAt });
  }

  delete(key) {
    this.#entries.delete(key);
  }
}

const base64urlJson = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Parse a space-delimited scope param into resource-qualified scopes, checked
 * against the directory. Throws Entra-style errors for unknown APIs/scopes.
 */
function parseResourceScopes(scopeParam, tenantId) {
  const parsed = [];
  for (const scope of String(scopeParam ?? '').split(' ').filter(Boolean)) {
    if (STATIC_SCOPES.includes(scope)) continue;
    const split = splitScope(scope);
    if (!split) {
      // Entra would read a bare scope as Microsoft Graph, which we don't host.
      throw new EntraError('invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope '${scope}' is not valid (no resource prefix; Microsoft Graph is not available on the local IdP).`);
    }
    const api = RESOURCES[split.resource];
    if (!api) {
      throw new EntraError('invalid_resource', 500011, `The resource principal named ${split.resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
    }
    if (split.name !== '.default' && !api.scopes.includes(split.name)) {
      throw new EntraError('invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope '${scope}' does not exist.`);
    }
    parsed.push({ scope, ...split });
  }
  return parsed;
}

function resourceServerInfo(resource, controls) {
  const api = RESOURCES[resource];
  return {
    scope: ['.default', ...api.scopes].map((name) => `${resource}/${name}`).join(' '),
    audience: resource,
    accessTokenFormat: 'jwt',
    accessTokenTTL: controls.accessTokenTtl,
    jwt: { sign: { alg: 'RS256' } },
  };
}

/**
 * Client registrations, identical in every tenant (multi-tenant apps).
 * @param {{ redirectUris: string[], certJwk: object }} opts
 */
function clientMetadata({ redirectUris, certJwk }) {
  const web = {
    redirect_uris: redirectUris,
    // Every app that may sign in may also be sent back to its own start page after sign-out.
    post_logout_redirect_uris: [...new Set([...DEFAULT_POST_LOGOUT_REDIRECT_URIS, ...redirectUris.map((uri) => new URL('/', uri).href)])],
    response_types: ['code'],
  };
  return [
    {
      ...web,
      client_id: CLIENT_IDS.webApp,
      client_secret: CLIENT_SECRETS.webApp,
      // oidc-provider accepts basic and post interchangeably for secret clients.
      token_endpoint_auth_method: 'client_secret_basic',
      // Also the middle tier for on-behalf-of (the Worker under test is SPA backend and web API),
      // and allowed the password grant (password-grant.mjs; no other client is).
      // The device code grant too: the Worker polls for devices (device code flow).
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token', JWT_BEARER, PASSWORD_GRANT, 'urn:ietf:params:oauth:grant-type:device_code'],
    },
    {
      ...web,
      client_id: CLIENT_IDS.webAppCert,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [certJwk] },
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    },
    {
      ...web,
      client_id: CLIENT_IDS.middleTier,
      client_secret: CLIENT_SECRETS.middleTier,
      token_endpoint_auth_method: 'client_secret_post',
      // On-behalf-of: the jwt-bearer grant of obo-grant.mjs.
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token', JWT_BEARER],
    },
    {
      ...web,
      client_id: CLIENT_IDS.publicClient,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    },
  ];
}

/**
 * @param {object} o
 * @param {string} o.origin
 * @param {string} o.tenantId
 * @param {object} o.signingJwk     private JWK shared by all tenants (Entra shares keys too)
 * @param {object} o.certJwk        public JWK of web-app-cert's certificate
 * @param {string[]} o.redirectUris
 * @param {string[]} o.cookieKeys
 * @param {import('./faults.mjs').TestControls} o.controls
 * @returns {Provider}
 */
export function createTenantProvider({ origin, tenantId, signingJwk, certJwk, redirectUris, cookieKeys, controls }) {
  const issuer = `${origin}/${tenantId}/v2.0`;
  const store = new ExpiringStore();

  const provider = new Provider(issuer, {
    adapter: (model) => new MemoryAdapter(model, store),
    clients: clientMetadata({ redirectUris, certJwk }),
    jwks: { keys: [signingJwk] },
    cookies: { keys: cookieKeys },
    routes: ENTRA_ROUTES,
    scopes: STATIC_SCOPES,
    claims: {
      // Entra puts these in every v2 ID token regardless of `profile`.
      openid: ['sub', 'oid', 'tid', 'ver', 'name', 'preferred_username'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    conformIdTokenClaims: false,
    // Browser-facing errors (authorize, interaction). JSON routes are rewritten
    // to Entra's shape by the middleware below regardless of this page.
    async renderError(ctx, out) {
      ctx.type = 'html';
      const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!DOCTYPE html><html><body><h1>Sign-in error</h1><p id="error">${esc(out.error)}</p><p id="error_description">${esc(out.error_description ?? '')}</p></body></html>`;
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    clientBasedCORS: () => true,
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256'],
    },
    ttl: {
      AccessToken: () => controls.accessTokenTtl,
      ClientCredentials: () => controls.accessTokenTtl,
      AuthorizationCode: 600,
      DeviceCode: 900, // Entra: 15 minutes
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    discovery: {
      // Entra-specific metadata some clients read.
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
      tenant_region_scope: 'EU',
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // MSAL never sends `resource=`; Entra derives the API from the scope prefix.
        defaultResource(ctx, client, oneOf) {
          const params = ctx.oidc.params;
          const parsed = parseResourceScopes(params.scope, tenantId);
          const resources = [...new Set(parsed.map((p) => p.resource))];
          if (ctx.oidc.route === 'token' && params.grant_type === 'client_credentials') {
            // Entra rule: client credentials take exactly `<resource>/.default`.
            if (!params.scope) {
              throw new EntraError('invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
            }
            if (parsed.length === 0 || parsed.some((p) => p.name !== '.default') || parsed.length !== String(params.scope).split(' ').filter(Boolean).length) {
              throw new EntraError('invalid_scope', 1002012, `The provided value for scope ${params.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
            }
          }
          if (oneOf) return resources.find((r) => oneOf.includes(r)) ?? oneOf[0];
          if (ctx.oidc.route !== 'token') return resources.length ? resources : undefined;
          if (resources.length > 1) {
            throw new EntraError('invalid_scope', 28000, `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${params.scope} is not valid.`);
          }
          return resources[0];
        },
        getResourceServerInfo(ctx, resourceIndicator) {
          if (!RESOURCES[resourceIndicator]) {
            throw new EntraError('invalid_resource', 500011, `The resource principal named ${resourceIndicator} was not found in the tenant named ${tenantId}.`);
          }
          return resourceServerInfo(resourceIndicator, controls);
        },
        // A refresh without a resource scope re-targets the granted API (Entra-like).
        useGrantedResource: () => true,
      },
    },

    async findAccount(ctx, sub) {
      const user = findUserByOid(sub);
      if (!user) return undefined;
      return {
        accountId: user.oid,
        async claims() {
          return userClaims(user, tenantId);
        },
      };
    },

    // Entra claims common to user and app access tokens.
    async extraTokenClaims(ctx, token) {
      const clientId = token.clientId;
      const claims = { tid: tenantId, azp: clientId, appid: clientId, ver: '2.0' };
      if (token.kind === 'ClientCredentials') {
        return { ...claims, oid: SERVICE_PRINCIPAL_OIDS[clientId], idtyp: 'app' };
      }
      const user = findUserByOid(token.accountId);
      return { ...claims, oid: token.accountId, name: user?.name, preferred_username: user?.username };
    },

    formats: {
      customizers: {
        // Reshape oidc-provider's RFC 9068 payload into an Entra v2 access token.
        async jwt(ctx, token, jwt) {
          const { payload } = jwt;
          const aud = payload.aud;
          const names = String(payload.scope ?? '').split(' ')
            .map((s) => splitScope(s)).filter((s) => s && s.resource === aud).map((s) => s.name);
          delete payload.scope;
          delete payload.client_id;
          payload.nbf = payload.iat;
          if (token.kind === 'ClientCredentials') {
            payload.sub = SERVICE_PRINCIPAL_OIDS[token.clientId] ?? payload.sub;
            const roles = APP_ROLE_ASSIGNMENTS[token.clientId]?.[aud] ?? [];
            if (roles.length) payload.roles = [...roles];
          } else {
            // Delegated `.default` means "everything consented": all the API's scopes.
            const delegated = names.includes('.default') ? (RESOURCES[aud]?.scopes ?? []) : names;
            payload.scp = [...new Set(delegated)].join(' ');
          }
          // Entra access tokens are typ "JWT", not RFC 9068 "at+jwt".
          jwt.header = { typ: 'JWT' };
        },
      },
    },
  });

  // Node behind no proxy; keep `ctx.secure` from the socket.
  provider.proxy = false;

  // Entra's on-behalf-of (jwt-bearer) grant; its scopes are checked like every other scope request.
  registerOboGrant(provider, {
    tenantId, signingJwk, parseResourceScopes, resourceServerInfo: (resource) => resourceServerInfo(resource, controls),
  });

  // Entra's resource owner password credentials grant, for clients whose grant_types allow it.
  registerPasswordGrant(provider, {
    tenantId, parseResourceScopes, resourceServerInfo: (resource) => resourceServerInfo(resource, controls),
  });

  for (const event of ERROR_EVENTS) {
    provider.on(event, (ctx, err) => {
      ctx.state.oidcError = err;
    });
  }
  // Keep the test output clean: expected client errors are not interesting,
  // real server errors are.
  provider.on('server_error', (ctx, err) => {
    console.error(`[idp ${tenantId}] server_error on ${ctx.method} ${ctx.path}:`, err);
  });

  provider.use(entraResponseMiddleware({ origin, tenantId, controls, craftIdToken: createIdTokenCrafter({ signingJwk, origin }) }));
  return provider;
}

/**
 * Post-processes oidc-provider responses into Entra's shape. Runs around
 * oidc-provider's own stack (provider.use inserts before it), so after
 * `await next()` ctx.body is still the plain object oidc-provider built.
 */
// Grants whose id_token a pending ID-token craft replaces.
const CRAFTED_ID_TOKEN_GRANTS = new Set(['authorization_code', 'refresh_token']);

function entraResponseMiddleware({ origin, tenantId, controls, craftIdToken }) {
  return async function entraResponse(ctx, next) {
    await next();
    const route = ctx.oidc?.route;
    const body = ctx.body;

    if (ctx.status >= 400 && JSON_ROUTES.has(route)) {
      const err = ctx.state.oidcError;
      const isObject = body && typeof body === 'object' && !Buffer.isBuffer(body);
      const error = (isObject && body.error) || err?.error || 'server_error';
      const { traceId, correlationId } = ctx.req.entra ?? {};
      ctx.body = entraErrorBody({
        origin,
        error,
        code: err?.aadsts,
        message: err?.aadsts ? err.error_description : undefined,
        detail: err?.aadsts ? undefined : (err?.error_detail ?? (isObject ? body.error_description : undefined)),
        traceId,
        correlationId,
      });
      // Entra answers an unknown client id with 400 unauthorized_client (AADSTS700016), not 401.
      if (ctx.body.error === 'unauthorized_client') ctx.status = 400;
      return;
    }

    if (ctx.status !== 200 || !body || typeof body !== 'object') return;

    if (route === 'discovery' && ctx.req.entra?.alias) {
      // Entra's multi-tenant metadata carries a templated, non-resolvable issuer.
      ctx.body = { ...body, issuer: `${origin}/{tenantid}/v2.0` };
    } else if (route === 'token' && body.access_token) {
      const extra = { ext_expires_in: body.expires_in };
      const refreshIn = controls.refreshInFor(body.expires_in);
      if (refreshIn !== undefined) extra.refresh_in = refreshIn;
      const accountId = ctx.oidc.entities.AccessToken?.accountId;
      if (accountId) extra.client_info = base64urlJson({ uid: accountId, utid: tenantId });
      ctx.body = { ...body, token_type: 'Bearer', ...extra };
      if (body.id_token && CRAFTED_ID_TOKEN_GRANTS.has(ctx.oidc.params?.grant_type)) {
        const kind = controls.takeIdTokenCraft();
        if (kind) ctx.body.id_token = await craftIdToken(body.id_token, kind);
      }
    } else if (route === 'device_authorization' && body.device_code) {
      // oidc-provider sends no interval (MSAL then busy-polls) and Entra sends
      // no verification_uri_complete; match Entra.
      const { verification_uri_complete: _omit, ...rest } = body;
      ctx.body = {
        ...rest,
        interval: controls.deviceCodeInterval,
        message: `To sign in, use a web browser to open the page ${body.verification_uri} and enter the code ${body.user_code} to authenticate.`,
      };
    }
  };
}
