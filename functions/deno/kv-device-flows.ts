/**
 * DeviceFlows over Deno KV, for any number of processes sharing one KV. Deno has no alarms: the
 * provider is polled when devices poll. A device's poll that finds the flow pending and its next
 * provider poll due claims that poll (moving the due time one interval on, in the same atomic write,
 * checked against the entry's versionstamp), is answered at once, and the provider is polled in the
 * background (Deno keeps pending promises alive); the outcome is written back, again checked, retried
 * on conflict. However many devices and processes, the provider sees at most one poll per interval.
 * The decisions are the runtime-free core's (../device-flow-core.ts), as in the Workers' Durable Object.
 *
 * KV layout, both entries expiring RETENTION after the flow does (expireIn), like the object's alarm:
 *   ['device-flows', flowId, 'flow']  → DeviceCodeFlow (with the device code; written once)
 *   ['device-flows', flowId, 'state'] → { state: DeviceFlowState, nextPoll: epoch ms of the next provider poll }
 */
import { CallerError, deserializeAuthError, type ConfidentialClientApplication, type DeviceCodeFlow } from '../../lib/mod.ts';
import {
  DEVICE_FLOW_RETENTION_MS,
  afterProviderPoll,
  answerDevicePoll,
  initialDeviceFlowState,
  pollProvider,
  type DeviceFlowState,
} from '../device-flow-core.ts';
import type { DeviceFlowPoll, DeviceFlows } from '../device-flows.ts';

const PREFIX = 'device-flows';

/** What the state entry holds. */
export interface StoredDeviceFlowState {
  state: DeviceFlowState;
  /** Epoch ms: a device's poll at or after this (the flow pending, not expired) polls the provider. */
  nextPoll: number;
}

/** Conflicting writers are few: at most one answered device poll and one provider poll per interval. */
const MAX_ATTEMPTS = 50;

export class DenoKvDeviceFlows implements DeviceFlows {
  private readonly kv: Deno.Kv;
  private readonly client: () => Promise<ConfidentialClientApplication>;
  private readonly background = new Set<Promise<void>>();

  /** @param client the deployment's client, asked for only when the provider is polled. */
  constructor(kv: Deno.Kv, client: () => Promise<ConfidentialClientApplication>) {
    this.kv = kv;
    this.client = client;
  }

  async start(flowId: string, flow: DeviceCodeFlow): Promise<void> {
    const [flowKey, stateKey] = keys(flowId);
    const stored: StoredDeviceFlowState = { state: initialDeviceFlowState(flow), nextPoll: Date.now() + flow.interval * 1000 };
    const expireIn = expireInFor(flow);
    const ok = await committed(async () => {
      const { ok } = await this.kv
        .atomic()
        .check({ key: flowKey, versionstamp: null }, { key: stateKey, versionstamp: null })
        .set(flowKey, flow, { expireIn })
        .set(stateKey, stored, { expireIn })
        .commit();
      return ok;
    });
    if (!ok) throw new Error('device flow already started');
  }

  async poll(flowId: string): Promise<DeviceFlowPoll> {
    const [flowKey, stateKey] = keys(flowId);
    const answer = await committed(async () => {
      const [flowEntry, stateEntry] = await this.kv.getMany<[DeviceCodeFlow, StoredDeviceFlowState]>([flowKey, stateKey]);
      const flow = flowEntry.value;
      const stored = stateEntry.value;
      const now = Date.now();
      // KV deletes expired entries eventually, not at once: a flow past its retention is gone already.
      if (!flow || !stored || now >= flow.expiresAt + DEVICE_FLOW_RETENTION_MS) {
        throw new CallerError('invalid_grant', 'No such device flow: it has ended, or never existed');
      }
      const decision = answerDevicePoll(flow, stored.state, now);
      const claim = stored.state.status === 'pending' && now < flow.expiresAt && now >= stored.nextPoll;
      if (decision.state || claim) {
        const next: StoredDeviceFlowState = {
          state: decision.state ?? stored.state,
          // The poll slot is taken before the provider is asked: no other poll until an interval from now.
          nextPoll: claim && stored.state.status === 'pending' ? now + stored.state.interval * 1000 : stored.nextPoll,
        };
        const { ok } = await this.kv.atomic().check(stateEntry).set(stateKey, next, { expireIn: expireInFor(flow, now) }).commit();
        // Another device or process wrote first (answered, claimed, redeemed): decide again on what it wrote.
        if (!ok) return CONFLICT;
        if (claim) this.inBackground(this.pollProvider(flowId, flow));
      }
      return decision.answer;
    });
    if (!answer.ok) throw deserializeAuthError(answer.error);
    return answer.value;
  }

  /** Settles once the provider polls started so far have been written back (tests; a graceful shutdown). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private inBackground(work: Promise<void>): void {
    const tracked = work.catch((error) => {
      console.error(`device flow provider poll could not be recorded: ${error instanceof Error ? error.name : typeof error}`);
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** One poll of the provider (this process holds the slot), its outcome applied to the state as it is then. */
  private async pollProvider(flowId: string, flow: DeviceCodeFlow): Promise<void> {
    const outcome = await pollProvider(this.client, flow);
    const [, stateKey] = keys(flowId);
    await committed(async () => {
      const entry = await this.kv.get<StoredDeviceFlowState>(stateKey);
      const stored = entry.value;
      // Forgotten meanwhile, or ended by another poll of the provider: nothing to add.
      if (!stored || stored.state.status !== 'pending') return;
      const now = Date.now();
      const after = afterProviderPoll(flow, stored.state, outcome, now);
      const next: StoredDeviceFlowState = {
        state: after.state,
        // Never sooner than a slot another process has claimed since.
        nextPoll: after.state.status === 'pending' ? Math.max(stored.nextPoll, after.next) : stored.nextPoll,
      };
      const { ok } = await this.kv.atomic().check(entry).set(stateKey, next, { expireIn: expireInFor(flow, now) }).commit();
      // A device's poll wrote in between (its lastDevicePoll): apply the outcome to what it wrote.
      return ok ? undefined : CONFLICT;
    });
  }
}

/** An attempt whose checked write lost to another writer: read and decide again. */
const CONFLICT = Symbol('conflict');

/**
 * Runs `attempt` (read, decide, checked write) until it is not CONFLICT. SQLite-backed KV also refuses
 * a write while another connection (another process on the same file) writes: "database is locked",
 * nothing written; that attempt is repeated too, after a short random pause.
 */
async function committed<T>(attempt: () => Promise<T | typeof CONFLICT>): Promise<T> {
  for (let tries = 0; tries < MAX_ATTEMPTS; tries++) {
    try {
      const result = await attempt();
      if (result !== CONFLICT) return result;
    } catch (error) {
      if (!isBusy(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * 2 ** tries)));
    }
  }
  throw new Error('device flow: too many conflicting writes to Deno KV');
}

function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is (?:locked|busy)/i.test(error.message);
}

function keys(flowId: string): [Deno.KvKey, Deno.KvKey] {
  return [
    [PREFIX, flowId, 'flow'],
    [PREFIX, flowId, 'state'],
  ];
}

/** Until the flow's expiry plus the retention: when the Durable Object forgets a flow, whatever its state. */
function expireInFor(flow: DeviceCodeFlow, now = Date.now()): number {
  return Math.max(1, flow.expiresAt + DEVICE_FLOW_RETENTION_MS - now);
}
