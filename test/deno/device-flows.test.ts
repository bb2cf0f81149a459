/**
 * Device code flows on Deno KV (functions/deno/kv-device-flows.ts) against the local identity provider
 * that `npm test` starts in Node and describes in IDP_INFO: DenoKvDeviceFlows with a real client, the
 * provider's device interval at 1 s, the user's verification done headlessly. "Processes" are KV
 * handles of their own on one KV file, each with its own DenoKvDeviceFlows and client, as separate
 * Deno processes sharing a KV would be.
 */
import { CallerError, ConfidentialClientApplication, ServerError, type DeviceCodeFlow } from '../../lib/mod.ts';
import { DenoKvCacheStore } from '../../functions/deno/deno-kv-cache-store.ts';
import { DenoKvDeviceFlows, type StoredDeviceFlowState } from '../../functions/deno/kv-device-flows.ts';
import type { DeviceFlowPoll } from '../../functions/device-flows.ts';
import { assert, assertEquals, assertMatch, assertRejects } from '../lib/spec.ts';
import { DEVICE_SCOPE, verifyAsUser } from '../support/device-user.ts';
import { control, idp } from './idp.ts';

const INTERVAL = 1;

interface Process {
  kv: Deno.Kv;
  flows: DenoKvDeviceFlows;
  client: ConfidentialClientApplication;
}

async function providerPolls(): Promise<number> {
  return (await control('counts'))['token:device_code'] ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * `count` processes on one KV file (one deployment: the same settings and cache key), the provider
 * reset with a 1 s device interval; afterwards every background poll is awaited and the interval is 5 again.
 */
async function withProcesses(count: number, fn: (processes: Process[]) => Promise<void>): Promise<void> {
  await control('reset', {});
  await control('device-interval', { interval: INTERVAL });
  const dir = await Deno.makeTempDir({ prefix: 'device-flows-' });
  const settings = {
    AUTHORITY: idp!.authority,
    CLIENT_ID: idp!.webApp.clientId,
    CLIENT_SECRET: idp!.webApp.clientSecret,
    TOKEN_CACHE_KEY: crypto.randomUUID() + crypto.randomUUID(),
    PROVIDER_RETRY_DELAY_MS: '50',
  };
  const processes: Process[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
      const client = await ConfidentialClientApplication.fromSettings(settings, { cacheStore: new DenoKvCacheStore(kv) });
      processes.push({ kv, client, flows: new DenoKvDeviceFlows(kv, () => Promise.resolve(client)) });
    }
    await fn(processes);
  } finally {
    await Promise.all(processes.map((p) => p.flows.idle()));
    for (const { kv } of processes) kv.close();
    await Deno.remove(dir, { recursive: true });
    await control('device-interval', { interval: 5 });
  }
}

/** A flow started at the provider and kept by `process` under a new id; `startedAt` is after it is kept. */
async function startFlow(process: Process, change: Partial<DeviceCodeFlow> = {}): Promise<{ id: string; flow: DeviceCodeFlow; startedAt: number }> {
  const flow = { ...(await process.client.initiateDeviceFlow({ scopes: [DEVICE_SCOPE] })), ...change };
  assertEquals(flow.interval, INTERVAL);
  const id = crypto.randomUUID();
  await process.flows.start(id, flow);
  return { id, flow, startedAt: Date.now() };
}

async function storedState(process: Process, id: string): Promise<StoredDeviceFlowState> {
  return (await process.kv.get<StoredDeviceFlowState>(['device-flows', id, 'state'])).value!;
}

const pending: DeviceFlowPoll = { status: 'pending', retryAfterSeconds: INTERVAL };

Deno.test({
  name: 'device flows on Deno KV: pending, the user verifies, the sign-in is handed out once across processes, then invalid_grant',
  ignore: !idp,
  async fn() {
    await withProcesses(2, async ([a, b]) => {
      const { id, flow, startedAt } = await startFlow(a!);
      assertEquals(await a!.flows.poll(id), pending);
      assertEquals(await providerPolls(), 0, 'no provider poll before the interval');
      const page = await verifyAsUser(flow.verificationUri, flow.userCode);
      assertMatch(page.html, /Sign-in Success/i);

      // Due: this poll takes the provider poll; the device is answered at once, the provider polled behind it.
      await sleep(startedAt + 1100 - Date.now());
      assertEquals(await b!.flows.poll(id), pending);
      await b!.flows.idle();
      assertEquals(await providerPolls(), 1);
      assertEquals((await storedState(a!, id)).state.status, 'done');

      // 20 devices at once, through both processes: one gets the sign-in, the rest invalid_grant.
      const answers = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).flows.poll(id)));
      const done = answers.filter((r): r is PromiseFulfilledResult<DeviceFlowPoll> => r.status === 'fulfilled');
      assertEquals(done.length, 1, 'handed out once');
      const signedIn = done[0]!.value;
      assert(signedIn.status === 'done');
      assertEquals(signedIn.result.account.username, 'alice@contoso.test');
      assertEquals(signedIn.result.scopes, [DEVICE_SCOPE]);
      assert(signedIn.result.accessToken.length > 0);
      assertEquals(signedIn.record.account.home_account_id, signedIn.result.account.homeAccountId);
      for (const refused of answers.filter((r) => r.status === 'rejected')) {
        const error = (refused as PromiseRejectedResult).reason;
        assert(error instanceof CallerError && error.errorCode === 'invalid_grant', String(error));
      }
      // The tokens are no longer kept with the flow.
      assertEquals((await storedState(a!, id)).state, { status: 'redeemed' });
      await assertRejects(() => a!.flows.poll(id), CallerError, 'invalid_grant');
      assertEquals(await providerPolls(), 1);
    });
  },
});

