/**
 * The local provider as the Deno suites see it (IDP_INFO): started in Node, registered for the contract
 * suite's deployment at https://worker.test. Shared by `npm test` (scripts/test.mjs) and
 * test/contract/run-deno.mjs.
 */
import { startIdp } from './server.mjs';

/** @returns {Promise<{ idp: Awaited<ReturnType<typeof startIdp>>, idpInfo: object }>} */
export async function startIdpForDeno() {
  const idp = await startIdp({ port: 0, redirectUris: ['https://worker.test/auth/callback'] });
  const idpInfo = {
    origin: idp.origin,
    authority: idp.authority(),
    authoritySecondary: idp.authority(idp.tenants.secondary),
    tenants: idp.tenants,
    webApp: idp.clients.webApp,
  };
  return { idp, idpInfo };
}
