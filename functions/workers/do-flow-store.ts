/** FlowStore over the FLOWS Durable Object namespace: one object per flow id. */
import type { FlowStore } from '../../lib/mod.ts';
import type { FlowObject } from './flow-object.ts';

export class DurableObjectFlowStore<T> implements FlowStore<T> {
  private readonly namespace: DurableObjectNamespace<FlowObject>;
  constructor(namespace: DurableObjectNamespace<FlowObject>) {
    this.namespace = namespace;
  }

  async put(id: string, flow: T, options: { ttlSeconds: number }): Promise<void> {
    await this.namespace.get(this.namespace.idFromName(id)).put(id, JSON.stringify(flow), options.ttlSeconds);
  }

  async consume(id: string): Promise<T | null> {
    const value = await this.namespace.get(this.namespace.idFromName(id)).consume(id);
    return value === null ? null : (JSON.parse(value) as T);
  }
}
