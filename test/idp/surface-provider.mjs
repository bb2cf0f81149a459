// The oidc-provider set-up that the non-Entra surfaces (b2c.mjs, adfs.mjs, plain-oidc.mjs) share: a
// signing key of its own, an in-memory store, the project's clients, token lifetimes from the test
// controls, resources named by scope prefix (`api://downstream/read`), the HTML error page, the counted
// endpoints derived from the routes, and one response middleware that reshapes JSON errors and token
// answers the surface's way and applies pending ID-token crafts. What makes a surface itself (routes,
// claims, error wording, token-answer fields) comes in as options; no Entra rewrite (provider.mjs) runs here.

import { generateKeyPairSync, randomUUID } from 'node:crypto';

import { Provider, errors } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

import { CLIENT_IDS, CLIENT_SECRETS, DEFAULT_POST_LOGOUT_REDIRECT_URIS, splitScope } from './config.mjs';
import { createIdTokenCrafter } from './id-token-craft.mjs';
import { ExpiringStore } from './provider.mjs';

/** Routes whose errors are JSON for machine clients (the surface's error shape applies). */
const JSON_ROUTES = new Set(['token', 'introspection', 'revocation', 'discovery', 'jwks', 'userinfo']);
const ERROR_EVENTS = ['grant.error', 'introspection.error', 'revocation.error', 'discovery.error', 'jwks.error', 'userinfo.error', 'server_error'];
// Grants whose id_token a pending ID-token craft replaces (as at the Entra tenants).
const CRAFTED_ID_TOKEN_GRANTS = new Set(['authorization_code', 'refresh_token']);

/** Count key (as server.mjs counts Entra's endpoints) per oidc-provider route. */
const COUNT_KEYS = {
  authorization: 'authorize', token: 'token', end_session: 'logout', jwks: 'keys', userinfo: 'userinfo', introspection: 'introspect', revocation: 'revoke',
};

/**
 * A surface's counted endpoints (surfaces.mjs): path inside the mount → [count key, path inside the provider],
 * for discovery and each of the surface's oidc-provider `routes`. Paths not listed pass through uncounted.
 * @param {Record<string, string>} routes  oidc-provider route name → path
 * @param {string} [discoveryPath]  where the surface serves discovery, when not where oidc-provider does
 */
export function surfaceEndpoints(routes, discoveryPath = '/.well-known/openid-configuration') {
  return new Map([
    [discoveryPath, ['discovery', '/.well-known/openid-configuration']],
    ...Object.entries(routes).map(([route, path]) => {
      if (!COUNT_KEYS[route]) throw new Error(`no count key for the route ${route}`);
      return [path, [COUNT_KEYS[route]]];
    }),
  ]);
}

/** A sign-in name as the surfaces' directories compare it: trimmed, lower-case. */
export const loginName = (login) => String(login ?? '').trim().toLowerCase();

/**
 * The web app (`web-app`, same secret as in Entra) and the public client, as a surface registers them.
 * @param {{ redirectUris: string[], webAppGrants?: string[], extra?: object }} o  extra: metadata for both
 */
export function surfaceClients({ redirectUris, webAppGrants = ['authorization_code', 'refresh_token', 'client_credentials'], extra = {} }) {
  const web = {
    redirect_uris: redirectUris,
    post_logout_redirect_uris: [...new Set([...DEFAULT_POST_LOGOUT_REDIRECT_URIS, ...redirectUris.map((uri) => new URL('/', uri).href)])],
    response_types: ['code'],
    ...extra,
  };
  return [
    { ...web, client_id: CLIENT_IDS.webApp, client_secret: CLIENT_SECRETS.webApp, token_endpoint_auth_method: 'client_secret_basic', grant_types: webAppGrants },
    { ...web, client_id: CLIENT_IDS.publicClient, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] },
  ];
}

/**
 * Resources by scope prefix, as the Microsoft surfaces read scopes: `<resource>/<name>`, `<resource>/.default`.
 * @param {Record<string, { scopes: readonly string[], audience?: string, scope?: string }>} resources
 *   `scope`: the resource's whole scope list when it is not `<resource>/<name>`s (a bare scope, see below)
 * @param {readonly string[]} staticScopes  scopes that name no resource (`openid`, `allatclaims`, …)
 * @param {(scope: string) => string | undefined} [bareScopeResource]  the resource a bare scope names, if any
 */
