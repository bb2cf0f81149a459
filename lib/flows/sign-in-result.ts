/**
 * How every user sign-in ends, whatever the grant (authorization code, password, an imported refresh
 * token; device code next): the answer's ID token validated by the grant's processing, the tenant
 * allow-list checked before anything is stored, the Account built as MSAL builds it, the access token
 * cached through `redeem`, and the account record (ID token, refresh token, app metadata) returned for
 * the account store.
 */
import { accountInfo, accountRecord, signedInAccount, type AccountInfo, type AccountRecord } from '../account.ts';
import type { IdTokenContext } from '../oauth/id-token.ts';
import type { SendInit, TokenEndpoint } from '../oauth/token-endpoint.ts';
import type { UserTokenResponse } from '../oauth/user-token-response.ts';
import { scopesToTarget } from '../scopes.ts';
import { assertTenantAllowed, signInTenants } from '../tenants.ts';
import type { AuthenticationResult, ClientContext } from './context.ts';
import { redeem, type GrantType } from './redeem.ts';

/** A sign-in's answer: the token result, the signed-in account and its ID token claims. */
export interface SignInResult extends AuthenticationResult {
  account: AccountInfo;
  idTokenClaims: Record<string, unknown>;
}

export interface SignInOutcome {
  result: SignInResult;
  record: AccountRecord;
}

/** What a sign-in grant supplies: its request, its processing (which validates the ID token), its scopes. */
export interface SignInStep<T extends UserTokenResponse> {
  grant: GrantType;
  /** What makes two requests of this grant the same one for the throttling cache. Never a secret. */
  identity: readonly string[];
  /** The resource scopes asked for: the cached access token's target. */
  scopes: readonly string[];
  send(endpoint: TokenEndpoint, init: SendInit): Promise<Response>;
  process(response: Response, checks: IdTokenContext, correlationId: string): Promise<T>;
}

/**
 * @throws ClientConfigurationError ALLOWED_TENANTS for a multi-tenant authority without an allow-list;
 *   CallerError `access_denied` for a user of a tenant that may not sign in (nothing is stored);
 *   ServerError (InteractionRequiredError as `redeem` classifies user grants); NetworkError
 *   (`invalid_id_token` from the grant's processing).
 */
export async function redeemSignIn<T extends UserTokenResponse>(ctx: ClientContext, step: SignInStep<T>, correlationId: string): Promise<SignInOutcome> {
  const { authority, clientId } = ctx.config;
  const allowedTenants = signInTenants(authority, ctx.config.allowedTenants);
  const target = scopesToTarget(step.scopes);
  const { tokens, accessToken, result } = await redeem(
    ctx,
    {
      grant: step.grant,
      identity: step.identity,
      send: step.send,
      process: async (response, checks, id) => {
        const tokens = await step.process(response, checks, id);
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
