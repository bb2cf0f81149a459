/**
 * FlowStore in memory, for one process that owns its flows (a single-instance server, tests). `consume`
 * deletes before it returns, so a flow is handed out once; expiry is checked on read. Not for Workers:
 * isolates do not share memory.
 */
import type { FlowStore } from './ports.ts';

export class MemoryFlowStore<T> implements FlowStore<T> {
  private readonly flows = new Map<string, { json: string; expiresAt: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  async put(id: string, flow: T, options: { ttlSeconds: number }): Promise<void> {
    for (const [key, stored] of this.flows) if (stored.expiresAt <= this.now()) this.flows.delete(key);
    // Stored as JSON, as every other store keeps it: the caller's object is never shared.
    this.flows.set(id, { json: JSON.stringify(flow), expiresAt: this.now() + options.ttlSeconds * 1000 });
  }

  async consume(id: string): Promise<T | null> {
    const stored = this.flows.get(id);
    this.flows.delete(id);
    return stored && stored.expiresAt > this.now() ? (JSON.parse(stored.json) as T) : null;
  }
}
