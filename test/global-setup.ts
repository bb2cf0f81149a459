/**
 * Starts the local identity provider (Node) before the Workers tests, on the port vitest.config.ts
 * picked (IDP_PORT), and hands its coordinates to them through vitest's provide/inject: the tests run
 * inside workerd and reach it over loopback.
 */
import type { TestProject } from 'vitest/node';
// @ts-expect-error plain JS module without types
import { startIdp } from './idp/server.mjs';

export interface IdpInfo {
  /** The Node that runs vitest and the identity provider (the project needs >= 22.12). */
  nodeVersion: string;
  origin: string;
  authority: string;
  authoritySecondary: string;
  tenants: { primary: string; secondary: string };
  webApp: { clientId: string; clientSecret: string };
  webAppCert: { clientId: string; privateKeyPem: string; thumbprintSha256Hex: string };
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
    webApp: { clientId: idp.clients.webApp.clientId, clientSecret: idp.clients.webApp.clientSecret },
    webAppCert: {
      clientId: idp.clients.webAppCert.clientId,
      privateKeyPem: idp.clients.webAppCert.privateKeyPem,
      thumbprintSha256Hex: idp.clients.webAppCert.thumbprintSha256Hex,
    },
  };
  project.provide('idp', info);
  return async () => {
    await idp.close();
  };
}
