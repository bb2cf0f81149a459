/**
 * The local identity provider for the Deno suites of this folder: where it is, from IDP_INFO (which
 * scripts/test.mjs sets after starting the provider in Node; without it the suites are ignored), and its
 * test controls over HTTP. Deno only (Deno.env); the runtime-neutral helpers are in test/support.
 */

export interface IdpInfo {
  origin: string;
  authority: string;
  webApp: { clientId: string; clientSecret: string };
}

const info = Deno.env.get('IDP_INFO');
export const idp: IdpInfo | undefined = info ? JSON.parse(info) : undefined;

/** One of the provider's test controls (`/_control/<path>`): a GET without `body`, a POST of it as JSON with one. */
export async function control(path: string, body?: unknown): Promise<Record<string, number>> {
  const response = await fetch(`${idp!.origin}/_control/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return await response.json();
}
