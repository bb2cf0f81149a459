/**
 * Sign-in with the authorization code flow (MSAL's initiate_auth_code_flow /
 * acquire_token_by_auth_code_flow): the flow object, then the redemption that validates the ID token,
 * builds the Account as MSAL does, caches the access token and returns the account record for the
 * account store. The code is never redeemed twice: no retry.
 */
import * as oauth from 'oauth4webapi';
import { accountInfo, buildAccount, type AccountInfo, type AccountRecord } from '../account.ts';
import { accessTokenEntity, type AccessTokenQuery } from '../cache/entities.ts';
import {
  authorizationCodeRequest,
  authorizationUrl,
  validateAuthorizationResponse,
  type AuthCodeFlow,
  type ResponseMode,
} from '../oauth/authorization-code.ts';
import { sendTokenRequest } from '../oauth/provider-http.ts';
import { processUserTokenResponse } from '../oauth/user-token-response.ts';
import { classifyServerError } from '../interaction.ts';
import { resourceScopes, scopesToTarget } from '../scopes.ts';
import { authorizationServer, toResult, type AuthenticationResult, type ClientContext } from './context.ts';

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

/** @throws CallerError for scopes that repeat the OIDC scopes MSAL adds itself. */
export async function initiateAuthCodeFlow(ctx: ClientContext, request: AuthCodeFlowRequest): Promise<AuthCodeFlow> {
  const scopes = resourceScopes(request.scopes);
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
 * @throws CallerError `state_mismatch`; ServerError for the provider's error answer (a replayed code is
 *   its `invalid_grant`); NetworkError `invalid_id_token` for an ID token that fails validation.
 */
export async function acquireTokenByAuthCodeFlow(
  ctx: ClientContext,
  flow: AuthCodeFlow,
  authResponse: URLSearchParams,
  correlationId: string = crypto.randomUUID(),
): Promise<{ result: AuthCodeResult; record: AccountRecord }> {
  const { authority, clientId, credential, timeoutMs, retryDelayMs } = ctx.config;
  const { fetch, now, throttling, cache } = ctx.deps;
  const as = await authorizationServer(ctx);
  const callbackParameters = validateAuthorizationResponse(as, authority, clientId, flow, authResponse);
  const requestedAt = now();
  let tokens;
  try {
    const response = await sendTokenRequest(
      (init) => authorizationCodeRequest({ as, authority, clientId, credential, flow, callbackParameters, fetch }, init),
      { retry: false, thumbprint: [authority.url, clientId, 'authorization_code', crypto.randomUUID()].join('|'), throttling, correlationId },
      { timeoutMs, retryDelayMs, now },
    );
    tokens = await processUserTokenResponse('authorization_code', response, { as, authority, clientId, fetch, now: now(), timeoutMs }, flow.nonce, correlationId);
  } catch (error) {
    throw classifyServerError(error);
  }
  const claims = tokens.idTokenClaims!;
  const realm = typeof claims.tid === 'string' ? claims.tid : authority.tenant;
  const account = buildAccount({ claims, clientInfoRaw: tokens.client_info, environment: authority.environment, realm, now: now() });
  const target = scopesToTarget(flow.scopes);
  const query: AccessTokenQuery = { homeAccountId: account.home_account_id, environment: authority.environment, clientId, realm, target };
  const accessToken = accessTokenEntity(query, tokens, requestedAt);
  await cache.saveAccessToken(accessToken, now()).catch(() => undefined);

  const record: AccountRecord = {
    account,
    idToken: { home_account_id: account.home_account_id, environment: authority.environment, credential_type: 'IdToken', client_id: clientId, realm, secret: tokens.id_token! },
    idTokenClaims: claims,
    accessTokenTargets: [target],
  };
  if (tokens.refresh_token) {
    record.refreshToken = {
      home_account_id: account.home_account_id,
      environment: authority.environment,
      credential_type: 'RefreshToken',
      client_id: clientId,
      secret: tokens.refresh_token,
      last_modification_time: String(Math.floor(now() / 1000)),
      ...(tokens.foci ? { family_id: tokens.foci } : {}),
    };
  }
  // MSAL Python writes AppMetadata on every token response; the family id only when the app is in one.
  record.appMetadata = { client_id: clientId, environment: authority.environment, ...(tokens.foci ? { family_id: tokens.foci } : {}) };
  const result: AuthCodeResult = { ...toResult(accessToken, 'identity_provider', correlationId), account: accountInfo(account), idTokenClaims: claims };
  return { result, record };
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
