// Multi-tenant authorities (`/common`, `/organizations`): which tenant's
// oidc-provider serves an alias request, so that users of any tenant sign in
// through them and get tokens from their home tenant (`iss`/`tid`/client_info
// of that tenant), as with Entra.
//
// Every tenant provider is mounted under the alias segment it is reached by
// (server.mjs), so all URLs it emits stay `/common/...`. Which provider gets a
// request is decided from the request alone:
//
// - `/authorize`: `login_hint` (a known user → their home tenant; else its
//   domain), then `domain_hint` (a domain of TENANT_DOMAINS or a tenant id),
//   then the routing cookie (the tenant of this browser's last alias sign-in),
//   else the primary tenant.
// - everything that carries a key issued by a provider goes to the provider
//   whose store holds that key: the interaction uid (`/interaction/:uid`,
//   `/oauth2/v2.0/authorize/:uid`, `/devicelogin/:uid`), the authorization code,
//   refresh token or device code at `/token`, the `user_code` at `/devicelogin`,
//   the token at `/introspect` and `/revoke`. Tokens that are JWTs (an ID token
//   hint at `/logout`, a bearer token at `/userinfo`, an OBO assertion) go by
//   their `tid`. Looking keys up in the providers' own stores keeps no routing
//   state here, so `reset()` has nothing to clear and nothing grows.
// - keyless front-channel pages (`/logout/confirm`, ...) follow the cookie.
// - anything else (discovery, JWKS, `/devicecode`, client credentials): primary.
//
// The user is only known once they have typed their name, so a login at an
// alias whose user belongs to another tenant than the one the interaction runs
// in restarts the authorization request with `login_hint` = that user
// (`loginCheck`), i.e. Entra's home-realm discovery. Without hints a
// secondary-tenant user therefore sees the login page twice. The device code
// flow cannot restart (the device code belongs to the tenant that issued it),
// so through an alias it serves primary-tenant members only.

import { TENANTS, TENANT_DOMAINS, findUserByUsername } from './config.mjs';

/** Cookie the front sets on alias front-channel responses: the tenant that served them. */
export const ROUTING_COOKIE = 'idp_alias_tenant';
/** Response header on alias responses naming the tenant that served them (debugging aid). */
export const ROUTED_TENANT_HEADER = 'x-idp-tenant';

const AUTHORIZE = '/oauth2/v2.0/authorize';
const LOGOUT = '/oauth2/v2.0/logout';
const INTERACTION_UID = /^(?:\/interaction\/([^/]+)(?:\/abort)?|\/oauth2\/v2\.0\/authorize\/([^/]+)|\/devicelogin\/([^/]+))$/;

const KNOWN_TENANTS = new Set(Object.values(TENANTS));
const known = (tenantId) => {
  const t = String(tenantId ?? '').trim().toLowerCase();
  return KNOWN_TENANTS.has(t) ? t : undefined;
};

/** Tenant of a domain (`fabrikam.test`) or a tenant id; undefined for anything else. */
export function tenantOfDomain(value) {
  const v = String(value ?? '').trim().toLowerCase();
  return known(v) ?? (Object.hasOwn(TENANT_DOMAINS, v) ? TENANT_DOMAINS[v] : undefined);
}

/** Tenant named by `login_hint` / `domain_hint`, if any. */
export function tenantFromHints(params) {
  const loginHint = params.get('login_hint');
  if (loginHint) {
    const user = findUserByUsername(loginHint);
    if (user) return user.homeTenant;
    const byDomain = tenantOfDomain(loginHint.slice(loginHint.lastIndexOf('@') + 1));
    if (byDomain) return byDomain;
  }
  return tenantOfDomain(params.get('domain_hint'));
}

/** `tid` of a JWT (unverified: only to pick the provider, which verifies it). */
function tidOfJwt(token) {
  if (typeof token !== 'string' || token.split('.').length !== 3) return undefined;
  try {
    return known(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).tid);
  } catch {
    return undefined;
  }
}

