// Child process for smoke-authorities.mjs: msal-node's auth code flow (PKCE) and a forced silent refresh
// against the HTTPS IdP's other authorities: B2C (a user flow), AD FS, plain OIDC (protocolMode OIDC) and an
// Entra tenant by domain name. Separate because msal-node's global fetch trusts the self-signed IdP
// certificate only through NODE_EXTRA_CA_CERTS, read at process start.
//
// Usage: NODE_EXTRA_CA_CERTS=<tls cert> node test/idp/smoke-msal-authorities.mjs '<json>'
//   json = { origin, certificatePath, clientId, clientSecret, redirectUri, username, password,
//            authorities: [{ name, authority, scopes, protocolMode? }] }
// Prints one JSON object: name → { ok, homeAccountId, authorityType, tenantId, tfp, refreshed } or { ok: false, error }.

import { readFileSync } from 'node:fs';

import { ConfidentialClientApplication, CryptoProvider, LogLevel } from '@azure/msal-node';

import { loginHeadless } from './headless-login.mjs';

const cfg = JSON.parse(process.argv[2]);
const idp = { tlsCertificatePem: readFileSync(cfg.certificatePath, 'utf8') };
const { host } = new URL(cfg.origin);
const out = {};

for (const { name, authority, scopes, protocolMode } of cfg.authorities) {
  try {
    const cca = new ConfidentialClientApplication({
      auth: { clientId: cfg.clientId, clientSecret: cfg.clientSecret, authority, knownAuthorities: [host] },
      system: { ...(protocolMode ? { protocolMode } : {}), loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => {} } },
    });
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const authorizeUrl = await cca.getAuthCodeUrl({ scopes, redirectUri: cfg.redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256' });
    const callback = new URL(await loginHeadless(idp, { authorizeUrl, username: cfg.username, password: cfg.password }));
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`no code: ${callback.search}`);
    const result = await cca.acquireTokenByCode({ code, scopes, redirectUri: cfg.redirectUri, codeVerifier: verifier });
    const refreshed = await cca.acquireTokenSilent({ account: result.account, scopes, forceRefresh: true });
    out[name] = {
      ok: true,
      homeAccountId: result.account.homeAccountId,
      authorityType: result.account.authorityType,
      tenantId: result.account.tenantId,
      tfp: result.idTokenClaims.tfp,
      accessToken: Boolean(result.accessToken),
      refreshed: Boolean(refreshed.accessToken) && refreshed.fromCache === false,
    };
  } catch (err) {
    out[name] = { ok: false, error: `${err?.errorCode ?? ''} ${err?.message ?? err}`.slice(0, 500) };
  }
}
process.stdout.write(JSON.stringify(out));
