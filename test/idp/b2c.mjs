// Azure AD B2C: the tenant `contosob2c.onmicrosoft.com` (config.mjs B2C) with its user flows (policies).
// One oidc-provider for the tenant, mounted per request at `/{tenant}/{policy lower-case}`, so each policy
// has its own discovery and endpoints while every policy shares the issuer `${origin}/{tenant guid}/v2.0/`
// (with the trailing slash B2C announces). The policy of the request path is the token's `tfp`.
//
// As B2C answers: ID token `ver` 1.0, `sub` = `oid`, `tfp`, `emails` (no `tid`, no `preferred_username`);
// no access token unless an API scope was asked for (openid/offline_access alone give an ID token and a
// refresh token); `client_info` = {uid: "<oid>-<policy>", utid} only when the request says client_info=1;
// errors `{error, error_description: "AADB2C9xxxx: …\r\nCorrelation ID: …\r\nTimestamp: …\r\n"}`.
// The fault `b2c_forgot_password` is the user clicking "Forgot your password?" on a sign-in page.

import { randomUUID } from 'node:crypto';

import { B2C, CLIENT_IDS } from './config.mjs';
import { sendAuthorizationResponse } from './http-util.mjs';
import {
  accountIdOf, createSurfaceProvider, delegatedScopeNames, loginName, msTimestamp, surfaceClients, surfaceEndpoints,
} from './surface-provider.mjs';

const POLICIES = new Map(Object.entries(B2C.policies).map(([kind, name]) => [name.toLowerCase(), { name, kind }]));
const TENANT_SEGMENTS = new Set([B2C.domain, B2C.tenantId]);

const ROUTES = {
  authorization: '/oauth2/v2.0/authorize',
  token: '/oauth2/v2.0/token',
  end_session: '/oauth2/v2.0/logout',
  jwks: '/discovery/v2.0/keys',
};
// Discovery as B2C announces it, `/{tenant}/{policy}/v2.0/.well-known/openid-configuration`.
const ENDPOINTS = surfaceEndpoints(ROUTES, '/v2.0/.well-known/openid-configuration');

// The tenant's API; and each app itself, asked for by its client id as a scope (B2C's way to get an access
// token for the app's own back end): an internal resource URI whose tokens have `aud` = the client id.
const APP_RESOURCE = 'urn:b2c:app:';
const RESOURCES = {
  [B2C.api.resource]: { scopes: B2C.api.scopes, audience: B2C.api.appId },
  ...Object.fromEntries([CLIENT_IDS.webApp, CLIENT_IDS.publicClient].map((id) => [`${APP_RESOURCE}${id}`, { scopes: [], audience: id, scope: id }])),
};
const REFRESH_TOKEN_TTL = 14 * 24 * 3600;

/** AADB2C code and text per OAuth error (and oidc-provider detail); wording as B2C's error reference. */
function b2cCode(error, detail = '') {
  switch (error) {
    case 'invalid_grant':
      if (/code_verifier/i.test(detail)) return [90183, 'The supplied code_verifier is invalid.'];
      if (/already used|revoked|not found/i.test(detail)) return [90129, 'The provided grant has been revoked. Please reauthenticate and try again.'];
      return [90080, 'The provided grant has expired. Please re-authenticate and try again.'];
    case 'invalid_client':
      if (/client not found/i.test(detail)) return [90018, `The client id specified in the request is not registered in tenant '${B2C.domain}'.`];
      return [90081, 'The specified client_secret does not match the expected value for this client. Please correct the client_secret and try again.'];
    case 'unauthorized_client': return [90057, 'The provided application is not configured to allow the requested OAuth flow.'];
    case 'invalid_scope': return [90117, 'The scope provided in the request is not supported.'];
    case 'unsupported_grant_type': return [90086, 'The supplied grant_type is not supported.'];
    case 'invalid_request': return [90083, 'The request is missing a required parameter or is malformed.'];
    default: return [90085, 'The service has encountered an internal error. Please reauthenticate and try again.'];
  }
}

/** B2C's JSON error body (`message` replaces the code's own text). */
export function b2cErrorBody({ error, description, detail, message, req }) {
  const name = error === 'invalid_target' ? 'invalid_scope' : error;
  const [code, ownText] = b2cCode(name, detail ?? description);
  const text = message ?? ownText;
  const correlationId = req?.entra?.correlationId ?? randomUUID();
  return { error: name, error_description: `AADB2C${code}: ${text}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${msTimestamp()}\r\n` };
}

const policyOf = (ctx) => ctx?.req?.surface?.policy;

