// Entra's on-behalf-of grant (RFC 7523 jwt-bearer with `requested_token_use=on_behalf_of`) as an
// oidc-provider custom grant. The middle tier (the authenticated client) presents a user's access token
// for ITS OWN API as `assertion` and gets an access token for a downstream API for the same user.
//
// Accepted assertion: a JWT this tenant's provider issued (RS256, the provider's signing key, `iss` =
// this tenant's issuer), live (`nbf`/`exp`, no skew), a USER token (`scp`, not `idtyp: app`), whose
// `aud` is the calling client's API: `api://<client_id>` or `<client_id>`. Anything else is Entra's
// `invalid_grant` (AADSTS50013; expired: AADSTS500133). The answer is a plain user access token
// (same claims as an auth-code one, `azp`/`appid` = the middle tier), no refresh token and no
// id_token; provider.mjs's response middleware adds `ext_expires_in`, `client_info`, `token_type`.

import { createLocalJWKSet, errors as jose, jwtVerify } from 'jose';

import { findUserByOid } from './config.mjs';
import { EntraError } from './entra-errors.mjs';
import { publicJwkOf } from './id-token-craft.mjs';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const OBO_PARAMETERS = ['assertion', 'requested_token_use', 'scope'];

const GTY = 'jwt-bearer';

const invalidGrant = (message, code = 50013) => new EntraError('invalid_grant', code, message);

/**
 * @param {import('oidc-provider').Provider} provider
 * @param {object} o
 * @param {string} o.tenantId
 * @param {object} o.signingJwk  the key the provider signs access tokens with (private JWK; only its public half is used)
 * @param {(scope: string, tenantId: string) => Array<{ scope: string, resource: string, name: string }>} o.parseResourceScopes
 *   the provider's scope check (known resource, known scope names; throws Entra errors)
 * @param {(resource: string) => object} o.resourceServerInfo  getResourceServerInfo's answer for a resource
 */
export function registerOboGrant(provider, { tenantId, signingJwk, parseResourceScopes, resourceServerInfo }) {
  // Access tokens stay signed by the original key, also after /_control/rotate-signing-key.
  const keys = createLocalJWKSet({ keys: [publicJwkOf(signingJwk)] });

  async function verifyAssertion(assertion, clientId) {
    const audiences = [`api://${clientId}`, clientId];
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, keys, {
        algorithms: ['RS256'], issuer: provider.issuer, audience: audiences, requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      if (err instanceof jose.JWTExpired) {
        throw invalidGrant(`Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: ${new Date().toISOString()}, expiry time of assertion ${new Date(Number(err.payload?.exp) * 1000).toISOString()}.`, 500133);
      }
      if (err instanceof jose.JWTClaimValidationFailed && err.claim === 'aud') {
        throw invalidGrant(`Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '${err.payload?.aud}' and the expected audience is '${audiences[0]}' or one of the Application Id URIs of this application.`);
      }
      if (err instanceof jose.JWTClaimValidationFailed && err.claim === 'iss') {
        throw invalidGrant(`Assertion issuer '${err.payload?.iss}' is not this tenant's issuer '${provider.issuer}'.`);
      }
      if (err instanceof jose.JWTClaimValidationFailed) {
        throw invalidGrant(`Assertion is not valid: ${err.message} (${err.claim}).`, err.claim === 'nbf' ? 500133 : 50013);
      }
      throw invalidGrant(`Assertion failed signature validation. [Reason - ${err?.code ?? 'invalid JWT'}: ${err?.message ?? err}]`);
    }
    if (payload.idtyp === 'app' || typeof payload.scp !== 'string' || !payload.scp.trim()) {
      throw invalidGrant('Assertion is not a delegated user token: an app-only token (no scp) cannot be exchanged on behalf of a user.');
    }
    if (payload.tid !== undefined && payload.tid !== tenantId) {
      throw invalidGrant(`Assertion tenant '${payload.tid}' does not match tenant '${tenantId}'.`);
    }
    return payload;
  }

  async function oboHandler(ctx) {
    const { client, params } = ctx.oidc;
    if (params.requested_token_use !== 'on_behalf_of') {
      throw new EntraError('invalid_request', 900144, "The request body must contain the following parameter: 'requested_token_use' with the value 'on_behalf_of'.");
    }
    if (!params.assertion) {
      throw new EntraError('invalid_request', 900144, "The request body must contain the following parameter: 'assertion'.");
    }
    if (!params.scope) {
      throw new EntraError('invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    }
    const user = await verifyAssertion(params.assertion, client.clientId);

    const requested = parseResourceScopes(params.scope, tenantId);
    const resources = [...new Set(requested.map((s) => s.resource))];
    if (resources.length === 0) {
      throw new EntraError('invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope '${params.scope}' names no API.`);
    }
    if (resources.length > 1) {
      throw new EntraError('invalid_scope', 28000, `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${params.scope} is not valid.`);
    }
    const [resource] = resources;

    const account = findUserByOid(user.sub);
    if (!account?.tenants.includes(tenantId)) {
      throw invalidGrant(`The user account '${user.sub}' of the assertion does not exist in tenant '${tenantId}'.`, 50034);
    }

    const at = new provider.AccessToken({ accountId: account.oid, client, gty: GTY });
    at.resourceServer = new provider.ResourceServer(resource, resourceServerInfo(resource));
    at.scope = requested.map((s) => s.scope).join(' ');
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();

    ctx.body = {
      access_token: accessToken,
      token_type: at.tokenType,
      expires_in: at.expiration,
      scope: at.scope,
    };
  }

  provider.registerGrantType(JWT_BEARER, oboHandler, OBO_PARAMETERS);
}
