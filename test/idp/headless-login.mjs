// Headless "browser" for the local IdP: follows redirects by hand, keeps a
// cookie jar, and fills in the devInteractions login and consent forms.
// Uses node:http(s) instead of fetch so a self-signed IdP certificate can be
// trusted per request (`ca`) without NODE_EXTRA_CA_CERTS.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

/** PKCE pair (S256). */
export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge, method: 'S256' };
}

/** Minimal cookie jar: name → value, path-agnostic (sending extra cookies is harmless here). */
export class CookieJar {
  #cookies = new Map();

  /** @param {string[] | undefined} setCookieHeaders */
  store(setCookieHeaders) {
    for (const line of setCookieHeaders ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        return (k.toLowerCase() === 'max-age' && Number(v) <= 0)
          || (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now());
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * One HTTP request, no redirect following.
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string }>}
 */
function request(url, { method = 'GET', headers = {}, body, ca } = {}) {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(target, { method, headers, ca, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}

/** Hidden/visible inputs and action of the first <form> on a page. */
function parseForm(html, pageUrl) {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const fields = {};
  for (const input of form[2].matchAll(/<input([^>]*)>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[1])?.[1];
    const value = /value="([^"]*)"/i.exec(input[1])?.[1];
    if (name) fields[name] = decodeEntities(value ?? '');
  }
  return { action: new URL(decodeEntities(form[1]), pageUrl).href, fields };
}

function decodeEntities(s) {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/gi, '/');
}

/**
 * Drive an authorization request to its redirect_uri without a browser.
 *
 * Either pass `authorizeUrl` (e.g. from MSAL's getAuthCodeUrl or a worker's
 * /login redirect), or the pieces to build one (`clientId`, `redirectUri`,
 * `scopes`, `codeChallenge`; PKCE is mandatory at this IdP — see pkcePair()).
 * The authorize endpoint is the Entra tenant's (`tenant`) unless `surface`
 * names another authority of the IdP (`b2c` with `policy`, `adfs`, `oidc`) or
 * `authorizeEndpoint` is given.
 *
 * A `form_post` answer (a page whose form posts to the redirect URI) comes
 * back as a URL too: the redirect URI with the posted fields as its query.
 *
 * @param {{ origin: string, authority: (t?: string) => string, tlsCertificatePem?: string }} idp
 * @param {object} o
 * @param {string} [o.authorizeUrl]
 * @param {string} [o.clientId]
 * @param {string} [o.clientSecret]   unused: the front channel never sees it (accepted for symmetry)
 * @param {string} [o.redirectUri]
 * @param {string[]} [o.scopes]
 * @param {string} [o.codeChallenge]  S256 challenge
 * @param {string} [o.state]
 * @param {string} [o.nonce]
 * @param {string} [o.tenant]         tenant id, domain or alias (default: primary)
 * @param {'b2c'|'adfs'|'oidc'} [o.surface]  another authority: `idp[surface].authorizeEndpoint(policy)`
 * @param {string} [o.policy]         with surface 'b2c': the user flow (default: B2C_1_signupsignin)
 * @param {string} [o.authorizeEndpoint] the authorize endpoint URL, whatever the authority
 * @param {Record<string, string>} [o.extraParams] more authorize parameters (response_mode, login_hint, client_info, …)
 * @param {string} o.username
 * @param {string} o.password
 * @param {CookieJar} [o.jar]         reuse to keep the IdP session (SSO) between logins
 * @param {string} [o.ca]             TLS CA PEM (default: idp.tlsCertificatePem)
 * @returns {Promise<string>} the redirect_uri URL, carrying code, state (and iss)
 */
export async function loginHeadless(idp, o) {
  const ca = o.ca ?? idp.tlsCertificatePem;
  const jar = o.jar ?? new CookieJar();
  let url = o.authorizeUrl ?? buildAuthorizeUrl(idp, o);
  const redirectUri = o.redirectUri ?? new URL(url).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('loginHeadless: redirect_uri unknown');

  let method = 'GET';
  let body;
  for (let hop = 0; hop < 20; hop += 1) {
    if (url.startsWith(redirectUri)) return url;
    const headers = { cookie: jar.header(), accept: 'text/html' };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await request(url, { method, headers, body, ca });
    jar.store(res.headers['set-cookie']);

    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      url = new URL(res.headers.location, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    if (res.status === 401 && /Sign-in failed/.test(res.body)) {
      throw new Error(`loginHeadless: invalid username or password for ${o.username}`);
    }
    if (res.status !== 200) {
      throw new Error(`loginHeadless: unexpected ${res.status} from ${url}: ${res.body.slice(0, 500)}`);
    }

    const form = parseForm(res.body, url);
    if (!form) throw new Error(`loginHeadless: no form at ${url}: ${res.body.slice(0, 500)}`);
    if (form.action.startsWith(redirectUri)) {
      // response_mode=form_post: the fields the browser would post, as a query.
      const answer = new URL(form.action);
      for (const [name, value] of Object.entries(form.fields)) answer.searchParams.append(name, value);
      return answer.href;
    }
    if (form.fields.prompt === 'login') {
      form.fields.login = o.username;
      form.fields.password = o.password;
    } else if (form.fields.prompt !== 'consent') {
      throw new Error(`loginHeadless: unknown form (prompt=${form.fields.prompt}) at ${url}`);
    }
    url = form.action;
    method = 'POST';
    body = new URLSearchParams(form.fields).toString();
  }
  throw new Error('loginHeadless: too many redirects');
}

function buildAuthorizeUrl(idp, o) {
  for (const k of ['clientId', 'redirectUri', 'scopes', 'codeChallenge']) {
    if (!o[k]) throw new Error(`loginHeadless: ${k} is required when authorizeUrl is not given`);
  }
  const endpoint = o.authorizeEndpoint
    ?? (o.surface ? idp[o.surface]?.authorizeEndpoint?.(o.policy) : `${idp.authority(o.tenant)}/oauth2/v2.0/authorize`);
  if (!endpoint) throw new Error(`loginHeadless: the IdP has no authority '${o.surface}'`);
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: o.clientId,
    response_type: 'code',
    redirect_uri: o.redirectUri,
    scope: o.scopes.join(' '),
    code_challenge: o.codeChallenge,
    code_challenge_method: 'S256',
    state: o.state ?? randomBytes(12).toString('base64url'),
    ...(o.nonce ? { nonce: o.nonce } : {}),
    ...o.extraParams,
  }).toString();
  return url.href;
}
