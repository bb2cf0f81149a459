// Benchmark peer: @azure/msal-node inside workerd (nodejs_compat). One module-level
// ConfidentialClientApplication per isolate, so its in-memory token cache lives as long as the isolate.
// POST / {"scopes":[...]} → acquireTokenByClientCredential. On first use the cache is filled with
// FILL_N access tokens for other targets (MSAL JSON cache format, via deserialize()).
import { ConfidentialClientApplication } from '@azure/msal-node';

let appPromise;

function otherTokensCache(n, environment, clientId, realm) {
  const now = Math.floor(Date.now() / 1000);
  const secret = (i) => `eyJ${'x'.repeat(1060)}${i}`;
  const AccessToken = {};
  for (let i = 0; i < n; i++) {
    const target = `api://other-${i}/.default`;
    AccessToken[['', environment, 'accesstoken', clientId, realm, target, ''].join('-').toLowerCase()] = {
      home_account_id: '', environment, credential_type: 'AccessToken', client_id: clientId, realm, target,
      secret: secret(i), cached_at: String(now), expires_on: String(now + 3600), extended_expires_on: String(now + 3600), token_type: 'Bearer',
    };
  }
  return JSON.stringify({ Account: {}, IdToken: {}, AccessToken, RefreshToken: {}, AppMetadata: {} });
}

async function createApp(env) {
  const url = new URL(env.AUTHORITY);
  const app = new ConfidentialClientApplication({
    auth: { clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, authority: env.AUTHORITY, knownAuthorities: [url.host] },
  });
  const n = Number(env.FILL_N ?? 0);
  if (n > 0) app.getTokenCache().deserialize(otherTokensCache(n, url.host, env.CLIENT_ID, url.pathname.split('/')[1]));
  return app;
}

export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response('use POST', { status: 405 });
    try {
      appPromise ??= createApp(env).catch((error) => {
        appPromise = undefined;
        throw error;
      });
      const app = await appPromise;
      const { scopes } = await request.json();
      const result = await app.acquireTokenByClientCredential({ scopes });
      return Response.json({
        access_token: result.accessToken,
        token_type: result.tokenType,
        expires_on: Math.floor(result.expiresOn.getTime() / 1000),
        scope: result.scopes.join(' '),
        token_source: result.fromCache ? 'cache' : 'identity_provider',
      }, { headers: { 'cache-control': 'no-store' } });
    } catch (error) {
      return Response.json({ error: error.errorCode ?? 'error', error_description: String(error.message ?? error) }, { status: 500 });
    }
  },
};
