// The raw HTTP front's small helpers, shared by server.mjs (Entra tenants) and surfaces.mjs (B2C, AD FS,
// plain OIDC): reading and rewriting bodies, answering JSON or text, and the /authorize rewrites every
// oidc-provider here needs.

/**
 * Entra→oidc-provider /authorize rewrites:
 * - add prompt=consent when offline_access is asked for, otherwise
 *   oidc-provider drops it (MSAL never sends prompt=consent);
 * - drop prompt=select_account (Entra-only; oidc-provider rejects it).
 */
export function rewriteAuthorizeQuery(params) {
  const prompt = (params.get('prompt') ?? '').split(' ').filter((p) => p && p !== 'select_account');
  const scopes = (params.get('scope') ?? '').split(' ');
  if (scopes.includes('offline_access') && !prompt.includes('none') && !prompt.includes('consent')) prompt.push('consent');
  if (prompt.length) params.set('prompt', prompt.join(' '));
  else params.delete('prompt');
  return params.size ? `?${params}` : '';
}

/** Client id of a request, wherever the client put it (for client-scoped faults). */
export function clientIdOf(req, url, form) {
  const fromForm = form?.get('client_id');
  if (fromForm) return fromForm;
  const auth = headerValue(req, 'authorization');
  if (auth?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    return decodeURIComponent(decoded.slice(0, decoded.indexOf(':')));
  }
  const assertion = form?.get('client_assertion');
  if (assertion) {
    try {
      return JSON.parse(Buffer.from(assertion.split('.')[1], 'base64url').toString('utf8')).sub;
    } catch {
      return undefined;
    }
  }
  return url.searchParams.get('client_id') ?? undefined;
}

export function headerValue(req, name) {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function isForm(req) {
  return /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '');
}

export function setBody(req, body) {
  req.body = body;
  req.headers['content-length'] = String(Buffer.byteLength(body));
}

export async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJson(text) {
  if (!text) return {};
  return JSON.parse(text);
}

export function sendJson(res, status, body, headers = {}) {
  sendText(res, status, 'application/json; charset=utf-8', JSON.stringify(body), {
    'cache-control': 'no-store', pragma: 'no-cache', ...headers,
  });
}

export function sendText(res, status, contentType, text, headers = {}) {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Count key suffix for a grant: `token:client_credentials`, `token:device_code`, `token:jwt-bearer`. */
export const grantKey = (grantType) => `token:${String(grantType).replace(/^urn:ietf:params:oauth:grant-type:/, '')}`;

/**
 * Sends an authorization response to a client's redirect URI the way `responseMode` asks: `query`
 * (default) or `fragment` as a 302, `form_post` as the self-submitting form page.
 * @param {import('node:http').ServerResponse} res
 * @param {string} redirectUri
 * @param {string | null | undefined} responseMode
 * @param {Record<string, string>} params
 */
export function sendAuthorizationResponse(res, redirectUri, responseMode, params) {
  const encoded = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
  if (responseMode === 'form_post') {
    const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
    const esc = (v) => String(v).replace(/[&<>"']/g, (c) => entities[c]);
    const inputs = [...encoded].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}"/>`).join('');
    return sendText(res, 200, 'text/html; charset=utf-8',
      `<!DOCTYPE html><html><head><title>Submit This Form</title></head><body onload="javascript:document.forms[0].submit()"><form method="post" action="${esc(redirectUri)}">${inputs}</form></body></html>`,
      { 'cache-control': 'no-store' });
  }
  const separator = responseMode === 'fragment' ? '#' : (redirectUri.includes('?') ? '&' : '?');
  res.writeHead(302, { location: `${redirectUri}${separator}${encoded}`, 'cache-control': 'no-store', 'content-length': 0 });
  return res.end();
}
