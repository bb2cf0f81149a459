// The raw front of the non-Entra authorities on the same origin: Azure AD B2C (b2c.mjs), AD FS (adfs.mjs)
// and a plain OpenID provider (plain-oidc.mjs). Each is one oidc-provider mounted at its own path; this
// file does for them what server.mjs does for the Entra tenants, before the provider sees the request:
// counting (under `<surface>:<endpoint>` keys), faults (answered in the surface's own error shape), the
// /authorize rewrites, and the login check against the surface's directory. Nothing Entra-specific
// (tenant routing, AADSTS bodies, signing-key rotation) applies here.

import { randomBytes, randomUUID } from 'node:crypto';

import { createB2cSurface } from './b2c.mjs';
import { createAdfsSurface } from './adfs.mjs';
import { createPlainOidcSurface } from './plain-oidc.mjs';
import {
  clientIdOf, grantKey, headerValue, isForm, readBody, rewriteAuthorizeQuery, sendJson, sendText, setBody,
} from './http-util.mjs';

/**
 * @typedef {object} Surface
 * @property {string} name  prefix of its count keys (`b2c`, `adfs`, `oidc`)
 * @property {(pathname: string) => { mount: string, rest: string, context?: object, answer?: { status: number, body: object } } | undefined} match
 *   the provider's mount path and the path inside it, for a request path of this surface (or the
 *   surface's own answer, e.g. B2C's unknown policy)
 * @property {Map<string, [string, string?]>} endpoints  path inside the mount → [count key, provider path]
 * @property {(req: any, res: any) => void} callback  the oidc-provider
 * @property {(login: string) => { accountId: string, password: string } | undefined} findUser
 * @property {(o: { error: string, description?: string, detail?: string, req: any }) => object} errorBody
 * @property {(fault: object, req: any) => boolean} [faultApplies]
 * @property {(fault: object, req: any, res: any, params: URLSearchParams) => boolean} [applyFault]
 *   surface-only fault kinds; true when it answered
 * @property {() => object} info  what startIdp() hands to tests
 */

/**
 * @param {object} o
 * @param {string} o.origin
 * @param {import('./faults.mjs').TestControls} o.controls
 * @param {string[]} o.redirectUris
 * @param {(fault: object, req: any, res: any) => Promise<boolean>} o.applyFault  server.mjs's faults
 * @param {AbortSignal} o.shutdown
 */
export function createSurfaces({ origin, controls, redirectUris, applyFault, shutdown }) {
  const shared = { origin, controls, redirectUris, cookieKeys: [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')] };
  /** @type {Surface[]} */
  const surfaces = [createB2cSurface(shared), createAdfsSurface(shared), createPlainOidcSurface(shared)];

  function match(pathname) {
    for (const surface of surfaces) {
      const m = surface.match(pathname);
      if (m) return { surface, ...m };
    }
    return undefined;
  }

  async function serve(req, res, url, { surface, mount, rest, context, answer }) {
    if (answer) return sendJson(res, answer.status, answer.body);
    const [endpoint, providerPath = rest] = surface.endpoints.get(rest) ?? [];
    let form;
    if (req.method === 'POST') {
      req.body = await readBody(req);
      if (isForm(req)) form = new URLSearchParams(req.body);
    }
    const correlationId = headerValue(req, 'client-request-id');
    req.entra = { traceId: randomUUID(), correlationId: correlationId ?? randomUUID() };
    const params = form ?? url.searchParams;
    req.surface = {
      name: surface.name,
      endpoint,
      errorBody: surface.errorBody,
      clientInfoRequested: params.get('client_info') === '1' || url.searchParams.get('client_info') === '1',
      ...context,
    };

    const countKeys = endpoint ? [`${surface.name}:${endpoint}`] : [];
    if (endpoint === 'token' && form?.get('grant_type')) countKeys.push(`${surface.name}:${grantKey(form.get('grant_type'))}`);
    controls.count(countKeys);

    const fault = countKeys.length
      ? controls.takeFault(countKeys, clientIdOf(req, url, form), (f) => surface.faultApplies?.(f, req) ?? true)
      : undefined;
    if (fault) {
      if (surface.applyFault?.(fault, req, res, params)) return;
      if (await applyFault(fault, req, res)) return;
      if (res.destroyed || shutdown.aborted) return;
    }

    let search = url.search;
    if (endpoint === 'authorize' && req.method === 'GET') search = rewriteAuthorizeQuery(url.searchParams);
    if (form && req.method === 'POST' && /^\/interaction\/[^/]+$/.test(rest) && form.get('prompt') === 'login') {
      // devInteractions accepts any login: check the surface's directory and log in by its account id.
      const user = surface.findUser(form.get('login'));
      if (!user || user.password !== form.get('password')) {
        return sendText(res, 401, 'text/html; charset=utf-8', '<!DOCTYPE html><html><body><h1>Sign-in failed</h1><p id="error">Invalid username or password.</p></body></html>');
      }
      form.set('login', user.accountId);
      setBody(req, form.toString());
    }

    // Mounted at `mount`: oidc-provider derives its mount path from originalUrl minus url.
    req.url = providerPath + search;
    req.originalUrl = mount + req.url;
    surface.callback(req, res);
  }

  return {
    match,
    serve,
    /** Per surface, what startIdp() hands to tests (`idp.b2c`, `idp.adfs`, `idp.oidc`). */
    info: () => Object.fromEntries(surfaces.map((s) => [s.name, s.info()])),
    origin,
  };
}