export function createB2cSurface(shared) {
  const { origin } = shared;
  const issuer = `${origin}/${B2C.tenantId}/v2.0/`;
  const clients = surfaceClients({ redirectUris: shared.redirectUris, extra: { require_auth_time: true } });

  const provider = createSurfaceProvider(shared, {
    name: 'b2c',
    issuer,
    clients,
    routes: ROUTES,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    // B2C's user-flow ID token; `profile`/`email` add nothing (the flow's claims are configured in the portal).
    claims: { openid: ['sub', 'oid', 'tfp', 'ver', 'name', 'emails', 'nbf'], profile: [], email: [] },
    conformIdTokenClaims: false,
    resources: RESOURCES,
    bareScopeResource: (scope) => (RESOURCES[`${APP_RESOURCE}${scope}`] ? `${APP_RESOURCE}${scope}` : undefined),
    rotateRefreshToken: true,
    authorizationResponseIss: false,
    features: { userinfo: { enabled: false } },
    discovery: { claims_supported: ['sub', 'oid', 'tfp', 'ver', 'name', 'emails', 'nonce', 'iss', 'iat', 'exp', 'aud', 'auth_time', 'nbf'] },
    async findAccount(ctx, sub) {
      const user = B2C.users.find((u) => u.oid === sub);
      if (!user) return undefined;
      return {
        accountId: user.oid,
        claims: () => ({
          sub: user.oid, oid: user.oid, tfp: policyOf(ctx), ver: '1.0', name: user.name, emails: [...user.emails], nbf: Math.floor(Date.now() / 1000),
        }),
      };
    },
    async extraTokenClaims(ctx, token) {
      const claims = { azp: token.clientId, ver: '1.0' };
      if (token.kind === 'ClientCredentials') return claims;
      const user = B2C.users.find((u) => u.oid === token.accountId);
      return { ...claims, oid: token.accountId, name: user?.name, tfp: policyOf(ctx) };
    },
    async customizeJwt(ctx, token, jwt) {
      const { payload } = jwt;
      const scp = token.kind === 'ClientCredentials' ? '' : delegatedScopeNames(payload, B2C.api.resource, B2C.api.scopes);
      if (scp) payload.scp = scp;
      delete payload.scope;
      delete payload.client_id;
      payload.nbf = payload.iat;
      jwt.header = { typ: 'JWT' };
    },
    errorBody: b2cErrorBody,
    shapeTokenResponse(ctx, body) {
      const out = { ...body, token_type: 'Bearer', not_before: Math.floor(Date.now() / 1000) };
      // B2C issues no access token for openid/offline_access alone: only an API scope gets one.
      const at = ctx.oidc.entities.AccessToken;
      if (at && !at.resourceServer) {
        delete out.access_token;
        delete out.expires_in;
      }
      if (out.id_token) out.id_token_expires_in = 3600;
      if (out.refresh_token) out.refresh_token_expires_in = REFRESH_TOKEN_TTL;
      const accountId = accountIdOf(ctx);
      if (accountId && ctx.req.surface?.clientInfoRequested) {
        const uid = `${accountId}-${String(policyOf(ctx)).toLowerCase()}`;
        out.client_info = Buffer.from(JSON.stringify({ uid, utid: B2C.tenantId })).toString('base64url');
      }
      return out;
    },
  });

  return {
    name: 'b2c',
    endpoints: ENDPOINTS,
    callback: provider.callback(),
    errorBody: b2cErrorBody,

    /** `/{tenant}/{policy}/…` or MSAL's older `/tfp/{tenant}/{policy}/…`; tenant = domain or GUID. */
    match(pathname) {
      const m = /^(\/tfp)?\/([^/]+)(?:\/([^/]+)(\/.*)?)?$/.exec(pathname);
      if (!m || !TENANT_SEGMENTS.has(m[2].toLowerCase())) return undefined;
      const policy = POLICIES.get(String(m[3]).toLowerCase());
      if (!policy) {
        const body = b2cErrorBody({ error: 'invalid_request', message: `The policy '${m[3] ?? ''}' does not exist in tenant '${B2C.domain}'.` });
        return { answer: { status: 400, body } };
      }
      return {
        mount: `${m[1] ?? ''}/${m[2].toLowerCase()}/${policy.name.toLowerCase()}`,
        rest: m[4] ?? '/',
        context: { policy: policy.name, policyKind: policy.kind },
      };
    },

    findUser(login) {
      const user = B2C.users.find((u) => u.username.toLowerCase() === loginName(login));
      return user && { accountId: user.oid, password: user.password };
    },

    /** "Forgot your password?" is a link on the sign-in page: every policy but the password reset one. */
    faultApplies(fault, req) {
      return fault.kind !== 'b2c_forgot_password' || (req.surface.endpoint === 'authorize' && req.surface.policyKind !== 'passwordReset');
    },

    applyFault(fault, req, res, params) {
      if (fault.kind !== 'b2c_forgot_password') return false;
      const client = clients.find((c) => c.client_id === params.get('client_id'));
      const redirectUri = params.get('redirect_uri');
      // Only to a registered redirect URI; anything else goes on to the provider, which refuses it.
      if (!client || !client.redirect_uris.includes(redirectUri)) return false;
      sendAuthorizationResponse(res, redirectUri, params.get('response_mode'), {
        error: 'access_denied',
        error_description: `AADB2C90118: The user has forgotten their password.\r\nCorrelation ID: ${req.entra.correlationId}\r\nTimestamp: ${msTimestamp()}\r\n`,
        state: params.get('state') ?? undefined,
      });
      return true;
    },

    info() {
      const authorityBase = `${origin}/${B2C.domain}`;
      return {
        tenantId: B2C.tenantId,
        tenantName: B2C.tenantName,
        domain: B2C.domain,
        issuer,
        authorityBase,
        policies: { ...B2C.policies },
        authorities: Object.fromEntries(Object.values(B2C.policies).map((p) => [p, `${authorityBase}/${p}`])),
        api: { resource: B2C.api.resource, appId: B2C.api.appId, scopes: [...B2C.api.scopes] },
        users: B2C.users.map((u) => ({ username: u.username, password: u.password, oid: u.oid, name: u.name, emails: [...u.emails] })),
      };
    },
  };
}
