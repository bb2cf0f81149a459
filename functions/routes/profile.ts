/**
 * GET /api/profile — the demo middle tier: validates the caller's token for this API (as /token/obo),
 * gets a token for the downstream demo API on behalf of the user, calls that API with it, and answers
 * with both: who called, and what the downstream API saw.
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { bearerToken } from '../bearer.ts';

/** Calls a route of this app as an outside client would (a new request through the whole app). */
export type CallDownstream = (c: Context<AppEnv>, request: Request) => Promise<Response>;

export function profileRoutes(callDownstream: CallDownstream): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/api/profile', async (c) => {
    const userAssertion = bearerToken(c);
    const [scope] = c.var.deps.oboScopes();
    const { accessToken } = await c.var.deps.client.acquireTokenOnBehalfOf(
      { userAssertion, scopes: [scope!], correlationId: c.var.correlationId },
      { waitUntil: c.var.waitUntil },
    );
    const caller = await c.var.deps.client.validateCallerAssertion(userAssertion);
    const downstream = await callDownstream(c, new Request(new URL('/api/demo', c.req.url), { headers: { authorization: `Bearer ${accessToken}` } }));
    return c.json({ caller: caller.claims, downstream: { status: downstream.status, body: await downstream.json() } }, 200, { 'cache-control': 'no-store' });
  });
  return routes;
}
