/**
 * POST /token/password — a user signed in with their username and password (MSAL's
 * acquireTokenByUsernamePassword) by an authenticated caller allowed the `password` grant, answered as
 * every headless sign-in is: token fields, the account, a session key. Discouraged (no MFA, no Conditional
 * Access, no federated or personal accounts): the route exists only with ENABLE_PASSWORD_GRANT=true.
 *
 * The password goes to the provider and nowhere else: not logged, cached, stored, put in a rate-limit key
 * or echoed (lib/flows/password.ts redacts it from errors too).
 */
import { Hono } from 'hono';
import { CallerError, base64url, normalizeScopes, sha256, utf8 } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { assertScopesAllowed } from '../allowed-scopes.ts';
import { assertCallerMay, authenticateCaller } from '../callers.ts';
import { postOnly } from '../errors.ts';
import { headlessSignInResponse } from '../headless-sign-in.ts';
import { enforceRateLimit } from '../rate-limits.ts';
import { readBodyParameters } from '../request-body.ts';
import { assertClaimsChallenge } from '../token-request.ts';

export const passwordRoutes = new Hono<AppEnv>();

// Switched off, the route answers as a path that does not exist, for every method: its existence is not
// advertised to anyone probing.
passwordRoutes.use('*', async (c, next) => {
  if (!c.var.deps.passwordGrantEnabled) throw new CallerError('not_found', 'No such endpoint');
  await next();
});

passwordRoutes.post('/', async (c) => {
  // Authenticate before reading the body: an unknown caller learns nothing about the rules.
  const caller = await authenticateCaller(c.var.deps.callers(), c.req.header('authorization'));
  assertCallerMay(caller, 'password');
  const body = await readBodyParameters(c.req.raw);
  const { username, password, claims } = body;
  // The rest of their rules (lengths, control characters) are the lib flow's; none echoes a value.
  if (typeof username !== 'string' || typeof password !== 'string') throw new CallerError('invalid_request', 'username and password are required strings');
  const scopes = normalizeScopes(body.scopes);
  if (claims !== undefined) assertClaimsChallenge(claims);
  assertScopesAllowed(caller.scopes, scopes, 'This caller');
  // Two limits: the caller's volume (the shared sign-in limiter, generous), and guesses at one user's
  // password (strict), counted whoever the caller so that spreading over callers does not help.
  await enforceRateLimit(c.var.rateLimits.signIn, `password:${caller.id}`, 'password sign-ins by this caller');
  await enforceRateLimit(c.var.rateLimits.password, `user:${await usernameKey(username)}`, 'password sign-ins for this user');
  const { result, record } = await c.var.deps.client.acquireTokenByUsernamePassword({
    username,
    password,
    scopes,
    correlationId: c.var.correlationId,
    ...(claims ? { claims } : {}),
  });
  return headlessSignInResponse(c, result, record);
});

passwordRoutes.all('/', (c) => postOnly(c.var.correlationId));

/**
 * The user's rate-limit key: one bucket however the name is cased or padded; hashed, so that the limiter
 * (Cloudflare's service) holds no user names and the key has a fixed length.
 */
async function usernameKey(username: string): Promise<string> {
  return base64url(await sha256(utf8(username.trim().toLowerCase())));
}
