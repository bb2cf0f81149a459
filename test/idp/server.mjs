// Local Entra-v2-shaped identity provider for tests.
//
// A raw node:http(s) server sits in front of one oidc-provider per tenant.
// The raw layer (not Koa) does everything that depends on the URL or the body
// before oidc-provider sees it: tenant routing and `common` aliasing, request
// counting, fault injection, Entra→oidc-provider parameter rewrites, and the
// test control API. Rewriting URLs inside Koa would break oidc-provider's
// mount-path detection (see /work/shared/docs/local-idp-notes.md §1).
// The same origin serves Azure AD B2C, AD FS and a plain OpenID provider too: their requests go to
// surfaces.mjs, which does the same for them without anything Entra-specific.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CLIENT_IDS, CLIENT_SECRETS, DEFAULT_REDIRECT_URIS, RESOURCES, TENANTS, TENANT_ALIASES, TENANT_DOMAINS, USERS,
  findUserByUsername,
} from './config.mjs';
import { entraErrorBody } from './entra-errors.mjs';
import { TestControls } from './faults.mjs';
import { currentSigningJwk, publicJwkOf, resetSigningKey, rotateSigningKey } from './id-token-craft.mjs';
import {
  clientIdOf, grantKey, headerValue, isForm, parseJson, readBody, rewriteAuthorizeQuery, sendJson, sendText, setBody,
} from './http-util.mjs';
import { createTenantProvider } from './provider.mjs';
import { createSurfaces } from './surfaces.mjs';
import { createTenantRouting, tenantOfDomain } from './tenant-routing.mjs';
import {
  certificateThumbprints, clientJwkFromCertificate, generateClientCertificate, generateTlsCertificate,
} from './tls.mjs';

export { TENANTS, USERS, RESOURCES } from './config.mjs';

const DEVICE_CODE_URN = 'urn:ietf:params:oauth:grant-type:device_code';

/** The claims challenge of the step-up faults unless the fault names its own (`claims`). */
export const STEP_UP_CLAIMS = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';

/**
 * Counted endpoints: path after `/{tenant}` → [count key, path inside the provider].
 * Paths not listed are passed through uncounted (interaction pages, resume, ...).
 */
const ENDPOINTS = new Map([
  ['/v2.0/.well-known/openid-configuration', ['discovery', '/.well-known/openid-configuration']],
  ['/.well-known/openid-configuration', ['discovery', '/.well-known/openid-configuration']],
  ['/discovery/v2.0/keys', ['keys']],
  ['/oauth2/v2.0/token', ['token']],
  ['/oauth2/v2.0/authorize', ['authorize']],
  ['/oauth2/v2.0/devicecode', ['devicecode']],
  ['/oauth2/v2.0/logout', ['logout']],
  ['/oauth2/v2.0/introspect', ['introspect']],
  ['/oauth2/v2.0/revoke', ['revoke']],
  ['/oidc/userinfo', ['userinfo']],
]);

/**
 * @typedef {object} Idp
 * @property {string} origin
 * @property {{ primary: string, secondary: string }} tenants
 * @property {(tenant?: string) => string} authority
 * @property {(tenant?: string) => string} issuer
 * @property {{ primary: string, secondary: string }} tenantDomains  `/contoso.test/…` = the primary tenant
 * @property {object} b2c   Azure AD B2C: tenantId, tenantName, domain, issuer, policies, authority(policy), … (b2c.mjs)
 * @property {object} adfs  AD FS: authority, issuer, accessTokenIssuer, users (adfs.mjs)
 * @property {object} oidc  plain OpenID provider: authority, issuer, users (plain-oidc.mjs)
 * @property {object} clients
 * @property {typeof USERS} users
 * @property {object} controls
 * @property {string} [tlsCertificatePath]
 * @property {string} [tlsCertificatePem]
 * @property {() => object} summary
 * @property {() => Promise<void>} close
 */

/**
 * Start the IdP on 127.0.0.1.
 * @param {object} [options]
 * @param {number} [options.port=0]
 * @param {boolean} [options.https=false]  self-signed cert (SAN IP:127.0.0.1, DNS:localhost)
 * @param {{ privateKeyPem: string, certificatePem: string }} [options.clientCertificate]  for web-app-cert
 * @param {string[]} [options.redirectUris]  extra redirect URIs for every client
 * @param {number} [options.deviceCodeInterval]  default polling interval advertised by /devicecode (5)
 * @returns {Promise<Idp>}
 */
