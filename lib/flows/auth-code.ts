/**
 * Sign-in with the authorization code flow (MSAL's initiate_auth_code_flow /
 * acquire_token_by_auth_code_flow): the flow object, then the redemption that validates the ID token,
 * builds the Account as MSAL does, caches the access token and returns the account record for the
 * account store. The code is never redeemed twice: no retry.
 */
import * as oauth from 'oauth4webapi';
import { accountInfo, accountRecord, signedInAccount, type AccountInfo, type AccountRecord } from '../account.ts';
import {
  authorizationCodeRequest,
  authorizationUrl,
  processAuthorizationCodeResponse,
  validateAuthorizationResponse,
  type AuthCodeFlow,
  type ResponseMode,
} from '../oauth/authorization-code.ts';
import { resourceScopes, scopesToTarget } from '../scopes.ts';
import { authorizationServer, type AuthenticationResult, type ClientContext } from './context.ts';
import { redeem } from './redeem.ts';
import { assertTenantAllowed, signInTenants } from '../tenants.ts';

export interface AuthCodeFlowRequest {
  scopes: readonly string[];
  redirectUri: string;
  state?: string;
  prompt?: string;
  loginHint?: string;
  domainHint?: string;
  claims?: string;
  responseMode?: ResponseMode;
}

/**
 * @throws CallerError for scopes that repeat the OIDC scopes MSAL adds itself; ClientConfigurationError
 *   ALLOWED_TENANTS for a multi-tenant authority without a tenant allow-list.
 */
export async function initiateAuthCodeFlow(ctx: ClientContext, request: AuthCodeFlowRequest): Promise<AuthCodeFlow> {
  const scopes = resourceScopes(request.scopes);
  // A deployment that would let any tenant in finds out here, before any state is kept.
  signInTenants(ctx.config.authority, ctx.config.allowedTenants);
  const as = await authorizationServer(ctx);
  const state = request.state ?? oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const responseMode = request.responseMode ?? 'query';
  const flow: AuthCodeFlow = {
    state,
    nonce,
    codeVerifier,
    redirectUri: request.redirectUri,
    scopes,
    responseMode,
    createdAt: ctx.deps.now(),
    authUri: authorizationUrl({
      as,
      clientId: ctx.config.clientId,
      scopes,
      redirectUri: request.redirectUri,
      state,
      nonce,
      codeChallenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      responseMode,
      ...definedOnly({ prompt: request.prompt, loginHint: request.loginHint, domainHint: request.domainHint, claims: request.claims }),
    }),
  };
  if (request.claims) flow.claims = request.claims;
  return flow;
}

export interface AuthCodeResult extends AuthenticationResult {
  account: AccountInfo;
  idTokenClaims: Record<string, unknown>;
}

/**
 * @throws CallerError `state_mismatch`, `access_denied` (a tenant not allowed: nothing is stored); ServerError for the provider's error answer (a replayed code is
 *   its `invalid_grant`); NetworkError `invalid_id_token` for an ID token that fails validation.
 */
export async function acquireTokenByAuthCodeFlow(
  ctx: ClientContext,
  flow: AuthCodeFlow,
  authResponse: URLSearchParams,
  correlationId: string = crypto.randomUUID(),
): Promise<{ result: AuthCodeResult; record: AccountRecord }> {
  const { authority, clientId } = ctx.config;
  const allowedTenants = signInTenants(authority, ctx.config.allowedTenants);
  const callbackParameters = validateAuthorizationResponse(await authorizationServer(ctx), authority, clientId, flow, authResponse);
  const target = scopesToTarget(flow.scopes);
  const { tokens, accessToken, result } = await redeem(
    ctx,
    {
      grant: 'authorization_code',
      // Never the same request twice: a code is redeemed once, whatever the provider said before.
      identity: [crypto.randomUUID()],
      send: (endpoint, init) => authorizationCodeRequest(endpoint, { flow, callbackParameters }, init),
      process: async (response, checks, id) => {
        const tokens = await processAuthorizationCodeResponse(checks, response, flow.nonce, id);
        // Before anything is stored: a refused tenant leaves no account, token or session behind.
        assertTenantAllowed(allowedTenants, tokens.idTokenClaims?.tid);
        return { ...tokens, account: signedInAccount(tokens, authority, ctx.deps.now()) };
      },
      query: ({ account }) => ({ homeAccountId: account.home_account_id, environment: authority.environment, clientId, realm: account.realm, target }),
    },
    correlationId,
  );
  const record = accountRecord({ account: tokens.account, tokens, clientId, accessTokenTarget: accessToken.target, now: ctx.deps.now() });
  return { result: { ...result, account: accountInfo(tokens.account), idTokenClaims: record.idTokenClaims }, record };
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
