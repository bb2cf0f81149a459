/**
 * The token-endpoint sequence every grant shares: discover → send under the HTTP policy (timeout,
 * throttling, the grant's retry rule) → process the answer → classify errors → build the AccessToken
 * entity → cache it → the result. A grant supplies only what differs: its request, its processing,
 * and which cache entry its answer fills.
 */
import type * as oauth from 'oauth4webapi';
import { accessTokenEntity, type AccessTokenEntity, type AccessTokenQuery } from '../cache/entities.ts';
import { classifyCredentialError, classifyServerError } from '../interaction.ts';
import type { IdTokenContext } from '../oauth/id-token.ts';
import { sendTokenRequest } from '../oauth/provider-http.ts';
import type { SendInit, TokenEndpoint, TokenResponse } from '../oauth/token-endpoint.ts';
import { authorizationServer, idTokenContext, toResult, tokenEndpoint, type AuthenticationResult, type ClientContext } from './context.ts';

export type GrantType = 'client_credentials' | 'authorization_code' | 'refresh_token' | 'jwt-bearer' | 'device_code' | 'password';

/** How a provider error of each grant reaches the caller: as it is, or classified as MSAL classifies it. */
type Classify = (error: unknown) => unknown;
const asIs: Classify = (error) => error;

const GRANT_RULES: Record<GrantType, { retry: boolean; classify: Classify }> = {
  // Idempotent: a lost answer costs nothing but a second token.
  client_credentials: { retry: true, classify: asIs },
  // Never replayed: a code is single-use, and a lost answer to a refresh may have rotated the token.
  authorization_code: { retry: false, classify: classifyServerError },
  refresh_token: { retry: false, classify: classifyServerError },
  // On-behalf-of: the assertion may be exchanged again; a step-up is the user's to answer.
  'jwt-bearer': { retry: true, classify: classifyServerError },
  // A device code poll is paced by its interval: the next poll is the retry.
  device_code: { retry: false, classify: classifyServerError },
  // A password is never sent twice on our own initiative; a plain invalid_grant is wrong credentials.
  password: { retry: false, classify: classifyCredentialError },
};

export interface TokenStep<T extends TokenResponse> {
  grant: GrantType;
  /** What makes two requests of this grant the same one for the throttling cache. */
  identity: readonly string[];
  send(endpoint: TokenEndpoint, init: SendInit): Promise<Response>;
  process(response: Response, checks: IdTokenContext, correlationId: string): Promise<T>;
  /** The cache entry this answer fills (user grants learn the account from the answer). */
  query(tokens: T): AccessTokenQuery;
  /** Runs before the access token is cached; false leaves it out (an account removed meanwhile). */
  keep?(tokens: T): Promise<boolean>;
}

export interface Redeemed<T> {
  tokens: T;
  accessToken: AccessTokenEntity;
  result: AuthenticationResult;
}

/**
 * @throws ThrottlingError while the provider's Retry-After for the same request runs; ServerError
 *   (InteractionRequiredError for a user grant that needs the user back); NetworkError.
 */
export async function redeem<T extends TokenResponse>(ctx: ClientContext, step: TokenStep<T>, correlationId: string): Promise<Redeemed<T>> {
  const { authority, clientId, timeoutMs, retryDelayMs } = ctx.config;
  const { throttling, now, cache } = ctx.deps;
  const rules = GRANT_RULES[step.grant];
  const as: oauth.AuthorizationServer = await authorizationServer(ctx, correlationId);
  const endpoint = tokenEndpoint(ctx, as, step.grant);
  const requestedAt = now();
  let response: Response;
  let tokens: T;
  try {
    response = await sendTokenRequest(
      (init) => step.send(endpoint, init),
      { retry: rules.retry, thumbprint: [authority.url, clientId, step.grant, ...step.identity].join('|'), throttling, correlationId },
      { timeoutMs, retryDelayMs, now },
    );
    tokens = await step.process(response, idTokenContext(ctx, as), correlationId);
  } catch (error) {
    throw rules.classify(error);
  }
  const accessToken = accessTokenEntity(step.query(tokens), tokens, requestedAt);
  if ((await step.keep?.(tokens)) ?? true) {
    // Caching is best effort: a store hiccup (KV allows one write per key per second) must not throw
    // away a token the provider already issued.
    await cache.saveAccessToken(accessToken, now()).catch(() => undefined);
  }
  const answeredCorrelationId = response.headers.get('client-request-id') || correlationId;
  return { tokens, accessToken, result: toResult(accessToken, 'identity_provider', answeredCorrelationId) };
}
