/** DeviceFlows over the DEVICE_FLOWS Durable Object namespace: one object per flow id. */
import { CallerError, type DeviceCodeFlow } from '../../lib/mod.ts';
import type { DeviceFlowPoll, DeviceFlows } from '../device-flows.ts';
import type { DeviceFlowObject } from './device-flow-object.ts';
import { fromRpcResult, type RpcResult } from './rpc-result.ts';

export class DurableObjectDeviceFlows implements DeviceFlows {
  private readonly namespace: DurableObjectNamespace<DeviceFlowObject>;
  constructor(namespace: DurableObjectNamespace<DeviceFlowObject>) {
    this.namespace = namespace;
  }

  private stub(flowId: string) {
    return this.namespace.get(this.namespace.idFromName(flowId));
  }

  async start(flowId: string, flow: DeviceCodeFlow): Promise<void> {
    await this.stub(flowId).start(flow);
  }

  async poll(flowId: string): Promise<DeviceFlowPoll> {
    const outcome: RpcResult<DeviceFlowPoll> | null = await this.stub(flowId).poll();
    if (!outcome) throw new CallerError('invalid_grant', 'No such device flow: it has ended, or never existed');
    return fromRpcResult(outcome);
  }
}
