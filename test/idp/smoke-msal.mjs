// Child process for smoke.mjs: msal-node against the HTTPS IdP.
// Runs separately because msal-node uses global fetch, which only trusts the
// self-signed IdP certificate via NODE_EXTRA_CA_CERTS read at process start.
//
// Usage: NODE_EXTRA_CA_CERTS=<tls cert> node test/idp/smoke-msal.mjs '<json>'
//   json = { authority, knownAuthority, clientId, clientSecret, scope }

import { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';

const cfg = JSON.parse(process.argv[2]);
const cca = new ConfidentialClientApplication({
  auth: {
    clientId: cfg.clientId,
    clientSecret: cfg.clientSecret,
    authority: cfg.authority,
    knownAuthorities: [cfg.knownAuthority],
  },
  system: { loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => {} } },
});

const first = await cca.acquireTokenByClientCredential({ scopes: [cfg.scope] });
const second = await cca.acquireTokenByClientCredential({ scopes: [cfg.scope] });
const claims = JSON.parse(Buffer.from(first.accessToken.split('.')[1], 'base64url').toString('utf8'));
process.stdout.write(JSON.stringify({
  tokenType: first.tokenType,
  tenantId: first.tenantId,
  aud: claims.aud,
  roles: claims.roles,
  expiresOn: first.expiresOn,
  fromCache: first.fromCache,
  secondFromCache: second.fromCache,
}));