function resourceIndicators(resources, staticScopes, controls, bareScopeResource) {
  const parse = (scopeParam) => {
    const parsed = [];
    for (const scope of String(scopeParam ?? '').split(' ').filter(Boolean)) {
      if (staticScopes.includes(scope)) continue;
      const bare = bareScopeResource?.(scope);
      if (bare) {
        parsed.push(bare);
        continue;
      }
      const split = splitScope(scope);
      if (!split) throw new errors.InvalidScope(`the scope '${scope}' is not supported`, scope);
      const api = resources[split.resource];
      if (!api) throw new errors.InvalidTarget(`the resource '${split.resource}' is not known`);
      if (split.name !== '.default' && !api.scopes.includes(split.name)) throw new errors.InvalidScope(`the scope '${scope}' does not exist`, scope);
      parsed.push(split.resource);
    }
    return [...new Set(parsed)];
  };
  return {
    enabled: true,
    defaultResource(ctx, client, oneOf) {
      const named = parse(ctx.oidc.params.scope);
      if (oneOf) return named.find((r) => oneOf.includes(r)) ?? oneOf[0];
      if (ctx.oidc.route !== 'token') return named.length ? named : undefined;
      if (named.length > 1) throw new errors.InvalidScope('the scopes name more than one resource', String(ctx.oidc.params.scope));
      return named[0];
    },
    getResourceServerInfo(ctx, indicator) {
      const api = resources[indicator];
      if (!api) throw new errors.InvalidTarget(`the resource '${indicator}' is not known`);
      return {
        scope: api.scope ?? ['.default', ...api.scopes].map((name) => `${indicator}/${name}`).join(' '),
        audience: api.audience ?? indicator,
        accessTokenFormat: 'jwt',
        accessTokenTTL: controls.accessTokenTtl,
        jwt: { sign: { alg: 'RS256' } },
      };
    },
    useGrantedResource: () => true,
  };
}

/** The scope names of `aud`'s API in an RFC 9068 payload's `scope`; `.default` = all of them. */
export function delegatedScopeNames(payload, resource, allScopes) {
  const names = String(payload.scope ?? '').split(' ').map((s) => splitScope(s)).filter((s) => s && s.resource === resource).map((s) => s.name);
  return [...new Set(names.includes('.default') ? allScopes : names)].join(' ');
}

/**
 * @param {object} shared                 what surfaces.mjs hands every surface
 * @param {string} shared.origin
 * @param {string[]} shared.cookieKeys
 * @param {import('./faults.mjs').TestControls} shared.controls
 * @param {object} o                      the surface's own
 * @param {string} o.name                 the surface's name: its signing key's `kid` prefix (`adfs-1a2b3c4d`)
 * @param {string} o.issuer
 * @param {object[]} o.clients
 * @param {object} [o.routes]
 * @param {string[]} o.scopes             static scopes
 * @param {object} o.claims               scope → claims
 * @param {boolean} [o.conformIdTokenClaims]
 * @param {Function} o.findAccount
 * @param {Record<string, { scopes: readonly string[], audience?: string, scope?: string }>} o.resources
 * @param {(scope: string) => string | undefined} [o.bareScopeResource]  a resource named by a bare scope
 * @param {Function} [o.extraTokenClaims]
 * @param {Function} [o.customizeJwt]      (ctx, token, jwt) → void: the access token's header and payload
 * @param {object} [o.discovery]          extra discovery metadata
 * @param {object} [o.features]           extra/overriding features
 * @param {(o: { error: string, description?: string, detail?: string, req: any }) => object} [o.errorBody]
 *   JSON error body of the surface (default: oidc-provider's own)
 * @param {(ctx: any, body: object) => object | Promise<object>} [o.shapeTokenResponse]  the token answer of the surface
 * @param {boolean} [o.rotateRefreshToken]
 * @param {boolean} [o.authorizationResponseIss=true]  false: no RFC 9207 `iss` in authorization responses
 *   (nor its discovery flag), as B2C and AD FS answer
 * @returns {Provider}
 */
