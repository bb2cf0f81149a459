/**
 * Sign-in with the authorization code flow (MSAL's initiate_auth_code_flow /
 * acquire_token_by_auth_code_flow): the flow object, then the redemption that validates the ID token,
 * builds the Account as MSAL does, caches the access token and returns the account record for the
 * account store. The code is never redeemed twice: no retry.
 */
import * as oauth from 'oauth4webapi';
import type { AccountRecord } from '../account.ts';
import {
  authorizationCodeRequest,
  authorizationUrl,
  processAuthorizationCodeResponse,
  validateAuthorizationResponse,
  type AuthCodeFlow,
  type ResponseMode,
} from '../oauth/authorization-code.ts';
import { resourceScopes } from '../scopes.ts';
import { authorizationServer, type ClientContext } from './context.ts';
import { redeemSignIn, type SignInResult } from './sign-in-result.ts';
import { signInTenants } from '../tenants.ts';

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

/** The sign-in's answer (shared by every user sign-in, see sign-in-result.ts). */
export type AuthCodeResult = SignInResult;

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
  // A deployment that would let any tenant in finds out first (redeemSignIn checks it again).
  signInTenants(authority, ctx.config.allowedTenants);
  const callbackParameters = validateAuthorizationResponse(await authorizationServer(ctx), authority, clientId, flow, authResponse);
  return redeemSignIn(
    ctx,
    {
      grant: 'authorization_code',
      // Never the same request twice: a code is redeemed once, whatever the provider said before.
      identity: [crypto.randomUUID()],
      scopes: flow.scopes,
      send: (endpoint, init) => authorizationCodeRequest(endpoint, { flow, callbackParameters }, init),
      process: (response, checks, id) => processAuthorizationCodeResponse(checks, response, flow.nonce, id),
    },
    correlationId,
  );
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