export async function startIdp(options = {}) {
  const { port = 0, https: useHttps = false, redirectUris = [] } = options;
  const tempDir = await mkdtemp(join(tmpdir(), 'edge-idp-'));
  const shutdown = new AbortController();
  /** @type {http.Server | undefined} */
  let server;

  try {
    const tls = useHttps ? await generateTlsCertificate(tempDir) : undefined;
    const clientCert = await resolveClientCertificate(tempDir, options.clientCertificate);
    const thumbprints = certificateThumbprints(clientCert.certificatePem);

    // One signing key for all tenants: Entra shares its keys across tenants,
    // so a token from any tenant validates against /common's JWKS.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: `idp-${randomUUID().slice(0, 8)}`, use: 'sig', alg: 'RS256' };

    const controls = new TestControls();
    const applyDefaults = () => {
      if (options.deviceCodeInterval !== undefined) controls.setDeviceCodeInterval(options.deviceCodeInterval);
    };
    applyDefaults();

    // Public control surface (also served over HTTP under /_control/).
    const controlsApi = {
      counts: () => controls.counts(),
      reset: () => {
        controls.reset();
        resetSigningKey(signingJwk);
        applyDefaults();
      },
      fault: (fault) => controls.addFault(fault),
      setTokenLifetime: (opts) => controls.setTokenLifetime(opts),
      setDeviceCodeInterval: (seconds) => controls.setDeviceCodeInterval(seconds),
      /** Replace the id_token of the next `times` auth-code/refresh responses with a crafted one. */
      craftIdToken: (craft) => controls.addIdTokenCraft(craft),
      /** The signing key served at /{tenant}/discovery/v2.0/keys (public half). */
      signingKey: () => ({ kid: currentSigningJwk(signingJwk).kid, publicJwk: publicJwkOf(currentSigningJwk(signingJwk)) }),
      /** The provider starts signing ID tokens with a new key; the JWKS serves the new and the old one. */
      rotateSigningKey: () => {
        const rotated = rotateSigningKey(signingJwk);
        controls.signingKeyRotated = true;
        return { kid: rotated.kid, publicJwk: publicJwkOf(rotated), previousKid: signingJwk.kid };
      },
    };
    /** @type {() => object} */
    let summary = () => ({});

    /** @type {Map<string, (req: any, res: any) => void>} tenant id → oidc-provider callback */
    const tenantHandlers = new Map();
    // Which tenant serves a `common`/`organizations` request (tenant-routing.mjs).
    const tenantRouting = createTenantRouting({ secure: useHttps });
    let origin = '';
    /** @type {ReturnType<typeof createSurfaces>} B2C, AD FS and plain OIDC (surfaces.mjs), once the origin is known */
    let surfaces;

    const handler = (req, res) => {
      handle(req, res).catch((err) => {
        console.error('[idp] unhandled error', err);
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err?.message ?? err) });
        else res.destroy();
      });
    };

    async function handle(req, res) {
      const url = new URL(req.url, origin);
      if (url.pathname.startsWith('/_control/')) return handleControl(req, res, url);
      if (url.pathname === '/error') {
        return sendText(res, 200, 'text/plain', `AADSTS${url.searchParams.get('code') ?? ''}: see the IdP log / error_description.`);
      }
      const surface = surfaces?.match(url.pathname);
      if (surface) return surfaces.serve(req, res, url, surface);

      const match = /^\/([^/]+)(\/.*)?$/.exec(url.pathname);
      const segment = match?.[1] ?? '';
      const rest = match?.[2] ?? '/';
      const alias = TENANT_ALIASES.find((a) => a === segment.toLowerCase());
      // An alias is routed to a tenant once the body is read (tenantRouting.route below).
      let tenantId = alias ? TENANTS.primary : [...tenantHandlers.keys()].find((t) => t === segment.toLowerCase());
      // A tenant by one of its domain names (`/contoso.test/…`), as Entra accepts it.
      const byDomain = !alias && !tenantId && Object.hasOwn(TENANT_DOMAINS, segment.toLowerCase());
      if (byDomain) tenantId = tenantOfDomain(segment);

      const correlationId = headerValue(req, 'client-request-id');
      req.entra = { traceId: randomUUID(), correlationId: correlationId ?? randomUUID(), alias };
      res.setHeader('x-ms-request-id', req.entra.traceId);
      if (correlationId) res.setHeader('client-request-id', correlationId);

      const [endpoint, providerPath = rest] = ENDPOINTS.get(rest) ?? [];

      // Buffer the body once: we need it for per-grant counts, client-scoped
      // faults and Entra→oidc-provider rewrites. oidc-provider accepts an
      // already-read body via req.body.
      let form;
      if (req.method === 'POST') {
        const raw = await readBody(req);
        req.body = raw;
        if (isForm(req)) form = new URLSearchParams(raw);
      }
      if (alias) tenantId = await tenantRouting.route({ req, res, segment, rest, url, form });

      const countKeys = endpoint ? [endpoint] : [];
      if (endpoint === 'token' && form?.get('grant_type')) countKeys.push(grantKey(form.get('grant_type')));
      controls.count(countKeys);

      if (!tenantId) {
        return sendError(res, req, 400, {
          error: 'invalid_tenant',
          message: `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        });
      }

      const fault = countKeys.length ? controls.takeFault(countKeys, clientIdOf(req, url, form)) : undefined;
      if (fault) {
        const handled = await applyFault(fault, req, res);
        if (handled) return;
        if (res.destroyed || shutdown.signal.aborted) return; // client went away during 'slow'
      }
      if (endpoint === 'keys' && controls.signingKeyRotated) {
        // Mid-rotation, as Entra publishes it: the new key first, the old one still valid.
        return sendJson(res, 200, { keys: [publicJwkOf(currentSigningJwk(signingJwk)), publicJwkOf(signingJwk)] });
      }

      let search = url.search;
      if (endpoint === 'authorize' && req.method === 'GET') search = rewriteAuthorizeQuery(url.searchParams);
      if (form && endpoint === 'token' && form.get('grant_type') === 'device_code') {
        // MSAL polls with Entra's short grant name.
        form.set('grant_type', DEVICE_CODE_URN);
        setBody(req, form.toString());
      }
      if (form && req.method === 'POST' && /^\/interaction\/[^/]+$/.test(rest) && form.get('prompt') === 'login') {
        // devInteractions accepts any login; check the directory and log in by oid.
        const user = findUserByUsername(form.get('login'));
        if (!user || user.password !== form.get('password')) {
          return sendText(res, 401, 'text/html; charset=utf-8', '<!DOCTYPE html><html><body><h1>Sign-in failed</h1><p id="error">AADSTS50126: Error validating credentials due to invalid username or password.</p></body></html>');
        }
        // Home-realm discovery at an alias, tenant membership at a tenant path.
        const refused = await tenantRouting.loginCheck({ alias, segment, tenantId, uid: rest.split('/')[2], user });
        if (refused) return sendText(res, refused.status, refused.contentType, refused.body, refused.headers);
        form.set('login', user.oid);
        setBody(req, form.toString());
      }

      // Mount the provider at /{segment}: oidc-provider derives its mount path
      // from originalUrl minus url, so every URL it emits (discovery,
      // interaction redirects, cookies) stays under the tenant segment.
      req.url = providerPath + search;
      // Discovery by domain is the tenant's own document (GUID endpoints), as Entra answers it; any other
      // request by domain stays under `/{domain}` (interaction pages, cookies), served by the same provider.
      req.originalUrl = `/${byDomain && endpoint === 'discovery' ? tenantId : segment}${req.url}`;
      tenantHandlers.get(tenantId)(req, res);
    }

    /** @returns {Promise<boolean>} true if the fault produced the response */
    async function applyFault(fault, req, res) {
      const retryHeaders = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      switch (fault.kind) {
        case 'slow':
          await abortableSleep(fault.delayMs, res);
          return false;
        case '429':
          sendError(res, req, 429, {
            error: 'temporarily_unavailable', code: 90055,
            message: 'TenantThrottlingError: There are too many incoming requests. This exception is thrown for blocked tenants.',
          }, retryHeaders);
          return true;
        case '500':
          sendError(res, req, 500, { error: 'server_error', code: 50000 }, retryHeaders);
          return true;
        case '503':
          sendError(res, req, 503, {
            error: 'temporarily_unavailable', code: 90033,
            message: 'A transient error has occurred. Please try again.',
          }, retryHeaders);
          return true;
        case 'invalid_grant':
          // What Entra answers for a revoked or expired refresh token (user must sign in again).
          sendError(res, req, 400, {
            error: 'invalid_grant', code: 700082,
            message: 'The refresh token has expired due to inactivity.',
          }, retryHeaders);
          return true;
        case 'interaction_required':
        case 'step_up': {
          // A Conditional Access step-up (AADSTS50076), as Entra answers it: the claims challenge travels
          // with the error. `step_up` is how Entra words it on the OBO and refresh grants (invalid_grant).
          // On B2C, AD FS and plain OIDC: the same error in the surface's shape, without Entra's claims challenge.
          const body = errorBodyFor(req, {
            error: fault.kind === 'step_up' ? 'invalid_grant' : 'interaction_required', code: 50076,
            message: 'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.',
          });
          sendJson(res, 400, req.surface ? body : { ...body, suberror: 'basic_action', claims: fault.claims ?? STEP_UP_CLAIMS }, retryHeaders);
          return true;
        }
        case 'slow_down':
        case 'expired_token':
        case 'authorization_declined':
        case 'bad_verification_code':
          // Device code poll answers (HTTP 400, AADSTS 70016/70019/70020/70021); the device code itself is untouched.
          sendError(res, req, 400, { error: fault.kind }, retryHeaders);
          return true;
        case 'nonjson':
          sendText(res, 200, 'text/html; charset=utf-8', '<html>oops</html>');
          return true;
        case 'invalid_json':
          sendText(res, 200, 'application/json; charset=utf-8', '{"token_type":"Bearer","expires_in":3599,"access_tok');
          return true;
        case 'oversize':
          // The real answer, still valid JSON (leading whitespace), only far bigger than it should be.
          interceptBody(res, async (body, write, end) => {
            write(Buffer.alloc(fault.bytes, 0x20));
            end(body);
          });
          return false;
        case 'slow_drip':
          // The real answer, headers at once, then the body a few bytes at a time.
          interceptBody(res, async (body, write, end) => {
            res.flushHeaders();
            for (let offset = 0; offset < body.length; offset += fault.dripBytes) {
              if (offset > 0) await abortableSleep(fault.dripIntervalMs, res);
              if (res.destroyed || shutdown.signal.aborted) return;
              write(body.subarray(offset, offset + fault.dripBytes));
            }
            end();
          });
          return false;
        default:
          return false;
      }
    }

    /**
     * Collects the answer the provider (or sendJson) writes and hands it to `send` instead, without a
     * Content-Length (the body faults change its size or pace).
     * @param {http.ServerResponse} res
     * @param {(body: Buffer, write: (chunk: Buffer) => void, end: (chunk?: Buffer) => void) => Promise<void>} send
     */
    function interceptBody(res, send) {
      const { writeHead, write, end } = res;
      const chunks = [];
      const toBuffer = (chunk, encoding) => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8'));
      res.writeHead = (status, ...args) => {
        const headers = args.find((a) => a && typeof a === 'object' && !Array.isArray(a));
        if (headers) for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-length') delete headers[name];
        res.removeHeader('content-length');
        return writeHead.call(res, status, ...args);
      };
      res.write = (chunk, encoding, callback) => {
        chunks.push(toBuffer(chunk, encoding));
        (typeof encoding === 'function' ? encoding : callback)?.();
        return true;
      };
      res.end = (chunk, encoding, callback) => {
        if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(toBuffer(chunk, encoding));
        Object.assign(res, { writeHead, write, end });
        if (!res.headersSent) res.removeHeader('content-length');
        send(Buffer.concat(chunks), (c) => write.call(res, c), (c) => end.call(res, c)).catch(() => res.destroy());
        return res;
      };
    }

    async function abortableSleep(ms, res) {
      const gone = new AbortController();
      const onClose = () => gone.abort();
      res.on('close', onClose);
      try {
        await sleep(ms, undefined, { signal: AbortSignal.any([gone.signal, shutdown.signal]) });
      } catch {
        // aborted: caller checks res.destroyed / shutdown
      } finally {
        res.off('close', onClose);
      }
    }

    /** An error answer in the shape of the request's surface: Entra's (AADSTS) unless B2C, AD FS or plain OIDC. */
    function errorBodyFor(req, { error, code, message }) {
      if (req.surface) return req.surface.errorBody({ error, description: message, req });
      return entraErrorBody({ origin, error, code, message, traceId: req.entra?.traceId, correlationId: req.entra?.correlationId });
    }

    function sendError(res, req, status, fields, headers = {}) {
      sendJson(res, status, errorBodyFor(req, fields), headers);
    }

    async function handleControl(req, res, url) {
      const route = `${req.method} ${url.pathname}`;
      try {
        const body = req.method === 'POST' ? parseJson(await readBody(req)) : undefined;
        switch (route) {
          case 'GET /_control/counts': return sendJson(res, 200, controls.counts());
          case 'POST /_control/reset': controlsApi.reset(); return sendJson(res, 200, { ok: true });
          case 'POST /_control/fault': controlsApi.fault(body); return sendJson(res, 200, { ok: true, queued: controls.faults.length });
          case 'POST /_control/token-lifetime':
            controlsApi.setTokenLifetime(body);
            return sendJson(res, 200, { ok: true, accessTokenTtl: controls.accessTokenTtl, refreshIn: controls.refreshIn ?? null });
          case 'POST /_control/device-interval':
            controlsApi.setDeviceCodeInterval(body?.interval);
            return sendJson(res, 200, { ok: true, interval: controls.deviceCodeInterval });
          case 'POST /_control/id-token':
            controlsApi.craftIdToken(body);
            return sendJson(res, 200, { ok: true, pending: controls.idTokenCrafts.map((c) => ({ ...c })) });
          case 'GET /_control/signing-key': return sendJson(res, 200, controlsApi.signingKey());
          case 'POST /_control/rotate-signing-key': return sendJson(res, 200, { ok: true, ...controlsApi.rotateSigningKey() });
          case 'GET /_control/info': return sendJson(res, 200, summary());
          default: return sendJson(res, 404, { error: 'not_found', error_description: `no control route ${route}` });
        }
      } catch (err) {
        return sendJson(res, 400, { error: 'invalid_request', error_description: String(err?.message ?? err) });
      }
    }

    server = useHttps
      ? https.createServer({ key: tls.privateKeyPem, cert: tls.certificatePem }, handler)
      : http.createServer(handler);
    // MSAL reuses sockets; Node's 5 s default kills idle ones under a blocked
    // client event loop and the next request fails with "fetch failed".
    server.keepAliveTimeout = 120_000;
    server.headersTimeout = 121_000;

    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    origin = `${useHttps ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;

    const cookieKeys = [randomUUID(), randomUUID()];
    const allRedirectUris = [...new Set([...DEFAULT_REDIRECT_URIS, ...redirectUris])];
    const certJwk = clientJwkFromCertificate(clientCert.certificatePem);
    for (const tenantId of Object.values(TENANTS)) {
      const provider = createTenantProvider({
        origin, tenantId, signingJwk, certJwk, redirectUris: allRedirectUris, cookieKeys, controls,
      });
      tenantHandlers.set(tenantId, provider.callback());
      tenantRouting.addTenant(tenantId, provider);
    }
    surfaces = createSurfaces({ origin, controls, redirectUris: allRedirectUris, applyFault, shutdown: shutdown.signal });
    const surfaceInfo = surfaces.info();
    const b2cInfo = surfaceInfo.b2c;

    const clients = {
      webApp: { clientId: CLIENT_IDS.webApp, clientSecret: CLIENT_SECRETS.webApp },
      webAppCert: {
        clientId: CLIENT_IDS.webAppCert,
        privateKeyPem: clientCert.privateKeyPem,
        certificatePem: clientCert.certificatePem,
        privateKeyPath: clientCert.keyPath,
        certificatePath: clientCert.certPath,
        thumbprintSha256Hex: thumbprints.sha256Hex,
        thumbprintSha256B64u: thumbprints.sha256B64u,
      },
      middleTier: { clientId: CLIENT_IDS.middleTier, clientSecret: CLIENT_SECRETS.middleTier },
      publicClient: { clientId: CLIENT_IDS.publicClient },
    };

    /** @type {Idp} */
    const idp = {
      origin,
      tenants: { ...TENANTS },
      authority: (tenant = TENANTS.primary) => `${origin}/${tenant}`,
      issuer: (tenant = TENANTS.primary) => `${origin}/${tenant}/v2.0`,
      /** Domain names that work as tenant path segments (`${origin}/contoso.test`): discovery names the GUID. */
      tenantDomains: { primary: 'contoso.test', secondary: 'fabrikam.test' },
      tenantInitialDomains: { primary: 'contoso.onmicrosoft.test', secondary: 'fabrikam.onmicrosoft.test' },
      /** Azure AD B2C (b2c.mjs): `authority(policy)` = `${origin}/contosob2c.onmicrosoft.com/${policy}`. */
      b2c: {
        ...b2cInfo,
        authority: (policy = b2cInfo.policies.signUpSignIn) => `${b2cInfo.authorityBase}/${policy}`,
        authorizeEndpoint: (policy = b2cInfo.policies.signUpSignIn) => `${b2cInfo.authorityBase}/${policy}/oauth2/v2.0/authorize`,
        tokenEndpoint: (policy = b2cInfo.policies.signUpSignIn) => `${b2cInfo.authorityBase}/${policy}/oauth2/v2.0/token`,
      },
      /** AD FS (adfs.mjs) at `${origin}/adfs`. */
      adfs: { ...surfaceInfo.adfs, authorizeEndpoint: () => `${origin}/adfs/oauth2/authorize`, tokenEndpoint: () => `${origin}/adfs/oauth2/token` },
      /** A plain OpenID provider (plain-oidc.mjs) at `${origin}/oidc`. */
      oidc: { ...surfaceInfo.oidc, authorizeEndpoint: () => `${origin}/oidc/auth`, tokenEndpoint: () => `${origin}/oidc/token` },
      redirectUris: allRedirectUris,
      clients,
      users: USERS.map((u) => ({ ...u })),
      resources: Object.fromEntries(Object.entries(RESOURCES).map(([k, v]) => [k, { scopes: [...v.scopes], appRoles: [...v.appRoles] }])),
      tlsCertificatePath: tls?.certPath,
      tlsCertificatePem: tls?.certificatePem,
      controls: controlsApi,
      summary: () => summary(),
      async close() {
        shutdown.abort();
        await new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await rm(tempDir, { recursive: true, force: true });
      },
    };
    summary = () => ({
      origin,
      authority: idp.authority(),
      authorities: {
        primary: idp.authority(TENANTS.primary),
        secondary: idp.authority(TENANTS.secondary),
        common: `${origin}/common`,
        primaryByDomain: idp.authority(idp.tenantDomains.primary),
        b2c: b2cInfo.authorities,
        adfs: surfaceInfo.adfs.authority,
        oidc: surfaceInfo.oidc.authority,
      },
      b2c: b2cInfo,
      adfs: surfaceInfo.adfs,
      oidc: surfaceInfo.oidc,
      tenants: idp.tenants,
      clients,
      users: idp.users,
      resources: idp.resources,
      redirectUris: allRedirectUris,
      tlsCertificatePath: tls?.certPath ?? null,
      controlApi: `${origin}/_control`,
    });
    return idp;
  } catch (err) {
    server?.close();
    await rm(tempDir, { recursive: true, force: true });
    throw err;
  }
}

async function resolveClientCertificate(dir, supplied) {
  if (!supplied) return generateClientCertificate(dir, CLIENT_IDS.webAppCert);
  // Write supplied PEMs too, so callers (and the CLI summary) always get paths.
  const keyPath = join(dir, 'client-key.pem');
  const certPath = join(dir, 'client-cert.pem');
  await Promise.all([writeFile(keyPath, supplied.privateKeyPem, { mode: 0o600 }), writeFile(certPath, supplied.certificatePem)]);
  return { ...supplied, keyPath, certPath };
}