function cookieValue(req, name) {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of String(header).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * @param {{ secure?: boolean }} [options]  secure: add `Secure` to the routing cookie (https IdP)
 */
export function createTenantRouting({ secure = false } = {}) {
  /** @type {Map<string, import('oidc-provider').default>} tenant id → provider */
  const providers = new Map();

  const routingCookie = (segment, tenantId) =>
    `${ROUTING_COOKIE}=${tenantId}; Path=/${segment}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

  /** The tenant whose provider's store holds what `find(provider)` looks for. */
  async function owner(find) {
    if (!find) return undefined;
    for (const [tenantId, provider] of providers) {
      try {
        if (await find(provider)) return tenantId;
      } catch {
        // malformed value: not this tenant's
      }
    }
    return undefined;
  }

  const lookup = { ignoreExpiration: true, ignoreSessionBinding: true };
  const byInteraction = (uid) => owner((p) => p.Interaction.find(uid, lookup));
  const byToken = (model, value) => (value ? owner((p) => p[model].find(value, lookup)) : undefined);

  /** At `/token`: the tenant that issued the grant being redeemed. */
  async function tokenTenant(form) {
    switch (form?.get('grant_type')) {
      case 'authorization_code': return byToken('AuthorizationCode', form.get('code'));
      case 'refresh_token': return byToken('RefreshToken', form.get('refresh_token'));
      case 'device_code':
      case 'urn:ietf:params:oauth:grant-type:device_code': return byToken('DeviceCode', form.get('device_code'));
      case 'urn:ietf:params:oauth:grant-type:jwt-bearer': return tidOfJwt(form.get('assertion'));
      // Username/password: the user's home tenant, as Entra's home-realm discovery finds it.
      case 'password': return findUserByUsername(form.get('username'))?.homeTenant;
      default: return undefined;
    }
  }

  /** @returns {Promise<{ tenantId?: string, frontChannel?: boolean }>} */
  async function resolve({ req, rest, url, form }) {
    const params = req.method === 'POST' && form ? form : url.searchParams;
    const fromCookie = () => known(cookieValue(req, ROUTING_COOKIE));
    if (rest === AUTHORIZE) return { tenantId: tenantFromHints(params) ?? fromCookie(), frontChannel: true };
    const uid = INTERACTION_UID.exec(rest);
    if (uid) {
      const device = uid[3] !== undefined;
      const tenantId = await byInteraction(uid[1] ?? uid[2] ?? uid[3]);
      // Device pages never follow the cookie: the device code decides (primary, see above).
      return device ? { tenantId } : { tenantId: tenantId ?? fromCookie(), frontChannel: true };
    }
    if (rest === LOGOUT) return { tenantId: tidOfJwt(params.get('id_token_hint')) ?? fromCookie(), frontChannel: true };
    if (rest.startsWith(`${LOGOUT}/`)) return { tenantId: fromCookie(), frontChannel: true };
    if (rest === '/devicelogin') {
      const userCode = params.get('user_code');
      return { tenantId: userCode ? await owner((p) => p.DeviceCode.findByUserCode(userCode, lookup)) : undefined };
    }
    if (rest === '/oauth2/v2.0/token') return { tenantId: await tokenTenant(form) };
    if (rest === '/oauth2/v2.0/introspect' || rest === '/oauth2/v2.0/revoke') {
      const token = form?.get('token');
      return { tenantId: tidOfJwt(token) ?? await byToken('RefreshToken', token) ?? await byToken('AccessToken', token) };
    }
    if (rest === '/oidc/userinfo') {
      const auth = String(req.headers.authorization ?? '');
      return { tenantId: tidOfJwt(/^bearer /i.test(auth) ? auth.slice(7).trim() : form?.get('access_token')) };
    }
    return {};
  }

  return {
    /** Register a tenant's provider (its store is where keys are looked up). */
    addTenant(tenantId, provider) {
      providers.set(tenantId, provider);
    },

    /**
     * The tenant that serves a request to an alias (`segment` = `common` or
     * `organizations`, `rest` = the path after it, `form` = the parsed
     * urlencoded body if any). Marks the response with the routed tenant and,
     * on front-channel pages, the routing cookie.
     * @returns {Promise<string>} tenant id
     */
    async route({ req, res, segment, rest, url, form }) {
      const { tenantId = TENANTS.primary, frontChannel } = await resolve({ req, rest, url, form });
      res.setHeader(ROUTED_TENANT_HEADER, tenantId);
      if (frontChannel) res.appendHeader('set-cookie', routingCookie(segment, tenantId));
      return tenantId;
    },

    /**
     * Checks a login submitted at `/{segment}/interaction/{uid}` (user and password
     * already verified) against the tenant serving it. Returns the response to
     * send instead of completing the login, or undefined to let it through:
     * - at an alias, a user whose home tenant is another one: 303 back to
     *   `/{segment}/oauth2/v2.0/authorize` with the interaction's original
     *   parameters and `login_hint` = the user (home-realm discovery);
     * - a user who is not a member of the tenant: AADSTS50034.
     * @returns {Promise<{ status: number, contentType: string, body: string, headers?: object } | undefined>}
     */
    async loginCheck({ alias, segment, tenantId, uid, user }) {
      if (alias && user.homeTenant !== tenantId) {
        const interaction = await providers.get(tenantId)?.Interaction.find(uid).catch(() => undefined);
        const returnTo = String(interaction?.returnTo ?? '');
        if (interaction?.params && returnTo.includes(`${AUTHORIZE}/`)) {
          const query = new URLSearchParams();
          for (const [name, value] of Object.entries(interaction.params)) {
            for (const v of [value].flat()) if (v !== undefined && v !== null) query.append(name, String(v));
          }
          query.set('login_hint', user.username);
          query.delete('domain_hint');
          const location = `/${segment}${AUTHORIZE}?${query}`;
          return {
            status: 303,
            contentType: 'text/html; charset=utf-8',
            body: `Redirecting to <a href="${location.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">your organization's sign-in page</a>.`,
            headers: { location, 'set-cookie': routingCookie(segment, user.homeTenant) },
          };
        }
      }
      if (!user.tenants?.includes(tenantId)) {
        return {
          status: 400,
          contentType: 'text/html; charset=utf-8',
          body: `<!DOCTYPE html><html><body><h1>Sign-in failed</h1><p id="error">AADSTS50034: The user account ${user.username} does not exist in the ${tenantId} directory. To sign into this application, the account must be added to the directory.</p></body></html>`,
        };
      }
      return undefined;
    },
  };
}