export function createSurfaceProvider({ origin, cookieKeys, controls }, o) {
  // The surface's own signing key (its JWKS has no other).
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: `${o.name}-${randomUUID().slice(0, 8)}`, use: 'sig', alg: 'RS256' };
  const provider = new Provider(o.issuer, {
    adapter: ((store) => (model) => new MemoryAdapter(model, store))(new ExpiringStore()),
    clients: o.clients,
    jwks: { keys: [signingJwk] },
    cookies: { keys: cookieKeys },
    ...(o.routes ? { routes: o.routes } : {}),
    scopes: o.scopes,
    claims: o.claims,
    ...(o.conformIdTokenClaims === undefined ? {} : { conformIdTokenClaims: o.conformIdTokenClaims }),
    async renderError(ctx, out) {
      ctx.type = 'html';
      const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!DOCTYPE html><html><body><h1>Sign-in error</h1><p id="error">${esc(out.error)}</p><p id="error_description">${esc(out.error_description ?? '')}</p></body></html>`;
    },
    responseTypes: ['code'],
    ...(o.rotateRefreshToken === undefined ? {} : { rotateRefreshToken: o.rotateRefreshToken }),
    clientBasedCORS: () => true,
    ttl: {
      AccessToken: () => controls.accessTokenTtl,
      ClientCredentials: () => controls.accessTokenTtl,
      AuthorizationCode: 600,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    ...(o.discovery ? { discovery: o.discovery } : {}),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: resourceIndicators(o.resources, o.scopes, controls, o.bareScopeResource),
      ...o.features,
    },
    findAccount: o.findAccount,
    ...(o.extraTokenClaims ? { extraTokenClaims: o.extraTokenClaims } : {}),
    ...(o.customizeJwt ? { formats: { customizers: { jwt: o.customizeJwt } } } : {}),
  });
  provider.proxy = false;

  for (const event of ERROR_EVENTS) {
    provider.on(event, (ctx, err) => {
      ctx.state.oidcError = err;
    });
  }
  provider.on('server_error', (ctx, err) => {
    console.error(`[idp ${o.issuer}] server_error on ${ctx.method} ${ctx.path}:`, err);
  });

  const craftIdToken = createIdTokenCrafter({ signingJwk, origin });
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (o.authorizationResponseIss === false) withoutIss(ctx, route, o.issuer);
    const body = ctx.body;
    const isObject = body && typeof body === 'object' && !Buffer.isBuffer(body);
    if (ctx.status >= 400 && JSON_ROUTES.has(route)) {
      if (!o.errorBody) return;
      const err = ctx.state.oidcError;
      ctx.body = o.errorBody({
        error: (isObject && body.error) || err?.error || 'server_error',
        description: (isObject && body.error_description) || err?.error_description,
        detail: err?.error_detail,
        req: ctx.req,
      });
      return;
    }
    if (route !== 'token' || ctx.status !== 200 || !isObject || !body.token_type) return;
    const shaped = o.shapeTokenResponse ? await o.shapeTokenResponse(ctx, body) : { ...body };
    if (shaped.id_token && CRAFTED_ID_TOKEN_GRANTS.has(ctx.oidc.params?.grant_type)) {
      const kind = controls.takeIdTokenCraft();
      if (kind) shaped.id_token = await craftIdToken(shaped.id_token, kind);
    }
    ctx.body = shaped;
  });
  return provider;
}

/**
 * Takes oidc-provider's RFC 9207 `iss` out of an authorization response (redirect or form_post page, success
 * or error) and out of discovery, for surfaces that do not send it.
 */
function withoutIss(ctx, route, issuer) {
  if (route === 'discovery' && ctx.body && typeof ctx.body === 'object') {
    const { authorization_response_iss_parameter_supported: _omit, ...rest } = ctx.body;
    ctx.body = rest;
    return;
  }
  const location = ctx.response.get('location');
  if (location) {
    let url;
    try {
      url = new URL(location); // relative: a page of the provider's own, never the client's redirect URI
    } catch {
      return;
    }
    if (url.searchParams.get('iss') === issuer) url.searchParams.delete('iss');
    const fragment = new URLSearchParams(url.hash.slice(1));
    if (fragment.get('iss') === issuer) {
      fragment.delete('iss');
      url.hash = fragment.toString();
    }
    if (url.href !== location) ctx.set('location', url.href);
  } else if (typeof ctx.body === 'string' && ctx.body.includes('name="iss"')) {
    ctx.body = ctx.body.replace(/\s*<input type="hidden" name="iss" value="[^"]*"\/>/, '');
  }
}

/** The user a token response was issued to (undefined for app tokens). */
export function accountIdOf(ctx) {
  const e = ctx.oidc.entities;
  return e.AccessToken?.accountId ?? e.RefreshToken?.accountId ?? e.AuthorizationCode?.accountId;
}

/** Microsoft's error timestamp: "2024-05-01 12:34:56Z". */
export function msTimestamp(date = new Date()) {
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}
