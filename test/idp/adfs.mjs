// AD FS (2016 and later) at `/adfs`: issuer `${origin}/adfs`, endpoints `/adfs/oauth2/{authorize,token,logout}`,
// keys at `/adfs/discovery/keys`. As AD FS answers: ID token `sub` (opaque, stable per user), `upn`,
// `unique_name` (`CONTOSO\alice`), `sid` (the Windows SID), `ver` 1.0 and no `oid`/`tid`/`preferred_username`;
// access tokens for the resource (`aud`) with `scp`, `appid`, `apptype`, issued by AD FS's access-token
// issuer `http://{host}/adfs/services/trust`; token answers with `token_type: "bearer"`, `resource` and
// `refresh_token_expires_in`, never `client_info`; errors `{error, error_description: "MSIS96xx: …"}` only.

import { createHash } from 'node:crypto';

import { ADFS, RESOURCES } from './config.mjs';
import {
  createSurfaceProvider, delegatedScopeNames, loginName, surfaceClients, surfaceEndpoints,
} from './surface-provider.mjs';

const ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  end_session: '/oauth2/logout',
  jwks: '/discovery/keys',
  userinfo: '/userinfo',
};
const ENDPOINTS = surfaceEndpoints(ROUTES);

const PASSWORD_AUTHN = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const REFRESH_TOKEN_TTL = 8 * 3600; // AD FS's default single-sign-on lifetime for refresh tokens
const USERINFO_RESOURCE = 'urn:microsoft:userinfo';

/** AD FS's `sub`: opaque (base64 of a hash, with `+`, `/` and `=`), the same for a user every time. */
export const adfsSubject = (username) => createHash('sha256').update(`adfs|${username.toLowerCase()}`).digest('base64');
const USERS = ADFS.users.map((u) => ({ ...u, sub: adfsSubject(u.username), uniqueName: `${ADFS.netbiosDomain}\\${u.username.split('@')[0]}` }));

/** MSIS code and text per OAuth error (and oidc-provider detail). */
function msisCode(error, detail = '') {
  switch (error) {
    case 'invalid_grant':
      if (/refresh token/i.test(detail)) return [9615, 'The refresh token received in refresh_token parameter is invalid.'];
      if (/code_verifier/i.test(detail)) return [9612, 'The authorization code received in [code] parameter is invalid. The code_verifier does not match the code_challenge.'];
      return [9612, 'The authorization code received in [code] parameter is invalid.'];
    case 'invalid_client': return [9622, 'Client authentication failed. Please verify the credential provided for client authentication is valid.'];
    case 'unauthorized_client': return [9605, 'The client is not allowed to access the requested resource.'];
    case 'invalid_resource': return [9602, 'The resource in the request is not known.'];
    case 'invalid_scope': return [9649, 'Received invalid OAuth request. The scope parameter value is invalid.'];
    case 'unsupported_grant_type': return [9611, "The authorization server does not support the requested 'grant_type'."];
    case 'invalid_request': return [9601, 'The request is invalid.'];
    default: return [9604, 'An error occurred. The authorization server was not able to fulfill the request.'];
  }
}

/** AD FS's JSON error body: error and error_description only (no error codes array, no trace ids). */
export function adfsErrorBody({ error, description, detail }) {
  const name = error === 'invalid_target' ? 'invalid_resource' : error;
  const [code, text] = msisCode(name, detail ?? description);
  return { error: name, error_description: `MSIS${code}: ${text}` };
}

export function createAdfsSurface(shared) {
  const { origin, redirectUris } = shared;
  const issuer = `${origin}/adfs`;
  // AD FS signs access tokens as its WS-Trust identity: always http, whatever the scheme of the server.
  const accessTokenIssuer = `http://${new URL(origin).host}/adfs/services/trust`;
  const appType = (client) => (client?.clientAuthMethod === 'none' ? 'Public' : 'Confidential');

  const provider = createSurfaceProvider(shared, {
    name: 'adfs',
    issuer,
    clients: surfaceClients({ redirectUris, extra: { require_auth_time: true } }),
    routes: ROUTES,
    scopes: ['openid', 'offline_access', 'profile', 'email', 'allatclaims'],
    // `allatclaims`: the ID token also carries what AD FS puts in the access token about the app.
    claims: { openid: ['sub', 'upn', 'unique_name', 'sid', 'ver'], profile: [], email: ['email'], allatclaims: ['appid', 'apptype', 'authmethod'] },
    conformIdTokenClaims: false,
    resources: RESOURCES,
    rotateRefreshToken: true,
    authorizationResponseIss: false,
    features: { userinfo: { enabled: true } },
    discovery: {
      access_token_issuer: accessTokenIssuer,
      microsoft_multi_refresh_token: true,
      capabilities: [],
    },
    async findAccount(ctx, sub) {
      const user = USERS.find((u) => u.sub === sub);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        claims: () => ({
          sub: user.sub,
          upn: user.username,
          unique_name: user.uniqueName,
          sid: user.sid,
          ver: '1.0',
          email: user.username,
          appid: ctx?.oidc?.client?.clientId,
          apptype: appType(ctx?.oidc?.client),
          authmethod: PASSWORD_AUTHN,
        }),
      };
    },
    async extraTokenClaims(ctx, token) {
      const client = ctx?.oidc?.client;
      const claims = { appid: token.clientId, apptype: appType(client), ver: '1.0' };
      if (token.kind === 'ClientCredentials') return claims;
      const user = USERS.find((u) => u.sub === token.accountId);
      return { ...claims, upn: user?.username, unique_name: user?.uniqueName, sid: user?.sid, authmethod: PASSWORD_AUTHN };
    },
    async customizeJwt(ctx, token, jwt) {
      const { payload } = jwt;
      if (token.kind !== 'ClientCredentials') {
        payload.scp = delegatedScopeNames(payload, payload.aud, RESOURCES[payload.aud]?.scopes ?? []);
      }
      delete payload.scope;
      delete payload.client_id;
      payload.iss = accessTokenIssuer;
      payload.nbf = payload.iat;
      jwt.header = { typ: 'JWT' };
    },
    errorBody: adfsErrorBody,
    shapeTokenResponse(ctx, body) {
      const at = ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.ClientCredentials;
      const out = { ...body, token_type: 'bearer', resource: at?.resourceServer?.identifier() ?? USERINFO_RESOURCE };
      if (out.refresh_token) out.refresh_token_expires_in = REFRESH_TOKEN_TTL;
      return out;
    },
  });

  return {
    name: 'adfs',
    endpoints: ENDPOINTS,
    callback: provider.callback(),
    errorBody: adfsErrorBody,

    /** `/adfs/…` (any case; a trailing slash on an endpoint is fine, as with AD FS). */
    match(pathname) {
      const m = /^\/adfs(\/.*)?$/i.exec(pathname);
      if (!m) return undefined;
      const rest = m[1] ?? '/';
      const trimmed = rest.length > 1 && rest.endsWith('/') ? rest.slice(0, -1) : rest;
      return { mount: '/adfs', rest: ENDPOINTS.has(trimmed) ? trimmed : rest };
    },

    findUser(login) {
      const name = loginName(login);
      const user = USERS.find((u) => u.username === name || u.uniqueName.toLowerCase() === name);
      return user && { accountId: user.sub, password: user.password };
    },

    info() {
      return {
        authority: issuer,
        issuer,
        accessTokenIssuer,
        users: USERS.map((u) => ({ username: u.username, password: u.password, sub: u.sub, upn: u.username, uniqueName: u.uniqueName, sid: u.sid })),
      };
    },
  };
}
