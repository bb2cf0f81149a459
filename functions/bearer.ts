/** The bearer token of a request to an API route (RFC 6750 §2.1). */
import type { Context } from 'hono';
import { CallerError } from '../lib/mod.ts';
import type { AppEnv } from './app-env.ts';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/** @throws CallerError `invalid_token` (401 with `WWW-Authenticate: Bearer error="invalid_token"`). */
export function bearerToken(c: Context<AppEnv>): string {
  const match = BEARER.exec(c.req.header('authorization') ?? '');
  if (!match) throw new CallerError('invalid_token', 'A bearer access token for this API is required');
  return match[1]!;
}
