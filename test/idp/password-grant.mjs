// Entra's resource owner password credentials grant (ROPC, RFC 6749 §4.3) as an oidc-provider custom
// grant. A confidential client allowed the grant (its `grant_types` list `password`) authenticates as
// usual and sends `username`, `password` and `scope`; the user is checked against the directory
// (config.mjs: the password, and membership of this tenant).
//
// Errors, as Entra words them: a missing parameter is `invalid_request` (AADSTS900144); an unknown user,
// or one who is not a member of this tenant, `invalid_grant` AADSTS50034; a wrong password
// `invalid_grant` AADSTS50126 (never echoing the password). Scopes are checked like every other scope
// request (one resource; unknown API or scope → invalid_resource / invalid_scope).
//
// The answer is what an authorization code redemption gives: an access token for the resource (same
// claims as other user tokens), an ID token signed by the provider's key (`aud` = client, `tid`, `oid`,
// `preferred_username`; no nonce: there was no authorization request) when `openid` was asked for, and
// with `offline_access` a refresh token that the ordinary refresh_token grant redeems: it is a real
// RefreshToken model backed by a Grant, exactly as oidc-provider's own grants create them.
// provider.mjs's response middleware adds `client_info`, `ext_expires_in` and `token_type`.

import { findUserByUsername, userClaims } from './config.mjs';
import { EntraError } from './entra-errors.mjs';

export const PASSWORD_GRANT = 'password';
export const PASSWORD_PARAMETERS = ['username', 'password', 'scope'];

const GTY = 'password';
const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

const missing = (name) => new EntraError('invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);

/**
 * @param {import('oidc-provider').Provider} provider
 * @param {object} o
 * @param {string} o.tenantId
 * @param {(scope: string, tenantId: string) => Array<{ scope: string, resource: string, name: string }>} o.parseResourceScopes
 *   the provider's scope check (known resource, known scope names; throws Entra errors)
 * @param {(resource: string) => object} o.resourceServerInfo  getResourceServerInfo's answer for a resource
 */
export function registerPasswordGrant(provider, { tenantId, parseResourceScopes, resourceServerInfo }) {
  async function passwordHandler(ctx) {
    const { client, params } = ctx.oidc;
    for (const name of PASSWORD_PARAMETERS) {
      if (!params[name]) throw missing(name);
    }

    const user = findUserByUsername(params.username);
    if (!user || !user.tenants.includes(tenantId)) {
      // Entra names the account but hides it in logs ({EUII Hidden}); the password never appears.
      throw new EntraError('invalid_grant', 50034, `The user account ${user ? user.username : '{EUII Hidden}'} does not exist in the ${tenantId} directory. To sign into this application, the account must be added to the directory.`);
    }
    if (params.password !== user.password) {
      throw new EntraError('invalid_grant', 50126, 'Error validating credentials due to invalid username or password.');
    }

    const requestedScopes = String(params.scope).split(' ').filter(Boolean);
    const requested = parseResourceScopes(params.scope, tenantId);
    const resources = [...new Set(requested.map((s) => s.resource))];
    if (resources.length === 0) {
      throw new EntraError('invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope '${params.scope}' names no API (Microsoft Graph is not available on the local IdP).`);
    }
    if (resources.length > 1) {
      throw new EntraError('invalid_scope', 28000, `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${params.scope} is not valid.`);
    }
    const [resource] = resources;
    const oidcScopes = requestedScopes.filter((s) => OIDC_SCOPES.includes(s));
    const resourceScope = requested.map((s) => s.scope).join(' ');

    // What a consent screen would record: the refresh grant checks its tokens against this Grant.
    const grant = new provider.Grant({ accountId: user.oid, clientId: client.clientId });
    if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
    grant.addResourceScope(resource, resourceScope);
    const grantId = await grant.save();
    ctx.oidc.entity('Grant', grant);

    const at = new provider.AccessToken({ accountId: user.oid, client, grantId, gty: GTY });
    at.resourceServer = new provider.ResourceServer(resource, resourceServerInfo(resource));
    at.scope = resourceScope;
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();

    const scope = [...oidcScopes, resourceScope].join(' ');
    let refreshToken;
    if (oidcScopes.includes('offline_access')) {
      const rt = new provider.RefreshToken({
        accountId: user.oid,
        authTime: Math.floor(Date.now() / 1000),
        client,
        grantId,
        gty: GTY,
        resource,
        rotations: 0,
        scope,
      });
      ctx.oidc.entity('RefreshToken', rt);
      refreshToken = await rt.save();
    }

    let idToken;
    if (oidcScopes.includes('openid')) {
      // The claims provider.mjs's findAccount gives, masked by the configured `openid`/`profile` claims.
      const token = new provider.IdToken(userClaims(user, tenantId), { ctx });
      token.scope = oidcScopes.filter((s) => s !== 'offline_access').join(' ');
      idToken = await token.issue({ use: 'idtoken' });
    }

    ctx.body = {
      access_token: accessToken,
      token_type: at.tokenType,
      expires_in: at.expiration,
      scope: at.scope,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      ...(idToken ? { id_token: idToken } : {}),
    };
  }

  provider.registerGrantType(PASSWORD_GRANT, passwordHandler, PASSWORD_PARAMETERS);
}
