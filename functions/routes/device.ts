/**
 * The device code flow for devices that cannot show a browser (a TV, a CLI): POST /device/start begins a
 * flow for scopes within DEVICE_SCOPES and answers what to show the user and an opaque `flow_id`; POST
 * /device/poll asks how it is going. The device code stays with the flow's store, which polls the
 * provider itself (see device-flows.ts). Both are open to anyone: starting is rate limited per client
 * address (each start is a request to the provider and durable state), polling is paced per flow, and
 * refused handles are rate limited per client address.
 */
import { Hono } from 'hono';
import { CallerError, normalizeScopes } from '../../lib/mod.ts';
import type { AppEnv } from '../app-env.ts';
import { assertScopesAllowed } from '../allowed-scopes.ts';
import { newFlowHandle, openFlowHandle } from '../device-flows.ts';
import { postOnly } from '../errors.ts';
import { headlessSignInResponse } from '../headless-sign-in.ts';
import { clientAddressOf, enforceRateLimit } from '../rate-limits.ts';
import { readBodyParameters } from '../request-body.ts';
import { assertClaimsChallenge } from '../token-request.ts';

export const deviceRoutes = new Hono<AppEnv>();

deviceRoutes.post('/start', async (c) => {
  await enforceRateLimit(c.var.rateLimits.signIn, `device:${clientAddressOf(c)}`, 'device sign-ins');
  const web = await c.var.deps.web();
  if (web.deviceScopeAllowList.size === 0) throw new CallerError('not_found', 'The device code flow is not offered here (DEVICE_SCOPES is not set)');
  const body = await readBodyParameters(c.req.raw);
  const scopes = normalizeScopes(body.scopes);
  assertScopesAllowed(web.deviceScopeAllowList, scopes, 'A device');
  if (body.claims !== undefined) assertClaimsChallenge(body.claims);
  const flow = await c.var.deps.client.initiateDeviceFlow({ scopes, ...(body.claims ? { claims: body.claims as string } : {}) }, c.var.correlationId);
  const { flowId, handle } = await newFlowHandle(web, flow.expiresAt);
  await c.var.signIn.deviceFlows.start(flowId, flow);
  c.header('cache-control', 'no-store');
  return c.json({
    flow_id: handle,
    user_code: flow.userCode,
    verification_uri: flow.verificationUri,
    ...(flow.verificationUriComplete ? { verification_uri_complete: flow.verificationUriComplete } : {}),
    message: flow.message,
    expires_in: Math.max(0, Math.floor((flow.expiresAt - Date.now()) / 1000)),
    interval: flow.interval,
  });
});

deviceRoutes.post('/poll', async (c) => {
  const web = await c.var.deps.web();
  const body = await readBodyParameters(c.req.raw);
  if (typeof body.flow_id !== 'string' || body.flow_id === '') throw new CallerError('invalid_request', 'flow_id is required: the flow_id /device/start answered');
  const handle = await openFlowHandle(web, body.flow_id);
  if (!handle) {
    // Handles are sealed, so guessing is hopeless; still, whoever keeps presenting refused ones is stopped.
    await enforceRateLimit(c.var.rateLimits.signIn, `device-poll-refused:${clientAddressOf(c)}`, 'refused device flow handles');
    throw new CallerError('invalid_grant', 'flow_id is not a device flow of this service');
  }
  if (handle.expiresAt <= Date.now()) throw new CallerError('expired_token', 'The device code expired before the user completed the sign-in');
  const poll = await c.var.signIn.deviceFlows.poll(handle.flowId);
  if (poll.status === 'pending') throw new CallerError('authorization_pending', 'The user has not completed the sign-in yet', poll.retryAfterSeconds);
  if (poll.status === 'slow_down') throw new CallerError('slow_down', 'Polled sooner than the interval allows', poll.retryAfterSeconds);
  return headlessSignInResponse(c, poll.result, poll.record);
});

deviceRoutes.all('/start', (c) => postOnly(c.var.correlationId));
deviceRoutes.all('/poll', (c) => postOnly(c.var.correlationId));
