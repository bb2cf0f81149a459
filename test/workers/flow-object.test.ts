/** The FLOWS Durable Object: single-use flow state that expires. */
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, test } from 'vitest';
import { DurableObjectFlowStore } from '../../functions/workers/do-flow-store.ts';
import { env } from './harness.ts';

const store = () => new DurableObjectFlowStore<{ state: string }>(env.FLOWS);

describe('flow store', () => {
  test('returns a flow once, then never again', async () => {
    const id = crypto.randomUUID();
    await store().put(id, { state: id }, { ttlSeconds: 600 });
    expect(await store().consume(id)).toEqual({ state: id });
    expect(await store().consume(id)).toBeNull();
  });

  test('gives a flow to exactly one of 20 concurrent consumers', async () => {
    const id = crypto.randomUUID();
    await store().put(id, { state: id }, { ttlSeconds: 600 });
    const results = await Promise.all(Array.from({ length: 20 }, () => store().consume(id)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  test('schedules an alarm at the flow\'s expiry', async () => {
    const id = crypto.randomUUID();
    const before = Date.now();
    await store().put(id, { state: id }, { ttlSeconds: 600 });
    const stub = env.FLOWS.get(env.FLOWS.idFromName(id));
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before + 600_000);
    expect(alarm).toBeLessThan(before + 601_000);
  });

  test('its alarm deletes expired flows and keeps live ones', async () => {
    const id = crypto.randomUUID();
    const stub = env.FLOWS.get(env.FLOWS.idFromName(id));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec('CREATE TABLE IF NOT EXISTS flow (id TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL)');
      state.storage.sql.exec('INSERT INTO flow VALUES (?, ?, ?), (?, ?, ?)', 'old', '{}', Date.now() - 1, 'live', '{}', Date.now() + 600_000);
    });
    await runInDurableObject(stub, (instance) => (instance as unknown as { alarm(): Promise<void> }).alarm());
    const ids = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ id: string }>('SELECT id FROM flow').toArray().map((r) => r.id));
    expect(ids).toEqual(['live']);
  });

  test('does not return a flow past its expiry even before the alarm ran', async () => {
    const id = crypto.randomUUID();
    const stub = env.FLOWS.get(env.FLOWS.idFromName(id));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec('CREATE TABLE IF NOT EXISTS flow (id TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL)');
      state.storage.sql.exec('INSERT INTO flow VALUES (?, ?, ?)', id, JSON.stringify({ state: id }), Date.now() - 1);
    });
    expect(await store().consume(id)).toBeNull();
  });
});
