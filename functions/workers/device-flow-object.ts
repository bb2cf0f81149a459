/**
 * DeviceFlowObject: one SQLite-backed Durable Object per device code flow. It keeps the device code (which
 * never leaves the server) and polls the provider itself, on its alarm, at the flow's interval (5 s more
 * after each `slow_down`), until the user signs in, declines, or the flow expires. Devices poll the object,
 * never the provider: however many of them, the provider sees at most one poll per interval, and a device
 * that polls faster than the interval is told to slow down. The sign-in is handed out once. The decisions
 * are the runtime-free core's (../device-flow-core.ts); this object keeps the state and the alarm.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DeviceCodeFlow } from '../../lib/mod.ts';
import { afterProviderPoll, answerDevicePoll, initialDeviceFlowState, pollProvider, type DeviceFlowState } from '../device-flow-core.ts';
import type { DeviceFlowPoll } from '../device-flows.ts';
import { ObjectClient, type ObjectBindings } from './object-client.ts';
import type { RpcResult } from './rpc-result.ts';

const FLOW_KEY = 'flow';
const STATE_KEY = 'state';

export class DeviceFlowObject extends DurableObject<ObjectBindings> {
  private readonly client = new ObjectClient(this.env);

  async start(flow: DeviceCodeFlow): Promise<void> {
    if (await this.ctx.storage.get(FLOW_KEY)) throw new Error('device flow already started');
    await this.ctx.storage.put({ [FLOW_KEY]: flow, [STATE_KEY]: initialDeviceFlowState(flow) });
    await this.ctx.storage.setAlarm(Math.min(Date.now() + flow.interval * 1000, flow.expiresAt));
  }

  /** A device asks. @returns null for a flow this object does not hold (never started, or forgotten). */
  async poll(): Promise<RpcResult<DeviceFlowPoll> | null> {
    const [flow, state] = await Promise.all([this.ctx.storage.get<DeviceCodeFlow>(FLOW_KEY), this.ctx.storage.get<DeviceFlowState>(STATE_KEY)]);
    if (!flow || !state) return null;
    const decision = answerDevicePoll(flow, state, Date.now());
    // One object per flow, its requests one at a time: nothing else writes between the read and this.
    if (decision.state) await this.ctx.storage.put(STATE_KEY, decision.state);
    return decision.answer;
  }

  /** One poll of the provider, then the next one scheduled; or, once the flow has ended, forgetting it. */
  async alarm(): Promise<void> {
    const [flow, state] = await Promise.all([this.ctx.storage.get<DeviceCodeFlow>(FLOW_KEY), this.ctx.storage.get<DeviceFlowState>(STATE_KEY)]);
    if (!flow || !state || state.status !== 'pending') {
      await this.ctx.storage.deleteAll();
      return;
    }
    const outcome = await pollProvider(() => this.client.get(), flow);
    // The state may have changed while the provider answered (a device's poll): apply it to what is there now.
    const current = (await this.ctx.storage.get<DeviceFlowState>(STATE_KEY)) ?? state;
    const { state: next, next: at } = afterProviderPoll(flow, current, outcome, Date.now());
    await this.ctx.storage.put(STATE_KEY, next);
    await this.ctx.storage.setAlarm(at);
  }
}
