/**
 * A team's own Hono Worker that adds sign-in and token routes from edge-token-functions to its app, with
 * its own binding names, and calls the library from its own handlers. Imported by package name, as any
 * user of the package would.
 */
import { Hono } from 'hono';
import { identity, signIn, tokenEndpoints } from 'edge-token-functions/hono';
import { workersRuntime } from 'edge-token-functions/workers';

// The Durable Object classes the routes use, bound in this Worker's wrangler.toml.
export { AccountObject, DeviceFlowObject, FlowObject, TokenFlightObject } from 'edge-token-functions/workers';

const runtime = workersRuntime({
  // This team calls its KV namespace AUTH_CACHE, and names its authority ENTRA_AUTHORITY.
  bindings: { TOKEN_CACHE: 'AUTH_CACHE' },
  settings: (env) => ({ ...env, AUTHORITY: env.ENTRA_AUTHORITY }),
});

const app = new Hono();
app.get('/', (c) => c.text('orders service'));
app.route('/auth', signIn(runtime));
app.route('/token', tokenEndpoints(runtime));

// The team's own handler: an app token for its downstream API, from the configured client.
app.get('/orders/upstream-token', identity(runtime), async (c) => {
  const result = await c.var.identity.acquireTokenForClient({ scopes: ['api://downstream/.default'] });
  return c.json({ scopes: result.scopes, source: result.tokenSource, expires_on: result.expiresOn });
});

export default app;
