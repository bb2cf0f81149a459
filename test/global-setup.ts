/**
 * Starts the local identity provider (Node) before the Workers tests, on the port vitest.config.ts
 * picked (IDP_PORT), and hands its coordinates to them through vitest's provide/inject: the tests run
 * inside workerd and reach it over loopback. Also what only Node can make: msal-node's cache export
 * (msal-node-export.ts).
 */
import type { TestProject } from 'vitest/node';
// @ts-expect-error plain JS module without types
import { startIdp } from './idp/server.mjs';
import { msalNodeAuthCodeExport, msalNodeExport } from './msal-node-export.ts';

/** The authority kinds an msal-node export is made for (`IdpInfo.msalNodeCaches`). */
export const MSAL_NODE_EXPORT_KINDS = ['entraDomain', 'ciam', 'b2c', 'adfs', 'oidc'] as const;
export type MsalNodeExportKind = (typeof MSAL_NODE_EXPORT_KINDS)[number];

export interface IdpInfo {
  /** The Node that runs vitest and the identity provider (the project needs >= 22.12). */
  nodeVersion: string;
  origin: string;
  authority: string;
  authoritySecondary: string;
  tenants: { primary: string; secondary: string };
  /** Entra tenants by domain name: `${origin}/${tenantDomains.primary}` is the primary tenant (its discovery names the GUID). */
  tenantDomains: { primary: string; secondary: string };
  /**
   * Azure AD B2C (test/idp/b2c.mjs). A user flow's authority is `${authorityBase}/${policy}` (`authorities[policy]`);
   * every policy's issuer is `issuer` (trailing slash). Alice and Bob sign in with their usual passwords.
   */
  b2c: {
    tenantId: string;
    tenantName: string;
    domain: string;
    issuer: string;
    authorityBase: string;
    policies: { signUpSignIn: string; passwordReset: string; profileEdit: string };
    authorities: Record<string, string>;
    /** The B2C tenant's API: scopes `${resource}/read`, access-token `aud` = `appId`. */
    api: { resource: string; appId: string; scopes: string[] };
    users: { username: string; oid: string; name: string; emails: string[] }[];
  };
  /** AD FS (test/idp/adfs.mjs): access tokens carry `iss` = `accessTokenIssuer`. */
  adfs: { authority: string; issuer: string; accessTokenIssuer: string; users: { username: string; sub: string; upn: string; uniqueName: string; sid: string }[] };
  /** A plain OpenID provider (test/idp/plain-oidc.mjs). */
  oidc: { authority: string; issuer: string; users: { username: string; sub: string; name: string }[] };
  webApp: { clientId: string; clientSecret: string };
  webAppCert: { clientId: string; privateKeyPem: string; thumbprintSha256Hex: string };
  /**
   * msal-node's cache export after Alice and Bob signed in to the web app (api://downstream/read) with
   * their passwords: real refresh tokens, each good for one redemption (test/workers/account-import.test.ts).
   */
  msalNodeCache: string;
  /**
   * msal-node's cache export after Alice signed in through its auth code flow (PKCE) at each kind of
   * authority, one sign-in per kind (test/workers/authority-interop.test.ts), each with msal-node's
   * configuration for that kind (as test/idp/smoke-msal-authorities.mjs):
   * - `entraDomain`: the primary tenant by domain name (`${origin}/${tenantDomains.primary}/`), api://downstream/read;
   * - `ciam`: the primary tenant by GUID with msal-node's default (AAD) configuration: msal-node takes an
   *   authority as External ID only on a `*.ciamlogin.com` host, which loopback is not, and its cache
   *   entries are the same for both; api://downstream/read;
   * - `b2c`: the sign-in user flow (`b2c.authorities[b2c.policies.signUpSignIn]`), the B2C API's `read` scope;
   * - `adfs`: `${adfs.authority}/`, api://downstream/read;
   * - `oidc`: `${oidc.authority}/` with protocolMode OIDC, api://downstream/read.
   * Entra's, B2C's and AD FS's refresh tokens rotate: each is good for one redemption (plain OIDC keeps a
   * confidential client's). '' when global setup could not make it (see its log).
   */
  msalNodeCaches: Record<MsalNodeExportKind, string>;
}

