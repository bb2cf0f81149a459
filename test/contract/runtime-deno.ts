/**
 * The contract suite's deployment under Deno: functions/deno/main.ts's handler over one Deno KV (in memory,
 * for the whole run), with the base settings built from IDP_INFO, which the launcher (scripts/test.mjs, or
 * test/contract/run-deno.mjs) sets after starting the local provider in Node. Loaded by target.ts only
 * under Deno.
 */
import { createDenoHandler } from '../../functions/deno/main.ts';
import { SIGN_IN_SETTINGS, randomKey, type App, type ContractIdp, type Runtime, type Settings } from './deployment.ts';

function readIdpInfo(): ContractIdp {
  const text = Deno.env.get('IDP_INFO');
  if (!text) throw new Error('IDP_INFO is not set: the contract suite needs the local provider (node test/contract/run-deno.mjs)');
  const info = JSON.parse(text) as Partial<ContractIdp>;
  if (!info.origin || !info.authority || !info.webApp || !info.tenants) {
    throw new Error('IDP_INFO lacks origin, authority, tenants or webApp: see test/contract/run-deno.mjs for what the contract suite needs');
  }
  return {
    origin: info.origin,
    authority: info.authority,
    authoritySecondary: info.authoritySecondary ?? `${info.origin}/${info.tenants.secondary}`,
    tenants: info.tenants,
    webApp: info.webApp,
  };
}

const idp = readIdpInfo();

/** One store for every deployment of the run, as one deployment's KV outlives its processes. */
const kv = await Deno.openKv(':memory:');

/** As vitest.config.ts binds them for workerd: the keys are random, fixed for the run. */
const baseSettings: Settings = {
  AUTHORITY: idp.authority,
  CLIENT_ID: idp.webApp.clientId,
  CLIENT_SECRET: idp.webApp.clientSecret,
  TOKEN_CACHE_KEY: randomKey(),
  SESSION_KEY: randomKey(),
  ...SIGN_IN_SETTINGS,
};

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

async function deployment(settings: Settings): Promise<App> {
  const handler = (await createDenoHandler(kv, settings)) as Handler;
  return {
    settings,
    async fetch(request: Request): Promise<Response> {
      // Deno.serve hands the handler the client's address; the tests name theirs as Cloudflare's edge does.
      const hostname = request.headers.get('cf-connecting-ip') ?? '127.0.0.1';
      const info: Deno.ServeHandlerInfo = { remoteAddr: { transport: 'tcp', hostname, port: 40000 }, completed: Promise.resolve() };
      return await handler(request, info);
    },
  };
}

export const runtime: Runtime = { name: 'deno', idp, baseSettings, deployment };