Deno.test({
  name: 'device flows on Deno KV: 20 devices polling one flow through two processes: the provider sees at most one poll per interval',
  ignore: !idp,
  async fn() {
    await withProcesses(2, async (processes) => {
      const { id, startedAt } = await startFlow(processes[0]!);
      const answers: string[] = [];
      const device = async (process: Process) => {
        while (Date.now() - startedAt < 3_500) {
          try {
            answers.push((await process.flows.poll(id)).status);
          } catch (error) {
            answers.push(`error: ${error instanceof Error ? error.message : String(error)}`);
          }
          await sleep(100);
        }
      };
      await Promise.all(Array.from({ length: 20 }, (_, i) => device(processes[i % 2]!)));
      await Promise.all(processes.map((p) => p.flows.idle()));
      const seconds = (Date.now() - startedAt) / 1000;
      const polls = await providerPolls();
      assert(polls >= 1, 'the provider was polled');
      assert(polls <= Math.floor(seconds / INTERVAL) + 1, `${polls} provider polls in ${seconds} s`);
      // The devices were answered all along, mostly told to slow down: at most one pending per interval
      // (less the tenth of it allowed for network jitter).
      assert(answers.length > 200, `${answers.length} answers`);
      assert(answers.every((s) => s === 'pending' || s === 'slow_down'), [...new Set(answers)].join(', '));
      const answered = answers.filter((s) => s === 'pending').length;
      assert(answered <= Math.floor(seconds / (0.9 * INTERVAL)) + 1, `${answered} pending answers in ${seconds} s`);
      const { state } = await storedState(processes[1]!, id);
      assertEquals(state.status, 'pending');
    });
  },
});

Deno.test({
  name: "device flows on Deno KV: the provider's slow_down widens the interval by 5 seconds",
  ignore: !idp,
  async fn() {
    await withProcesses(1, async ([p]) => {
      const { id, startedAt } = await startFlow(p!);
      await control('fault', { endpoint: 'token:device_code', kind: 'slow_down' });
      await sleep(startedAt + 1100 - Date.now());
      assertEquals(await p!.flows.poll(id), pending);
      await p!.flows.idle();
      const answeredAt = Date.now();
      assertEquals(await providerPolls(), 1);
      const stored = await storedState(p!, id);
      assertEquals(stored.state.status === 'pending' && stored.state.interval, INTERVAL + 5);
      assert(stored.nextPoll >= answeredAt - 1000 + (INTERVAL + 5) * 1000, 'the next provider poll is an interval (widened) after the answer');

      // The device is told the new interval; polling sooner is slow_down, and the provider waits too.
      assertEquals(await p!.flows.poll(id), { status: 'slow_down', retryAfterSeconds: INTERVAL + 5 });
      await sleep(1200);
      assertEquals(await p!.flows.poll(id), { status: 'slow_down', retryAfterSeconds: INTERVAL + 5 });
      await p!.flows.idle();
      assertEquals(await providerPolls(), 1);
    });
  },
});

Deno.test({
  name: 'device flows on Deno KV: a provider failure is tried again at the next interval',
  ignore: !idp,
  async fn() {
    await withProcesses(1, async ([p]) => {
      const { id, flow, startedAt } = await startFlow(p!);
      await control('fault', { endpoint: 'token:device_code', kind: '503' });
      await sleep(startedAt + 1100 - Date.now());
      assertEquals(await p!.flows.poll(id), pending);
      await p!.flows.idle();
      assertEquals(await providerPolls(), 1);
      assertEquals((await storedState(p!, id)).state.status, 'pending');
      await verifyAsUser(flow.verificationUri, flow.userCode);
      await sleep(1100);
      assertEquals(await p!.flows.poll(id), pending);
      await p!.flows.idle();
      assertEquals(await providerPolls(), 2);
      await sleep(1000);
      assertEquals((await p!.flows.poll(id)).status, 'done');
    });
  },
});

Deno.test({
  name: 'device flows on Deno KV: a flow the user declines is access_denied from then on, and the provider is not polled again',
  ignore: !idp,
  async fn() {
    await withProcesses(1, async ([p]) => {
      const { id, flow, startedAt } = await startFlow(p!);
      await verifyAsUser(flow.verificationUri, flow.userCode, 'abort');
      await sleep(startedAt + 1100 - Date.now());
      assertEquals(await p!.flows.poll(id), pending);
      await p!.flows.idle();
      for (let i = 0; i < 2; i++) {
        await assertRejects(() => p!.flows.poll(id), ServerError, 'access_denied');
        await sleep(1100);
      }
      await p!.flows.idle();
      assertEquals(await providerPolls(), 1);
    });
  },
});

Deno.test({
  name: 'device flows on Deno KV: a flow past its expiry is expired_token without another provider poll; unknown flows are invalid_grant',
  ignore: !idp,
  async fn() {
    await withProcesses(1, async ([p]) => {
      const { id, flow } = await startFlow(p!, { expiresAt: Date.now() + 1500 });
      assertEquals(await p!.flows.poll(id), pending);
      await sleep(flow.expiresAt + 100 - Date.now());
      for (let i = 0; i < 2; i++) await assertRejects(() => p!.flows.poll(id), ServerError, 'expired_token');
      await p!.flows.idle();
      assertEquals(await providerPolls(), 0);
      await assertRejects(() => p!.flows.start(id, flow), Error);
      await assertRejects(() => p!.flows.poll(crypto.randomUUID()), CallerError, 'invalid_grant');
    });
  },
});