export default async function setup(project: TestProject) {
  // On the port vitest.config.ts chose: its bindings (the Durable Objects' settings) name this provider.
  const port = Number(process.env.IDP_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('IDP_PORT is not set: vitest.config.ts picks it');
  // The Worker under test answers at https://worker.test (see harness.ts).
  const idp = await startIdp({ port, redirectUris: ['https://worker.test/auth/callback'] });
  const info: IdpInfo = {
    nodeVersion: process.versions.node,
    origin: idp.origin,
    authority: idp.authority(),
    authoritySecondary: idp.authority(idp.tenants.secondary),
    tenants: idp.tenants,
    tenantDomains: idp.tenantDomains,
    b2c: {
      tenantId: idp.b2c.tenantId,
      tenantName: idp.b2c.tenantName,
      domain: idp.b2c.domain,
      issuer: idp.b2c.issuer,
      authorityBase: idp.b2c.authorityBase,
      policies: idp.b2c.policies,
      authorities: idp.b2c.authorities,
      api: idp.b2c.api,
      users: idp.b2c.users.map(({ username, oid, name, emails }: IdpInfo['b2c']['users'][number]) => ({ username, oid, name, emails })),
    },
    adfs: { authority: idp.adfs.authority, issuer: idp.adfs.issuer, accessTokenIssuer: idp.adfs.accessTokenIssuer, users: idp.adfs.users },
    oidc: { authority: idp.oidc.authority, issuer: idp.oidc.issuer, users: idp.oidc.users },
    webApp: { clientId: idp.clients.webApp.clientId, clientSecret: idp.clients.webApp.clientSecret },
    webAppCert: {
      clientId: idp.clients.webAppCert.clientId,
      privateKeyPem: idp.clients.webAppCert.privateKeyPem,
      thumbprintSha256Hex: idp.clients.webAppCert.thumbprintSha256Hex,
    },
    msalNodeCache: await msalNodeExport({
      origin: idp.origin,
      tenant: idp.tenants.primary,
      clientId: idp.clients.webApp.clientId,
      clientSecret: idp.clients.webApp.clientSecret,
      scopes: ['api://downstream/read'],
      users: idp.users.filter((u: { username: string }) => u.username === 'alice@contoso.test' || u.username === 'bob@contoso.test'),
    }).catch((error: unknown) => {
      // Only the import tests need it: they fail on the empty value, every other file still runs.
      console.error(`global setup: no msal-node cache export: ${error instanceof Error ? error.message : String(error)}`);
      return '';
    }),
    msalNodeCaches: await msalNodeCaches(idp).catch((error: unknown) => {
      console.error(`global setup: no msal-node cache exports per authority: ${error instanceof Error ? error.message : String(error)}`);
      return Object.fromEntries(MSAL_NODE_EXPORT_KINDS.map((kind) => [kind, ''])) as Record<MsalNodeExportKind, string>;
    }),
  };
  project.provide('idp', info);
  return async () => {
    await idp.close();
  };
}

/** What msalNodeCaches needs of the provider (server.mjs's `Idp`, untyped). */
interface ExportingIdp {
  origin: string;
  tenants: { primary: string };
  tenantDomains: { primary: string };
  b2c: { authorities: Record<string, string>; policies: { signUpSignIn: string }; api: { resource: string } };
  adfs: { authority: string };
  oidc: { authority: string };
  clients: { webApp: { clientId: string; clientSecret: string } };
  users: { username: string; password: string }[];
}

/**
 * One msal-node export per authority kind (IdpInfo.msalNodeCaches), made one after another. A kind that
 * fails is '' and logged: only the tests that import it fail.
 */
async function msalNodeCaches(idp: ExportingIdp): Promise<Record<MsalNodeExportKind, string>> {
  const user = idp.users.find((u) => u.username === 'alice@contoso.test') ?? { username: 'alice@contoso.test', password: '' };
  const common = {
    origin: idp.origin,
    clientId: idp.clients.webApp.clientId,
    clientSecret: idp.clients.webApp.clientSecret,
    redirectUri: 'https://worker.test/auth/callback',
    user: { username: user.username, password: user.password },
  };
  const downstream = ['api://downstream/read'];
  const configurations: Record<MsalNodeExportKind, { authority: string; scopes: string[]; protocolMode?: 'OIDC' }> = {
    entraDomain: { authority: `${idp.origin}/${idp.tenantDomains.primary}/`, scopes: downstream },
    ciam: { authority: `${idp.origin}/${idp.tenants.primary}/`, scopes: downstream },
    b2c: { authority: idp.b2c.authorities[idp.b2c.policies.signUpSignIn]!, scopes: [`${idp.b2c.api.resource}/read`] },
    adfs: { authority: `${idp.adfs.authority}/`, scopes: downstream },
    oidc: { authority: `${idp.oidc.authority}/`, scopes: downstream, protocolMode: 'OIDC' },
  };
  const caches = {} as Record<MsalNodeExportKind, string>;
  for (const kind of MSAL_NODE_EXPORT_KINDS) {
    caches[kind] = await msalNodeAuthCodeExport({ ...common, ...configurations[kind] }).catch((error: unknown) => {
      console.error(`global setup: no msal-node cache export for ${kind}: ${error instanceof Error ? error.message : String(error)}`);
      return '';
    });
  }
  return caches;
}
