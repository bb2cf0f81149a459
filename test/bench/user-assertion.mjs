// A user's access token for this app's own API (`api://web-app/access_as_user`): the assertion an
// on-behalf-of exchange starts from. Signs the user in headlessly at the local IdP (auth code + PKCE,
// client `web-app`) and redeems the code with node:https, trusting the IdP's self-signed certificate per
// request, so the calling process needs neither NODE_EXTRA_CA_CERTS nor a global CA change.
import https from 'node:https';
import http from 'node:http';
import { loginHeadless, pkcePair } from '../idp/headless-login.mjs';
import { CLIENT_IDS, CLIENT_SECRETS } from '../idp/config.mjs';

/** The scope of this app's API that `API_SCOPE=access_as_user` requires. */
export const API_SCOPE_NAME = 'access_as_user';
export const API_SCOPE = `api://${CLIENT_IDS.webApp}/${API_SCOPE_NAME}`;
/** Registered for every client of the local IdP (config.mjs DEFAULT_REDIRECT_URIS); never called. */
const REDIRECT_URI = 'http://localhost:8787/auth/callback';

function post(url, form, { ca, authorization }) {
  const target = new URL(url);
  const body = new URLSearchParams(form).toString();
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(target, {
      method: 'POST',
      ca,
      agent: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), authorization, accept: 'application/json' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * @param {{ authority: (t?: string) => string, tlsCertificatePem?: string }} idp  startIdp()'s handle
 * @param {{ username: string, password: string }} user  one of USERS
 * @returns {Promise<string>} the access token (a JWT with `aud` api://web-app and `scp` access_as_user)
 */
export async function userAssertion(idp, user, { scopes = [API_SCOPE], tenant } = {}) {
  const { verifier, challenge } = pkcePair();
  const callback = await loginHeadless(idp, {
    clientId: CLIENT_IDS.webApp,
    redirectUri: REDIRECT_URI,
    scopes: ['openid', 'profile', ...scopes],
    codeChallenge: challenge,
    tenant,
    username: user.username,
    password: user.password,
  });
  const params = new URL(callback).searchParams;
  const code = params.get('code');
  if (!code) throw new Error(`userAssertion: no code in ${callback}`);
  const basic = Buffer.from(`${encodeURIComponent(CLIENT_IDS.webApp)}:${encodeURIComponent(CLIENT_SECRETS.webApp)}`).toString('base64');
  const { status, text } = await post(`${idp.authority(tenant)}/oauth2/v2.0/token`, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    scope: ['openid', 'profile', ...scopes].join(' '),
  }, { ca: idp.tlsCertificatePem, authorization: `Basic ${basic}` });
  if (status !== 200) throw new Error(`userAssertion: token endpoint answered ${status}: ${text.slice(0, 500)}`);
  const { access_token: accessToken } = JSON.parse(text);
  if (typeof accessToken !== 'string') throw new Error('userAssertion: no access_token');
  return accessToken;
}
