/**
 * The Deno entry end to end: Deno KV as the token cache, against the local identity provider that
 * `npm test` starts in Node and describes in IDP_INFO.
 */
import { createDenoHandler } from '../../functions/deno/main.ts';
import { assert, assertEquals } from '../lib/spec.ts';

interface IdpInfo {
  origin: string;
  authority: string;
  webApp: { clientId: string; clientSecret: string };
}

const info = Deno.env.get('IDP_INFO');
const idp: IdpInfo | undefined = info ? JSON.parse(info) : undefined;
const callerKey = 'deno-caller-key-0123456789abcdef';

async function hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function withHandler(fn: (handler: (r: Request) => Response | Promise<Response>, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(':memory:');
  try {
    const handler = await createDenoHandler(kv, {
      AUTHORITY: idp!.authority,
      CLIENT_ID: idp!.webApp.clientId,
      CLIENT_SECRET: idp!.webApp.clientSecret,
      TOKEN_CACHE_KEY: crypto.randomUUID() + crypto.randomUUID(),
      CALLERS: JSON.stringify({ deno: { key_sha256: await hex(callerKey), scopes: ['api://downstream/.default'] } }),
    });
    await fn(handler, kv);
  } finally {
    kv.close();
  }
}

function tokenRequest(key = callerKey): Request {
  return new Request('http://deno.test/token/client', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scopes: ['api://downstream/.default'] }),
  });
}

async function clientCredentialCalls(): Promise<number> {
  const counts = await (await fetch(`${idp!.origin}/_control/counts`)).json();
  return counts['token:client_credentials'] ?? 0;
}

Deno.test({
  name: 'the Deno entry gets an app token from the provider, then serves it from Deno KV',
  ignore: !idp,
  async fn() {
    await (await fetch(`${idp!.origin}/_control/reset`, { method: 'POST' })).body?.cancel();
    await withHandler(async (handler, kv) => {
      const first = await handler(tokenRequest());
      assertEquals(first.status, 200);
      assertEquals((await first.json()).token_source, 'identity_provider');
      const second = await handler(tokenRequest());
      assertEquals((await second.json()).token_source, 'cache');
      assertEquals(await clientCredentialCalls(), 1);
      const stored = [];
      for await (const entry of kv.list<string>({ prefix: ['token-cache'] })) stored.push(entry.value);
      assertEquals(stored.length, 1);
      assert(stored[0]!.startsWith('v1.'), 'the KV value is sealed');
    });
  },
});

Deno.test({
  name: 'the Deno entry refuses an unknown caller with 401 invalid_client',
  ignore: !idp,
  async fn() {
    await withHandler(async (handler) => {
      const response = await handler(tokenRequest('not-a-caller'));
      assertEquals(response.status, 401);
      assertEquals((await response.json()).error, 'invalid_client');
    });
  },
});
